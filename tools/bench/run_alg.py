"""Run one Processing algorithm in a fresh headless QGIS and print its wall time and peak RSS as JSON.

Usage: run_alg.py ALGORITHM_ID 'JSON_PARAMETERS'  (ALGORITHM_ID "none" measures QGIS start-up alone)
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build" / "plugins"))
sys.path.append("/usr/share/qgis/python/plugins")

from qgis.core import QgsApplication, QgsProcessingFeedback  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
from processing.core.Processing import Processing  # noqa: E402

Processing.initialize()
from cloud_removal.algorithms.provider import CloudRemovalProvider  # noqa: E402

PROVIDER = CloudRemovalProvider()  # keep a reference: the registry does not own Python providers
QgsApplication.processingRegistry().addProvider(PROVIDER)
import processing  # noqa: E402

alg, params = sys.argv[1], json.loads(sys.argv[2])
start = time.perf_counter()
if alg != "none":
    processing.run(alg, params, feedback=QgsProcessingFeedback())
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
