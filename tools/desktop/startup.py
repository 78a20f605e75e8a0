"""Runs inside the QGIS desktop (`qgis --code startup.py`, started by tools/desktop/session.py): installs the
packaged zip as Plugins > Install from ZIP does, reads the Processing Toolbox tree, runs the shipped model and
Generate Cloud Mask with their outputs loaded, reads each loaded layer's legend, opens a copy of the model in the
Modeler and, when asked, saves screenshots. Writes what it saw as JSON to the path in the job file
($CLOUDREMOVAL_DESKTOP_JOB) and quits QGIS."""

import json
import os
import traceback

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsMultiBandColorRenderer,
    QgsNetworkAccessManager,
    QgsNetworkRequestParameters,
    QgsProject,
    QgsRasterLayer,
)
from qgis.PyQt.QtCore import QEventLoop, Qt, QTimer
from qgis.utils import iface

JOB = json.loads(open(os.environ["CLOUDREMOVAL_DESKTOP_JOB"], encoding="utf-8").read())
SEEN = {"messages": [], "steps": [], "requests": []}


def progress(line):
    """One line per step in RESULT.progress, so a session that never finishes says how far it got."""
    with open(JOB["result"] + ".progress", "a", encoding="utf-8") as f:
        f.write(line + "\n")


progress("startup.py loaded")


def _watch():
    """Every 10 s, report and close any modal window (it would stop the session until the time-out)."""
    from qgis.PyQt.QtWidgets import QApplication, QMessageBox

    modal = QApplication.activeModalWidget()
    if modal is not None:  # reported and closed, so the session goes on and reports it
        text = modal.text() if isinstance(modal, QMessageBox) else ""
        line = f"modal window: {type(modal).__name__} '{modal.windowTitle()}' {text[:300]}"
        progress(line)
        SEEN["messages"].append(line)
        modal.close()


_WATCH = QTimer()
_WATCH.timeout.connect(_watch)
_WATCH.start(10000)


def _log(message, tag, level):
    if level >= Qgis.Warning or "python" in tag.lower():
        SEEN["messages"].append(f"[{tag}] {message}")


QgsApplication.messageLog().messageReceived.connect(_log)


def _request(params):
    """Every network request of the session, with the QGIS class that made it (the plugin must make none) and the
    last step finished before it ("start" before the first)."""
    SEEN["requests"].append({"url": params.request().url().toString(), "by": params.initiatorClassName(),
                             "after": SEEN["steps"][-1] if SEEN["steps"] else "start"})


QgsNetworkAccessManager.instance().requestAboutToBeCreated[QgsNetworkRequestParameters].connect(_request)


