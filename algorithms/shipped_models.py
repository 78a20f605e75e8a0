"""Graphical Modeler models shipped with the plugin (algorithms/modeler/*.model3), registered by the provider."""

import glob
import os

from qgis.core import QgsProcessingModelAlgorithm

MODEL_DIR = os.path.join(os.path.dirname(__file__), "modeler")

# file stem -> (algorithm name, display name); the name gives the id cloudremoval:<name>
SHIPPED = {
    "remove_clouds": ("removeclouds", "Remove Clouds (mask, reclassify, fill)"),
}


class ShippedModel(QgsProcessingModelAlgorithm):
    """A .model3 file run as a provider algorithm with a stable id and a readable display name."""

    def __init__(self, path=None, name="", display_name=""):
        super().__init__()
        self._path, self._name, self._display_name = path, name, display_name
        if path and not self.fromFile(path):
            raise ValueError(f"Cannot read the model file {path}")

    def name(self):
        return self._name

    def displayName(self):  # noqa: N802 (QGIS API name)
        return self._display_name

    def createInstance(self):  # noqa: N802 (QGIS API name)
        return ShippedModel(self._path, self._name, self._display_name)


def shipped_models():
    """One ShippedModel per .model3 file in algorithms/modeler/."""
    models = []
    for path in sorted(glob.glob(os.path.join(MODEL_DIR, "*.model3"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        name, display = SHIPPED.get(stem, (stem.replace("_", ""), stem.replace("_", " ").title()))
        models.append(ShippedModel(path, name, display))
    return models
