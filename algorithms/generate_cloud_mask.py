"""Generate Cloud Mask: clear / cloud / cloud shadow from Sentinel-2 (or any multispectral) reflectance with an
ONNX model (ukis-csmask by default), streamed tile row by tile row over full scenes."""

from qgis.core import (
    QgsProcessingParameterBand,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from .base import CloudRemovalAlgorithm
from .core.cloud_mask import plan_cloud_mask, run_cloud_mask
from .core.cloud_mask_plan import MAX_OFFSET
from .parameters import ModelFile, mask_model_options, mask_model_parameters


class GenerateCloudMask(CloudRemovalAlgorithm):
    """cloudremoval:generatecloudmask — the open equivalent of ArcGIS "Classify Pixels Using Deep Learning"
    with the Living Atlas "Cloud Mask Generation (Sentinel-2)" model."""

    NAME = "generatecloudmask"
    DISPLAY_NAME = "Generate Cloud Mask"
    ICON = "generate_cloud_mask.svg"

    INPUT = "INPUT"
    PRODUCT_LEVEL = "PRODUCT_LEVEL"
    BAND_PARAMS = (("blue", "BLUE_BAND", "Blue band (B02)"), ("green", "GREEN_BAND", "Green band (B03)"),
                   ("red", "RED_BAND", "Red band (B04)"), ("nir", "NIR_BAND", "NIR band (B08)"),
                   ("swir16", "SWIR16_BAND", "SWIR 1.6 µm band (B11)"),
                   ("swir22", "SWIR22_BAND", "SWIR 2.2 µm band (B12)"))
    SCALE = "SCALE"
    OFFSET = "OFFSET"
    PROCESSING_RESOLUTION = "PROCESSING_RESOLUTION"
    MODEL = "MODEL"
    OVERLAP = "OVERLAP"
    BATCH_SIZE = "BATCH_SIZE"
    THREADS = "THREADS"
    OUTPUT = "OUTPUT"
    OUTPUT_PROBABILITY = "OUTPUT_PROBABILITY"
    OUTPUT_STYLES = {OUTPUT: "classes", OUTPUT_PROBABILITY: "probability"}

    LEVELS = ["L1C", "L2A"]
    DEFAULT_RESOLUTION = 20.0

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API name)
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input raster")))
        self.addParameter(QgsProcessingParameterEnum(
            self.PRODUCT_LEVEL, self.tr("Product level"), self.LEVELS, defaultValue=0))
        for _, name, label in self.BAND_PARAMS:
            self.addParameter(QgsProcessingParameterBand(name, self.tr(label), None, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.SCALE, self.tr("Scale (empty: automatic)"),
            QgsProcessingParameterNumber.Double, None, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.OFFSET, self.tr("Offset (S2 from 2022: -0.1)"),
            QgsProcessingParameterNumber.Double, None, optional=True, minValue=-MAX_OFFSET, maxValue=MAX_OFFSET))
        self.addParameter(QgsProcessingParameterNumber(
            self.PROCESSING_RESOLUTION, self.tr("Processing resolution (m)"),
            QgsProcessingParameterNumber.Double, self.DEFAULT_RESOLUTION, optional=True, minValue=0.0))
        self.addParameter(ModelFile(
            self.MODEL, self.tr("Model (empty: ukis-csmask)")))
        advanced = [
            QgsProcessingParameterNumber(self.OVERLAP, self.tr("Tile overlap (share of a tile)"),
                                         QgsProcessingParameterNumber.Double, None, optional=True, minValue=0.0,
                                         maxValue=0.49),
            QgsProcessingParameterNumber(self.BATCH_SIZE, self.tr("Tiles per model call"),
                                         QgsProcessingParameterNumber.Integer, 4, optional=True, minValue=1,
                                         maxValue=256),
            QgsProcessingParameterNumber(self.THREADS, self.tr("Threads (0 = all cores)"),
                                         QgsProcessingParameterNumber.Integer, 0, optional=True, minValue=0),
        ]
        for param in advanced:
            param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(param)
        for param in mask_model_parameters(self):
            self.addParameter(param)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Cloud mask")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_PROBABILITY, self.tr("Cloud probability (%)"), optional=True, createByDefault=False))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API name)
        source = self.raster_source(parameters, self.INPUT, context)
        level = self.LEVELS[self.parameterAsEnum(parameters, self.PRODUCT_LEVEL, context)]
        bands = {role: (self.parameterAsInt(parameters, name, context) if parameters.get(name) not in (None, "")
                        else None) for role, name, _ in self.BAND_PARAMS}
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        probability = self.optional_output(parameters, self.OUTPUT_PROBABILITY, context)
        options = dict(
            level=level, explicit_bands=bands,
            model=self.parameterAsFile(parameters, self.MODEL, context) or None,
            scale=self.optional_number(parameters, self.SCALE, context, None),
            offset=self.optional_number(parameters, self.OFFSET, context, None),
            resolution_m=self.optional_number(parameters, self.PROCESSING_RESOLUTION, context, self.DEFAULT_RESOLUTION),
            overlap=self.optional_number(parameters, self.OVERLAP, context, None),
            batch_size=self.optional_number(parameters, self.BATCH_SIZE, context, 4, integer=True),
            threads=self.optional_number(parameters, self.THREADS, context, 0, integer=True),
            probability_path=probability, **mask_model_options(self, parameters, context))

        def plan_and_run():  # one run_core: a signal that arrives while planning still stops the run
            plan = plan_cloud_mask(source, output, **options)
            return run_cloud_mask(plan, output, probability, self.progress(feedback))

        counts = self.run_core(plan_and_run)
        total = sum(counts.values()) or 1
        feedback.pushInfo(self.tr("Wrote {}: {}.").format(
            output, ", ".join(f"{name} {100.0 * n / total:.1f} %" for name, n in counts.items())))
        results = {self.OUTPUT: output}
        if probability:
            results[self.OUTPUT_PROBABILITY] = probability
        self.style_outputs(context, results)
        return results
