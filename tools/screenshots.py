"""Open each Cloud Removal algorithm's Processing dialog in a headless QGIS GUI and save a screenshot.

Usage: screenshots.py OUTPUT_FOLDER   (`make screenshots` writes to build/screenshots). Prints one line per PNG.
"""

import json
import os
import sys
import tempfile
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


def overflow(dialog):
    """Pixels by which the parameter panel is wider than its visible area at the dialog's default size (0 = no
    horizontal scrolling)."""
    from qgis.PyQt.QtWidgets import QScrollArea

    areas = [a for a in dialog.findChildren(QScrollArea) if a.widget() is not None and a.isVisible()]
    return max((a.widget().sizeHint().width() - a.viewport().width() for a in areas
                if a.horizontalScrollBar().isVisible()), default=0)


def main(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    # fresh Qt settings: dialogs open at QGIS's default size, not at one saved by an earlier run
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="qgis_settings_")
    app, provider = start(gui=True)
    import qgis.utils
    from qgis.core import QgsApplication

    qgis.utils.iface = stub_iface()
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog

    fit = {}
    for name in ALGORITHMS:  # first at the default size (each closed unchanged, so the next opens at it too)
        dialog = AlgorithmDialog(QgsApplication.processingRegistry().createAlgorithmById(f"cloudremoval:{name}"))
        dialog.show()
        for _ in range(5):
            app.processEvents()
        fit[name] = overflow(dialog)
        dialog.close()
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
    (folder / "dialog_fit.json").write_text(json.dumps(fit, indent=1))
    print(folder / "dialog_fit.json")
    QgsApplication.processingRegistry().removeProvider(provider)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "screenshots")
