"""Parameter types the algorithms share beyond QGIS's own."""

import os

from qgis.core import (
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
)

from .core.fill_plan import DEFAULT_BUFFER, DEFAULT_WINDOW, GAIN_CHOICES, MAX_BUFFER
from .core.onnx_model import PROVIDER_NAMES
from .core.shadow_check import DEFAULT_MAX_CLOUD_HEIGHT

EXECUTION_PROVIDER, SHADOW_CHECK = "EXECUTION_PROVIDER", "SHADOW_CHECK"
MAX_CLOUD_HEIGHT, SUN_AZIMUTH, SUN_ZENITH = "MAX_CLOUD_HEIGHT", "SUN_AZIMUTH", "SUN_ZENITH"
GAIN = "GAIN"


class NameOrIndexEnum(QgsProcessingParameterEnum):
    """A drop-down whose value is an option's name (as in `MISSING_VALUES=NODATA`), which also accepts the option's
    index (`MISSING_VALUES=1`), as `qgis_process help` lists them. QGIS's own enum takes one form or the other."""

    def __init__(self, name, description, options, default=None, optional=False):
        super().__init__(name, description, options, False, default, optional)
        self.setUsesStaticStrings(True)
        self._options = list(options)

    def clone(self):
        copy = NameOrIndexEnum(self.name(), self.description(), self._options, self.defaultValue(),
                               bool(self.flags() & self.FlagOptional))
        copy.setFlags(self.flags())
        copy.setHelp(self.help())
        return copy

    @staticmethod
    def value_name(value, options, default):
        """The option name for a parameter value given as a name, an index or an index string; `default` if empty."""
        if value in (None, ""):
            return default
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        text = str(value).strip()
        if text.lstrip("-").isdigit() and 0 <= int(text) < len(options):
            return options[int(text)]
        for option in options:
            if option.upper() == text.upper():
                return option
        return None

    def checkValueIsAcceptable(self, value, context=None):  # noqa: N802 (QGIS API name)
        if value in (None, ""):
            return bool(self.flags() & self.FlagOptional) or self.defaultValue() is not None
        return self.value_name(value, self._options, None) is not None


class ModelFile(QgsProcessingParameterFile):
    """A file chooser for a model card (.json) or an ONNX file that also accepts a shipped card's id
    (`MODEL=ukis_csmask_6b_l2a`); QGIS's file parameter refuses any value without a file extension."""

    def __init__(self, name, description):
        super().__init__(name, description, QgsProcessingParameterFile.File, "", None, True,
                         "Model card or ONNX (*.json *.onnx)")

    def clone(self):
        copy = ModelFile(self.name(), self.description())
        copy.setFlags(self.flags())
        return copy

    def checkValueIsAcceptable(self, value, context=None):  # noqa: N802 (QGIS API name)
        return value is None or isinstance(value, str)  # checked, with a clear message, when the card is resolved


def fill_parameters(alg):
    """WINDOW_SIZE, BUFFER, RESIDUAL_CORRECTION and GAIN (advanced), as every fill (SLRA, multi-date) offers them."""
    return [
        QgsProcessingParameterNumber(alg.WINDOW_SIZE, alg.tr("Window size (pixels, multiple of 20)"),
                                     QgsProcessingParameterNumber.Integer, DEFAULT_WINDOW, minValue=20),
        QgsProcessingParameterNumber(alg.BUFFER, alg.tr("Buffer (pixels)"), QgsProcessingParameterNumber.Integer,
                                     DEFAULT_BUFFER, minValue=0, maxValue=MAX_BUFFER),
        QgsProcessingParameterBoolean(alg.RESIDUAL_CORRECTION, alg.tr("Residual correction"), True),
        advanced(NameOrIndexEnum(GAIN, alg.tr("Gain of the adjustment"), list(GAIN_CHOICES), default="auto")),
    ]


