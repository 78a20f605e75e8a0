"""Graphical Modeler models shipped with the plugin (algorithms/modeler/*.model3), registered by the provider."""

import glob
import os

from qgis.core import (
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingModelAlgorithm,
    QgsProcessingMultiStepFeedback,
    QgsProcessingParameterDefinition,
    QgsProcessingUtils,
)

from .base import CloudRemovalAlgorithm
from .core.progress import stop_on_signals, stop_requested
from .core.staging import Staging
from .generate_cloud_mask import GenerateCloudMask
from .model_checks import check_remove_clouds
from .multi_date_cloud_fill import MultiDateCloudFill
from .parameters import raster_path
from .reclassify_cloud_types import ReclassifyCloudTypes
from .stepwise_local_radiometric_adjustment import StepwiseLocalRadiometricAdjustment
from .styles import style_output

MODEL_DIR = os.path.join(os.path.dirname(__file__), "modeler")

# file stem -> (algorithm name, display name, check of all steps' parameters before step 1 or None);
# the name gives the id cloudremoval:<name>
SHIPPED = {
    "remove_clouds": ("removeclouds", "Remove Clouds (mask, reclassify, fill)", check_remove_clouds),
}

OUTPUT_STYLES = {f"cloudremoval:{cls.NAME}": cls.OUTPUT_STYLES for cls in (
    GenerateCloudMask, ReclassifyCloudTypes, StepwiseLocalRadiometricAdjustment, MultiDateCloudFill)}


class ShippedModel(QgsProcessingModelAlgorithm):
    """A .model3 file run as a provider algorithm with a stable id and a readable display name."""

    def __init__(self, path=None, name="", display_name="", check=None):
        super().__init__()
        self._path, self._name, self._display_name, self._check = path, name, display_name, check
        if path and not self.fromFile(path):
            raise ValueError(f"Cannot read the model file {path}")
        if path:
            self.setSourceFilePath(path)  # what "Edit a Copy in the Modeler" copies
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

        # by name, holding no Python wrapper of a removed definition: SIP would hand a stale wrapper (of the wrong
        # class: QGIS 3.44 showed the cloud-free output as a number parameter) to a new object at the same address
        order = [d.name() for d in sorted(self.parameterDefinitions(), key=place)]
        for name in order:
            clone = self.parameterDefinition(name).clone()
            self.removeParameter(name)
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

    def group(self):
        return CloudRemovalAlgorithm.group(self)

    def groupId(self):  # noqa: N802 (QGIS API name)
        """The algorithms' group id: a .model3 keeps its group's name as its id, which would show a second group
        of the same name in the Toolbox."""
        return CloudRemovalAlgorithm.groupId(self)

    def tr(self, string):
        return CloudRemovalAlgorithm.tr(self, string)

    def helpUrl(self):  # noqa: N802 (QGIS API name)
        """The dialog's Help button."""
        return self.helpContent().get("HELP_URL") or CloudRemovalAlgorithm.helpUrl(self)

    def createInstance(self):  # noqa: N802 (QGIS API name)
        return ShippedModel(self._path, self._name, self._display_name, self._check)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API name)
        """Check every step's parameters, run the model with all outputs staged in private folders, then move them
        into place together. A failure, cancel or SIGTERM leaves the destinations exactly as they were."""
        recorder = _ErrorRecorder(feedback)
        parameters = dict(parameters)
        finals = {}
        for definition in self.destinationParameterDefinitions():
            name = definition.name()
            if parameters.get(name) in (None, ""):
                if name not in self._intermediates:
                    continue
                finals[name] = QgsProcessingUtils.generateTempFilename(f"{name.replace(':', '_')}.tif")
            else:
                finals[name] = self.parameterAsOutputLayer(parameters, name, context)
        if self._check is not None:
            CloudRemovalAlgorithm.run_core(self._check, self, parameters, context, finals)
        staged = {}
        try:
            for name, path in finals.items():
                staged[name] = Staging(path)
                parameters[name] = staged[name].staged
            with stop_on_signals(recorder.cancel):
                results = super().processAlgorithm(parameters, context, recorder)
                if recorder.isCanceled():
                    raise QgsProcessingException("Cancelled")
            for stage in staged.values():
                stage.commit()
            self._style_outputs(parameters, context, finals)
        except QgsProcessingException as err:
            _abort(staged)
            detail = recorder.errors[-1] if recorder.errors else ""
            if stop_requested():
                detail = f"stopped by {stop_requested()}: no output was written"
            message = str(err)
            if detail and detail not in message:  # the failing step's own message, once
                message = f"{message}: {detail}"
            raise QgsProcessingException(message) from None
        except BaseException:
            _abort(staged)
            raise
        return _replace_paths(results, {s.staged: finals[name] for name, s in staged.items()})

    def _style_outputs(self, parameters, context, finals):
        """Each output Processing loads is styled as its step styles it (styles.py); a filled image like the
        model input its step filled."""
        for child in self.childAlgorithms().values():
            styles = OUTPUT_STYLES.get(child.algorithmId(), {})
            for name, output in child.modelOutputs().items():
                kind = styles.get(output.childOutputName())
                source = None
                if kind == "like":
                    sources = child.parameterSources().get("INPUT") or [None]
                    if sources[0] is not None and sources[0].parameterName():
                        source = raster_path(self, parameters, sources[0].parameterName(), context)
                if kind:
                    style_output(context, finals.get(f"{child.childId()}:{name}"), kind, source)


def _abort(staged):
    for stage in staged.values():
        stage.abort()


def _replace_paths(value, mapping):
    """The model's results with staged paths replaced by the final ones (nested child results included)."""
    if isinstance(value, dict):
        return {k: _replace_paths(v, mapping) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_replace_paths(v, mapping) for v in value)
    if isinstance(value, str):
        return mapping.get(value, value)
    return value


class _ErrorRecorder(QgsProcessingMultiStepFeedback):
    """The caller's feedback, one step long (QGIS forwards progress, messages and cancel to it), that also keeps
    the error lines the child algorithms report, to name the failing step's own message."""

    def __init__(self, target):
        target = target if target is not None else QgsProcessingFeedback()
        super().__init__(1, target)
        self.errors = []
        if target.isCanceled():
            self.cancel()

    def reportError(self, error, fatalError=False):  # noqa: N802, N803 (QGIS API names)
        self.errors.append(error)
        super().reportError(error, fatalError)


def shipped_models():
    """One ShippedModel per .model3 file in algorithms/modeler/."""
    models = []
    for path in sorted(glob.glob(os.path.join(MODEL_DIR, "*.model3"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        name, display, check = SHIPPED.get(stem, (stem.replace("_", ""), stem.replace("_", " ").title(), None))
        models.append(ShippedModel(path, name, display, check))
    return models
