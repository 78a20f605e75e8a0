"""Open a shipped model in the Graphical Modeler: QGIS edits only models of the "Models" (and "Project") provider,
so the shipped .model3 is copied into the user's models folder, where it appears under *Models* in the Toolbox and
opens in the Modeler with *Edit Model*. A user's file of the same name is never overwritten."""

import filecmp
import os
import shutil

ACTION_NAME = "Edit a Copy in the Modeler…"


def copy_model(source, folder):
    """Copy `source` into `folder` (created if missing) and return the copy's path.

    An identical copy already there is reused; a different file of that name is kept and the copy gets the next
    free name `<stem> (2).model3`, `<stem> (3).model3`, ...
    """
    os.makedirs(folder, exist_ok=True)
    stem, ext = os.path.splitext(os.path.basename(source))
    n = 1
    while True:
        target = os.path.join(folder, f"{stem}{ext}" if n == 1 else f"{stem} ({n}){ext}")
        if not os.path.exists(target):
            shutil.copyfile(source, target)
            return target
        if os.path.isfile(target) and filecmp.cmp(source, target, shallow=False):
            return target
        n += 1


def user_models_folder():
    """The first folder of Processing's *Models* setting (the user profile's processing/models by default)."""
    try:
        from processing.modeler.ModelerUtils import ModelerUtils

        folders = [f for f in ModelerUtils.modelsFolders() if f]
        if folders:
            return folders[0]
    except ImportError:  # Processing's Python plugin not loaded
        pass
    from qgis.core import QgsApplication

    return os.path.join(QgsApplication.qgisSettingsDirPath(), "processing", "models")


def open_copy_in_modeler(model_path, folder=None, show=True):
    """Copy a shipped model into the user's models folder, refresh the *Models* provider and open the copy in the
    Modeler. Returns (copy path, the Modeler dialog or None)."""
    from qgis.core import QgsApplication, QgsProcessingModelAlgorithm

    path = copy_model(model_path, folder or user_models_folder())
    provider = QgsApplication.processingRegistry().providerById("model")
    model = None
    if provider is not None:
        provider.refreshAlgorithms()
        model = next((a for a in provider.algorithms()
                      if os.path.normcase(os.path.abspath(a.sourceFilePath())) == os.path.normcase(path)), None)
    if model is None:  # the folder is not one the Models provider reads: edit the file directly
        model = QgsProcessingModelAlgorithm()
        model.fromFile(path)
        model.setSourceFilePath(path)
    if not show:
        return path, None
    from processing.modeler.ModelerDialog import ModelerDialog

    dialog = ModelerDialog.create(model)
    if provider is not None:
        dialog.update_model.connect(provider.refreshAlgorithms)
    dialog.show()
    dialog.activate()
    return path, dialog


def context_action(is_shipped_model):
    """A Processing Toolbox right-click action (shown for shipped models) that opens an editable copy."""
    from processing.gui.ContextAction import ContextAction
    from qgis.core import QgsProcessingAlgorithm

    class EditCopyAction(ContextAction):
        def __init__(self):
            super().__init__()
            self.name = ACTION_NAME

        def isEnabled(self):  # noqa: N802 (QGIS API name)
            return isinstance(self.itemData, QgsProcessingAlgorithm) and is_shipped_model(self.itemData)

        def execute(self):
            open_copy_in_modeler(self.itemData.sourceFilePath() or getattr(self.itemData, "path", ""))

    return EditCopyAction()