def fill_options(alg, parameters, context):
    """The FillPlan options of the parameters fill_parameters() added to `alg`."""
    return {"window_size": alg.parameterAsInt(parameters, alg.WINDOW_SIZE, context),
            "buffer": alg.parameterAsInt(parameters, alg.BUFFER, context),
            "residual_correction": alg.parameterAsBoolean(parameters, alg.RESIDUAL_CORRECTION, context),
            "gain_rule": NameOrIndexEnum.value_name(parameters.get(GAIN), list(GAIN_CHOICES), "auto")}


def advanced(param):
    """The parameter, flagged advanced."""
    param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return param


def mask_model_parameters(alg, geometry=True):
    """SHADOW_CHECK and EXECUTION_PROVIDER (advanced), as every algorithm that runs the cloud model offers them;
    with `geometry` also MAX_CLOUD_HEIGHT, SUN_AZIMUTH and SUN_ZENITH (advanced)."""
    number = QgsProcessingParameterNumber
    params = [
        QgsProcessingParameterBoolean(SHADOW_CHECK, alg.tr("Check shadows against clouds"), True),
        advanced(NameOrIndexEnum(EXECUTION_PROVIDER, alg.tr("Execution provider"), list(PROVIDER_NAMES),
                                 default="auto")),
    ]
    if geometry:
        params += [
            advanced(number(MAX_CLOUD_HEIGHT, alg.tr("Highest cloud top (m)"), number.Double,
                            DEFAULT_MAX_CLOUD_HEIGHT, minValue=1.0)),
            advanced(number(SUN_AZIMUTH, alg.tr("Sun azimuth (degrees)"), number.Double,
                            None, optional=True, minValue=0.0, maxValue=360.0)),
            advanced(number(SUN_ZENITH, alg.tr("Sun zenith (degrees)"), number.Double, None,
                            optional=True, minValue=0.0, maxValue=85.0)),
        ]
    return params


def mask_model_options(alg, parameters, context):
    """The plan_cloud_mask options of the parameters mask_model_parameters() added to `alg`."""
    names = {p.name() for p in alg.parameterDefinitions()}
    options = {"provider": NameOrIndexEnum.value_name(parameters.get(EXECUTION_PROVIDER), list(PROVIDER_NAMES),
                                                      "auto"),
               "shadow_check": alg.parameterAsBoolean(parameters, SHADOW_CHECK, context)}
    if MAX_CLOUD_HEIGHT in names:
        options["shadow_options"] = {
            "max_cloud_height": optional_number(alg, parameters, MAX_CLOUD_HEIGHT, context, DEFAULT_MAX_CLOUD_HEIGHT),
            "sun_azimuth": optional_number(alg, parameters, SUN_AZIMUTH, context),
            "sun_zenith": optional_number(alg, parameters, SUN_ZENITH, context)}
    return options


def optional_number(alg, parameters, name, context, default=None, integer=False):
    """A numeric parameter of `alg`, or `default` when it is not set (QGIS passes None or '' for optional numbers)."""
    if parameters.get(name) in (None, ""):
        return default
    return (alg.parameterAsInt if integer else alg.parameterAsDouble)(parameters, name, context)


def optional_output(alg, parameters, name, context):
    """The path of an optional destination parameter, or None when it is not asked for."""
    if parameters.get(name) in (None, ""):
        return None
    return alg.parameterAsOutputLayer(parameters, name, context) or None


def raster_path(alg, parameters, name, context):
    """The GDAL source of a raster parameter of `alg`, or None when QGIS cannot open it.

    A file path is used as it is, without loading a QGIS layer (which would compute statistics and write them into
    an `.aux.xml` beside the user's file); layer ids and layers of the project go through QGIS.
    """
    value = parameters.get(name)
    if isinstance(value, str) and os.path.isfile(value):
        return value
    layer = alg.parameterAsRasterLayer(parameters, name, context)
    return None if layer is None else layer.source()