def wait(ms):
    """Let the GUI run for `ms` milliseconds."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec_()


def install_zip():
    import pyplugin_installer
    import qgis.utils

    pyplugin_installer.instance().installFromZipFile(JOB["zip"])
    wait(500)
    SEEN["installed"] = os.path.join(QgsApplication.qgisSettingsDirPath(), "python", "plugins", "cloud_removal")
    SEEN["plugin_active"] = "cloud_removal" in qgis.utils.active_plugins
    SEEN["plugin_file"] = getattr(qgis.utils.plugins.get("cloud_removal"), "__module__", "")
    import cloud_removal

    SEEN["plugin_path"] = os.path.dirname(cloud_removal.__file__)


def toolbox():
    """{provider: {group: [algorithm names]}} for the Cloud Removal provider, as the Toolbox tree shows it."""
    import qgis.utils

    box = qgis.utils.plugins["processing"].toolbox
    box.show()
    tree = box.algorithmTree
    model = tree.model()
    tree_seen = {}
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        name = model.data(index, Qt.DisplayRole)
        if name != "Cloud Removal":
            continue
        tree.expand(index)
        groups = {}
        for g in range(model.rowCount(index)):
            gi = model.index(g, 0, index)
            tree.expand(gi)
            children = [model.data(model.index(a, 0, gi), Qt.DisplayRole) for a in range(model.rowCount(gi))]
            groups[model.data(gi, Qt.DisplayRole)] = children
        tree_seen[name] = groups
    SEEN["toolbox"] = tree_seen
    wait(300)
    if JOB.get("shots"):
        box.grab().save(os.path.join(JOB["shots"], "toolbox.png"))


def model_dialog():
    """The model's Processing dialog: whether it offers a Help button (the model's help URL)."""
    import processing
    from qgis.PyQt.QtWidgets import QDialogButtonBox

    dialog = processing.createAlgorithmDialog("cloudremoval:removeclouds")
    dialog.show()
    wait(500)
    buttons = [b.button(QDialogButtonBox.Help) for b in dialog.findChildren(QDialogButtonBox)]
    SEEN["model_dialog"] = {"help_button": any(b is not None and b.isVisible() and b.isEnabled() for b in buttons),
                            "help_url": dialog.algorithm().helpUrl()}
    dialog.close()
    SEEN["dialog_overflow"] = {}
    for name in ("generatecloudmask", "reclassifycloudtypes", "stepwiselocalradiometricadjustment",
                 "multidatecloudfill", "removeclouds"):
        dialog = processing.createAlgorithmDialog(f"cloudremoval:{name}")
        dialog.show()
        wait(300)
        SEEN["dialog_overflow"][name] = [dialog.width(), overflow(dialog)]
        dialog.close()


def overflow(dialog):
    """Pixels by which a visible parameter panel is wider than its area (0: no horizontal scrolling)."""
    from qgis.PyQt.QtWidgets import QScrollArea

    areas = [a for a in dialog.findChildren(QScrollArea) if a.widget() is not None and a.isVisible()]
    return max((a.widget().sizeHint().width() - a.viewport().width() for a in areas
                if a.horizontalScrollBar().isVisible()), default=0)


def legend(layer):
    """The legend entries of a loaded layer as the Layers panel lists them, with the renderer's colours."""
    root = QgsProject.instance().layerTreeRoot()
    node = root.findLayer(layer.id())
    labels = []
    if node is not None:
        model = iface.layerTreeView().layerTreeModel()
        labels = [str(n.data(Qt.DisplayRole)) for n in model.layerLegendNodes(node)]
    renderer = layer.renderer()
    entry = {"labels": labels, "renderer": renderer.type() if renderer else None,
             "colours": [[label, colour.name(), colour.alpha()]
                         for label, colour in (renderer.legendSymbologyItems() if renderer else [])]}
    if isinstance(renderer, QgsMultiBandColorRenderer):
        entry["bands"] = [renderer.redBand(), renderer.greenBand(), renderer.blueBand()]
    return entry


def feedback():
    """A Processing feedback whose errors and warnings go to the report."""
    from qgis.core import QgsProcessingFeedback

    class Recorder(QgsProcessingFeedback):
        def reportError(self, error, fatalError=False):  # noqa: N802, N803 (QGIS API names)
            SEEN["messages"].append(f"[Processing error] {error}")

        def pushWarning(self, warning):  # noqa: N802 (QGIS API name)
            SEEN["messages"].append(f"[Processing warning] {warning}")

    return Recorder()


