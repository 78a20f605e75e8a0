"""Open each Cloud Removal algorithm's Processing dialog in a headless QGIS GUI and save a screenshot.

Usage: screenshots.py OUTPUT_FOLDER   (`make screenshots` writes to build/screenshots). Prints one line per PNG.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from qgis_headless import ROOT, start  # noqa: E402

ALGORITHMS = ["generatecloudmask", "reclassifycloudtypes", "stepwiselocalradiometricadjustment",
              "multidatecloudfill", "removeclouds"]


def stub_iface():
    """A stand-in for QGIS's iface: the dialogs look up the main window, map canvas and message bar."""
    from unittest import mock

    from qgis.gui import QgsMapCanvas, QgsMessageBar
    from qgis.PyQt.QtWidgets import QMainWindow

    window = QMainWindow()
    iface = mock.MagicMock()
    iface.mainWindow.return_value = window
    iface.mapCanvas.return_value = QgsMapCanvas(window)
    iface.messageBar.return_value = QgsMessageBar(window)
    return iface


def main(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    app, provider = start(gui=True)
    import qgis.utils
    from qgis.core import QgsApplication

    qgis.utils.iface = stub_iface()
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog

    shots = [(name, AlgorithmDialog) for name in ALGORITHMS] + [("removeclouds", BatchAlgorithmDialog)]
    for name, kind in shots:
        alg = QgsApplication.processingRegistry().createAlgorithmById(f"cloudremoval:{name}")
        if alg is None:
            raise SystemExit(f"no algorithm cloudremoval:{name}")
        dialog = kind(alg, parent=None)
        dialog.show()
        app.processEvents()
        dialog.resize(1100, 900)  # after show: QGIS restores a saved dialog geometry when the dialog is shown
        for _ in range(5):
            app.processEvents()
        path = folder / f"{name}{'_batch' if kind is BatchAlgorithmDialog else ''}.png"
        if not dialog.grab().save(str(path)):
            raise SystemExit(f"could not save {path}")
        dialog.close()
        print(path)
    QgsApplication.processingRegistry().removeProvider(provider)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "screenshots")
