"""Graphical Modeler models shipped with the plugin (algorithms/modeler/*.model3), registered by the provider."""

import glob
import os

from qgis.core import (
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingModelAlgorithm,
    QgsProcessingParameterDefinition,
    QgsProcessingUtils,
)

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
        self._order_parameters()
        self._optional_intermediates()

    def _order_parameters(self):
        """Show inputs in the order they are laid out in the Modeler (rows top to bottom, then left to right),
        not alphabetically as QGIS 3.22 does; outputs follow."""
        components = self.parameterComponents()

        def place(definition):
            if definition.isDestination() or definition.name() not in components:
                return (1, 0, 0)
            pos = components[definition.name()].position()
            return (0, pos.y(), pos.x())

        for definition in sorted(self.parameterDefinitions(), key=place):
            clone = definition.clone()
            self.removeParameter(definition.name())
            self.addParameter(clone)

    def _optional_intermediates(self):
        """Outputs not marked mandatory may be left out (QGIS 3.22 keeps them required); they then go to
        temporary files."""
        self._intermediates = []
        for child in self.childAlgorithms().values():
            for name, output in child.modelOutputs().items():
                definition = self.parameterDefinition(f"{child.childId()}:{name}")
                if definition is not None and not output.isMandatory():
                    definition.setFlags(definition.flags() | QgsProcessingParameterDefinition.FlagOptional)
                    self._intermediates.append(definition.name())

    def name(self):
        return self._name

    def displayName(self):  # noqa: N802 (QGIS API name)
        return self._display_name

    def createInstance(self):  # noqa: N802 (QGIS API name)
        return ShippedModel(self._path, self._name, self._display_name)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API name)
        """Run the model; on failure remove the outputs written so far and raise the failing step's message."""
        recorder = _ErrorRecorder(feedback)
        parameters = dict(parameters)
        for name in self._intermediates:  # left out: a temporary file, deleted when QGIS exits
            if parameters.get(name) in (None, ""):
                parameters[name] = QgsProcessingUtils.generateTempFilename(f"{name.replace(':', '_')}.tif")
        try:
            return super().processAlgorithm(parameters, context, recorder)
        except QgsProcessingException as err:
            self._remove_outputs(parameters, context)
            detail = recorder.errors[-1] if recorder.errors else ""
            raise QgsProcessingException(f"{err}: {detail}" if detail else str(err)) from None

    def _remove_outputs(self, parameters, context):
        """Delete the model's output files so that a failed run leaves none behind."""
        for definition in self.destinationParameterDefinitions():
            value = parameters.get(definition.name())
            if value in (None, ""):
                continue
            path = self.parameterAsOutputLayer(parameters, definition.name(), context)
            for candidate in (path, f"{path}.aux.xml"):
                if candidate and os.path.isfile(candidate):
                    os.remove(candidate)


class _ErrorRecorder(QgsProcessingFeedback):
    """Forwards all feedback to the caller's and keeps the error lines the child algorithms report."""

    def __init__(self, target):
        super().__init__()
        self.errors = []
        self._target = target if target is not None else QgsProcessingFeedback()
        self._target.canceled.connect(self.cancel)
        if self._target.isCanceled():
            self.cancel()
        self.progressChanged.connect(self._target.setProgress)

    def reportError(self, error, fatalError=False):  # noqa: N802, N803 (QGIS API names)
        self.errors.append(error)
        self._target.reportError(error, fatalError)

    def setProgressText(self, text):  # noqa: N802 (QGIS API name)
        self._target.setProgressText(text)

    def pushInfo(self, info):  # noqa: N802 (QGIS API name)
        self._target.pushInfo(info)

    def pushWarning(self, warning):  # noqa: N802 (QGIS API name)
        self._target.pushWarning(warning)

    def pushDebugInfo(self, info):  # noqa: N802 (QGIS API name)
        self._target.pushDebugInfo(info)

    def pushCommandInfo(self, info):  # noqa: N802 (QGIS API name)
        self._target.pushCommandInfo(info)

    def pushConsoleInfo(self, info):  # noqa: N802 (QGIS API name)
        self._target.pushConsoleInfo(info)


def shipped_models():
    """One ShippedModel per .model3 file in algorithms/modeler/."""
    models = []
    for path in sorted(glob.glob(os.path.join(MODEL_DIR, "*.model3"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        name, display = SHIPPED.get(stem, (stem.replace("_", ""), stem.replace("_", " ").title()))
        models.append(ShippedModel(path, name, display))
    return models
