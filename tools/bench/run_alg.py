"""Run one Processing algorithm in a fresh headless QGIS and print its wall time and peak RSS as JSON.

Usage: run_alg.py ALGORITHM_ID 'JSON_PARAMETERS'  (ALGORITHM_ID "none" measures QGIS start-up alone)
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from peak_memory import peak_rss_mb  # noqa: E402
from qgis_headless import start  # noqa: E402

APP, PROVIDER = start()
import processing  # noqa: E402
from qgis.core import QgsProcessingFeedback  # noqa: E402

alg, params = sys.argv[1], json.loads(sys.argv[2])
start = time.perf_counter()
if alg != "none":
    processing.run(alg, params, feedback=QgsProcessingFeedback())
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "max_rss_mb": peak_rss_mb()}))