def run_model():
    import processing

    data, out = JOB["data"], JOB["out"]
    cloudy = QgsRasterLayer(data["cloudy"], "Cloudy image (true colour)", "gdal")
    renderer = cloudy.renderer().clone()
    renderer.setRedBand(3)  # B04, B03, B02 of the 10-band stack
    renderer.setGreenBand(2)
    renderer.setBlueBand(1)
    cloudy.setRenderer(renderer)
    QgsProject.instance().addMapLayer(cloudy)
    params = {"cloudy_image": cloudy.id(), "replacement_image": data["clear"], "product_level": 1,
              "reflectance_scale": 0.001, "classes_to_remove": 1, "window_size": 40,
              "mask:cloud_classes": os.path.join(out, "classes.tif"),
              "reclassify:cloud_mask": os.path.join(out, "mask.tif"),
              "fill:cloud_free": os.path.join(out, "free.tif")}
    from qgis.core import QgsProcessingContext

    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    SEEN["model_results"] = {k: str(v) for k, v in processing.runAndLoadResults(
        "cloudremoval:removeclouds", params, feedback(), context).items()}
    SEEN["model_layers_to_load"] = {path: details.name for path, details in
                                    context.layersToLoadOnCompletion().items()}
    SEEN["mask_results"] = {k: str(v) for k, v in processing.runAndLoadResults(
        "cloudremoval:generatecloudmask",
        {"INPUT": data["cloudy"], "PRODUCT_LEVEL": 1, "SCALE": 0.001, "OUTPUT": os.path.join(out, "gcm.tif"),
         "OUTPUT_PROBABILITY": os.path.join(out, "probability.tif")}, feedback()).items()}
    wait(500)
    SEEN["layers"] = [dict(legend(layer), name=layer.name(), source=layer.source())
                      for layer in QgsProject.instance().mapLayers().values()]


def modeler():
    from cloud_removal.algorithms.model_copy import open_copy_in_modeler, user_models_folder

    shipped = os.path.join(SEEN["plugin_path"], "algorithms", "modeler", "remove_clouds.model3")
    path, dialog = open_copy_in_modeler(shipped)
    wait(800)
    provider = QgsApplication.processingRegistry().providerById("model")
    SEEN["modeler"] = {"copy": path, "folder": user_models_folder(),
                       "listed": [a.id() for a in provider.algorithms()] if provider else [],
                       "title": dialog.windowTitle() if dialog else None}
    if JOB.get("shots") and dialog is not None:
        dialog.resize(1200, 800)
        wait(500)
        dialog.grab().scaledToWidth(900, Qt.SmoothTransformation).save(os.path.join(JOB["shots"], "modeler.png"))
    if dialog is not None:
        dialog.setDirty(False) if hasattr(dialog, "setDirty") else None
        dialog.close()


def map_shot():
    """The main window with the loaded outputs and their legends: once with the cloud classes over the cloudy
    image, once with the cloud-free image."""
    if not JOB.get("shots"):
        return
    from qgis.PyQt.QtWidgets import QDockWidget

    for dock in iface.mainWindow().findChildren(QDockWidget):
        if dock.objectName() in ("Browser", "ProcessingToolbox"):
            dock.hide()
    iface.mainWindow().resize(1300, 800)
    canvas = iface.mapCanvas()
    layers = list(QgsProject.instance().mapLayers().values())
    root = QgsProject.instance().layerTreeRoot()
    for shot, shown in (("map_classes.png", ("Cloud classes", "Cloudy image (true colour)")),
                        ("map_cloud_free.png", ("Cloud-free image",))):
        for lyr in layers:
            node = root.findLayer(lyr.id())
            if node is not None:
                node.setItemVisibilityChecked(lyr.name() in shown)
                node.setExpanded(lyr.name() in shown or lyr.name() == "Cloud mask")
        canvas.setExtent(layers[0].extent())
        canvas.refresh()
        for _ in range(50):
            wait(200)
            if not canvas.isDrawing():
                break
        wait(500)
        iface.mainWindow().grab().scaledToWidth(900, Qt.SmoothTransformation).save(
            os.path.join(JOB["shots"], shot))


def main():
    for step in (install_zip, toolbox, model_dialog, run_model, modeler, map_shot):
        try:
            progress(f"step {step.__name__}")
            step()
            SEEN["steps"].append(step.__name__)
        except Exception:  # noqa: BLE001 (reported to the test)
            SEEN["error"] = f"{step.__name__}: {traceback.format_exc()}"
            break
    with open(JOB["result"] + ".tmp", "w", encoding="utf-8") as f:
        json.dump(SEEN, f, indent=1)
    os.replace(JOB["result"] + ".tmp", JOB["result"])
    QgsProject.instance().setDirty(False)
    QTimer.singleShot(0, QgsApplication.instance().quit)


QTimer.singleShot(int(JOB.get("delay_ms", 2000)), main)
