"""A headless QGIS with the Cloud Removal provider registered, for the tools (the tests use tests/conftest.py)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QGIS_PLUGINS = "/usr/share/qgis/python/plugins"  # QGIS's own Python plugins (processing)


def start(gui=False, processing=True):
    """Start QGIS (offscreen), optionally Processing, and register the provider from build/plugins/cloud_removal.

    Returns (application, provider); keep both referenced while QGIS runs (the registry does not own a Python
    provider).
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if str(ROOT / "build" / "plugins") not in sys.path:
        sys.path.insert(0, str(ROOT / "build" / "plugins"))
    if QGIS_PLUGINS not in sys.path:
        sys.path.append(QGIS_PLUGINS)
    from qgis.core import QgsApplication

    app = QgsApplication([], gui)
    app.initQgis()
    if processing:
        from processing.core.Processing import Processing

        Processing.initialize()
    from cloud_removal.algorithms.provider import CloudRemovalProvider

    provider = CloudRemovalProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    return app, provider
