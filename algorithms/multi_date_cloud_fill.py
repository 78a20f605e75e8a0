"""Multi-Date Cloud Fill: a cloud-free image from several partly cloudy dates, each with its own clouds masked."""

import os

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from .base import CloudRemovalAlgorithm
from .core.multi_date import DEFAULT_COMBINE, ORDERS, run_multi_date_fill
from .generate_cloud_mask import GenerateCloudMask
from .parameters import (
    ModelFile,
    NameOrIndexEnum,
    advanced,
    fill_options,
    fill_parameters,
    mask_model_options,
    mask_model_parameters,
)


class MultiDateCloudFill(CloudRemovalAlgorithm):
    """cloudremoval:multidatecloudfill — fill from several dates, nearest or listed first, each only where clear."""

    NAME = "multidatecloudfill"
    DISPLAY_NAME = "Multi-Date Cloud Fill"
    ICON = "slra.svg"

    INPUT = "INPUT"
    INPUT_MASK = "INPUT_MASK"
    REPLACEMENTS = "REPLACEMENTS"
    REPLACEMENT_MASKS = "REPLACEMENT_MASKS"
    ORDER = "ORDER"
    COMBINE_DATES = "COMBINE_DATES"
    AUTO_MASK = "AUTO_MASK"
    CLASSES_TO_REMOVE = "CLASSES_TO_REMOVE"
    FILL_NODATA = "FILL_NODATA"
    PRODUCT_LEVEL = "PRODUCT_LEVEL"
    SCALE = "SCALE"
    OFFSET = "OFFSET"
    MODEL = "MODEL"
    WINDOW_SIZE = "WINDOW_SIZE"
    BUFFER = "BUFFER"
    RESIDUAL_CORRECTION = "RESIDUAL_CORRECTION"
    OUTPUT = "OUTPUT"
    OUTPUT_SOURCE = "OUTPUT_SOURCE"
    OUTPUT_REMAINING = "OUTPUT_REMAINING"
    OUTPUT_STYLES = {OUTPUT: "like", OUTPUT_SOURCE: "classes", OUTPUT_REMAINING: "classes"}

    CLASS_OPTIONS = ["Clouds", "Clouds and cloud shadows"]
    CLASS_VALUES = [(1,), (1, 2)]

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API name)
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input (cloudy) raster")))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.INPUT_MASK, self.tr("Input mask (non-zero = cloudy)"), optional=True))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.REPLACEMENTS, self.tr("Replacement rasters (other dates)"), QgsProcessing.TypeRaster))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.REPLACEMENT_MASKS, self.tr("Masks of the replacements"),
            QgsProcessing.TypeRaster, optional=True))
        self.addParameter(NameOrIndexEnum(self.ORDER, self.tr("Order of the replacements"), list(ORDERS),
                                          default="similar"))
        self.addParameter(QgsProcessingParameterNumber(
            self.COMBINE_DATES, self.tr("Dates combined per pixel (median)"),
            QgsProcessingParameterNumber.Integer, DEFAULT_COMBINE, minValue=1, maxValue=255))
        self.addParameter(QgsProcessingParameterBoolean(
            self.AUTO_MASK, self.tr("Compute missing masks"), True))
        self.addParameter(QgsProcessingParameterEnum(
            self.CLASSES_TO_REMOVE, self.tr("Classes to remove (computed masks)"), self.CLASS_OPTIONS,
            defaultValue=1))
        self.addParameter(QgsProcessingParameterBoolean(
            self.FILL_NODATA, self.tr("Also fill the input's nodata pixels"), True))
        for param in fill_parameters(self):
            self.addParameter(param)
        mask_params = [
            QgsProcessingParameterEnum(self.PRODUCT_LEVEL, self.tr("Product level (computed masks)"),
                                       GenerateCloudMask.LEVELS, defaultValue=0),
            QgsProcessingParameterNumber(self.SCALE, self.tr("Scale: reflectance = DN x scale + offset (empty: band "
                                                             "metadata, else 0.0001 for integers, 1 for floats)"),
                                         QgsProcessingParameterNumber.Double, None, optional=True),
            QgsProcessingParameterNumber(self.OFFSET, self.tr("Offset (empty: band metadata, else 0)"),
                                         QgsProcessingParameterNumber.Double, None, optional=True),
            ModelFile(self.MODEL, self.tr("Cloud model: card, ONNX file or card id (empty: ukis-csmask)")),
        ]
        for param in mask_params + mask_model_parameters(self, geometry=False):
            self.addParameter(advanced(param))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Filled raster")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_SOURCE, self.tr("Source of each pixel"), optional=True, createByDefault=True))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_REMAINING, self.tr("Pixels no date could fill"), optional=True, createByDefault=False))

    def _layers(self, parameters, name, context):
        """File paths of a multiple-layer parameter, in the order given."""
        value = parameters.get(name)
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) and os.path.isfile(v) for v in value):
            return list(value)
        return [layer.source() for layer in self.parameterAsLayerList(parameters, name, context)]

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API name)
        source = self.raster_source(parameters, self.INPUT, context)
        mask = self.raster_source(parameters, self.INPUT_MASK, context) if parameters.get(self.INPUT_MASK) else None
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        outputs = {name: self.optional_output(parameters, name, context)
                   for name in (self.OUTPUT_SOURCE, self.OUTPUT_REMAINING)}
        level = GenerateCloudMask.LEVELS[self.parameterAsEnum(parameters, self.PRODUCT_LEVEL, context)]
        mask_options = {"level": level, "resolution_m": GenerateCloudMask.DEFAULT_RESOLUTION,
                        "scale": self.optional_number(parameters, self.SCALE, context),
                        "offset": self.optional_number(parameters, self.OFFSET, context),
                        "model": self.parameterAsFile(parameters, self.MODEL, context) or None,
                        **mask_model_options(self, parameters, context)}
        summary = self.run_core(
            run_multi_date_fill, source, self._layers(parameters, self.REPLACEMENTS, context), output,
            input_mask=mask, replacement_masks=self._layers(parameters, self.REPLACEMENT_MASKS, context),
            order=NameOrIndexEnum.value_name(parameters.get(self.ORDER), list(ORDERS), "similar"),
            auto_mask=self.parameterAsBoolean(parameters, self.AUTO_MASK, context),
            mask_options=mask_options,
            mask_classes=self.CLASS_VALUES[self.parameterAsEnum(parameters, self.CLASSES_TO_REMOVE, context)],
            fill_nodata=self.parameterAsBoolean(parameters, self.FILL_NODATA, context),
            **fill_options(self, parameters, context),
            source_output=outputs[self.OUTPUT_SOURCE], remaining_output=outputs[self.OUTPUT_REMAINING],
            progress=self.progress(feedback), combine=self.parameterAsInt(parameters, self.COMBINE_DATES, context))
        feedback.pushInfo(self.tr("Wrote {} ({} of {} pixels filled).").format(
            output, summary["fill_pixels"] - summary["remaining"], summary["fill_pixels"]))
        results = {self.OUTPUT: output}
        results.update({k: v for k, v in outputs.items() if v})
        return self.style_outputs(context, results, source)
