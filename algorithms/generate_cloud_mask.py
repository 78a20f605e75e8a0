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
from .parameters import ModelFile


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

    LEVELS = ["L1C", "L2A"]
    DEFAULT_RESOLUTION = 20.0

    def shortHelpString(self):  # noqa: N802 (QGIS API name)
        return self.tr(
            "<p>Classifies every pixel of a multispectral image as <b>0 clear</b>, <b>1 cloud</b> or "
            "<b>2 cloud shadow</b> with a pretrained convolutional network (UNet, EfficientNet-b4 encoder) run by "
            "onnxruntime. The default models are those of ukis-csmask 1.0.0 (German Aerospace Center, Apache-2.0) for "
            "Sentinel-2 L1C and L2A, with 6 bands (blue, green, red, nir, swir16, swir22) or 4 bands (without SWIR). "
            "The image is processed one row of 256 x 256 tiles at a time with 20 % overlap and smooth (Tukey) "
            "blending of the class probabilities, so full scenes run in bounded memory.</p>"
            "<h3>Parameters</h3>"
            "<p><b>Input raster</b>: reflectance or DN of a Sentinel-2 L1C/L2A product (stacked GeoTIFF, VRT of "
            "band files, ...). Other sensors with these bands (Landsat 5-9) work too.</p>"
            "<p><b>Product level</b>: L1C (top of atmosphere) or L2A (surface reflectance) picks the model.</p>"
            "<p><b>Band parameters</b>: which input band is blue, green, red, nir, swir16, swir22. Left empty they are "
            "found from band wavelengths, from descriptions such as 'B02' or 'Blue', or from common stack layouts "
            "(13 bands B01..B12 with B8A; 12 bands without B10; 10 bands B02-B8A, B11, B12; 6 bands). The mapping "
            "is logged. Without both SWIR bands the 4-band model runs.</p>"
            "<p><b>Scale</b> and <b>Offset</b>: reflectance = DN x scale + offset. Left empty, they come from the "
            "bands' own scale/offset metadata when the file has it (GDAL's Sentinel-2 driver and many COGs set it); "
            "otherwise scale defaults to 0.0001 for integer input and 1 for float input, and offset to 0. A warning "
            "names a better scale when the scaled values do not look like reflectance. "
            "For Sentinel-2 L2A (and L1C) of processing baseline 04.00 or later "
            "(products from 25 January 2022 on) set offset to <b>-0.1</b> (BOA_ADD_OFFSET / RADIO_ADD_OFFSET of "
            "-1000 DN) when the DN are the raw product values.</p>"
            "<p><b>Processing resolution (m)</b>: run the model on a coarser grid (input pixels averaged) and write "
            "the mask on the input grid with bilinear probability upsampling. 0 = input resolution (exactly the "
            "ukis-csmask result). The default 20 m runs a 10 m image on a quarter of the tiles; on labelled test "
            "data its accuracy (Cohen's kappa) equals the 10 m result, while 90-94 % of pixels keep their 10 m class "
            "(changes lie on cloud borders and in haze); 30 m lost accuracy there. Inputs at 20 m or coarser and "
            "inputs without a georeference run at their own resolution.</p>"
            "<p><b>Model</b> (optional): a model card (.json), an ONNX file with a card beside it, or a card id. "
            "Empty: the shipped ukis-csmask model for the product level and the mapped bands. Its weights come "
            "from the <code>ukis-csmask</code> package installed for QGIS's Python (<code>pip install "
            "ukis-csmask==1.0.0</code>); the sha256 in the card is checked.</p>"
            "<p><b>Nodata</b>: pixels that hold a band's declared nodata, all-zero pixels and non-finite values "
            "become 255 in the outputs.</p>"
            "<p><b>Cloud mask</b>: uint8 classes with colour table and class names, nodata 255. <b>Cloud "
            "probability</b> (optional): 0-100 % as uint8, nodata 255.</p>"
            "<p>Advanced: <b>Overlap</b> (share of the tile, default from the card: 0.2), <b>Batch size</b> (tiles "
            "per onnxruntime call), <b>Threads</b> (0 = all cores).</p>"
            "<h3>Example</h3>"
            "<p><code>qgis_process run cloudremoval:generatecloudmask -- INPUT=S2_L1C_stack.tif PRODUCT_LEVEL=0 "
            "OUTPUT=mask.tif</code>; for an L2A product of baseline 04.00+: <code>PRODUCT_LEVEL=1 OFFSET=-0.1</code>."
            "</p><h3>Citation</h3>"
            "<p>Wieland, M.; Li, Y.; Martinis, S. Multi-sensor cloud and cloud shadow segmentation with a "
            "convolutional neural network. Remote Sensing of Environment, 2019, 230, 1-12. "
            "https://doi.org/10.1016/j.rse.2019.05.022</p>")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API name)
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input raster")))
        self.addParameter(QgsProcessingParameterEnum(
            self.PRODUCT_LEVEL, self.tr("Product level"), self.LEVELS, defaultValue=0))
        for _, name, label in self.BAND_PARAMS:
            self.addParameter(QgsProcessingParameterBand(name, self.tr(label), None, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.SCALE, self.tr("Scale: reflectance = DN x scale + offset (empty: band metadata, else 0.0001 for "
                                "integers, 1 for floats)"),
            QgsProcessingParameterNumber.Double, None, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.OFFSET, self.tr("Offset (-0.1 for Sentinel-2 processing baseline 04.00 and later; empty: 0)"),
            QgsProcessingParameterNumber.Double, None, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.PROCESSING_RESOLUTION, self.tr("Processing resolution in metres (0 = input resolution)"),
            QgsProcessingParameterNumber.Double, self.DEFAULT_RESOLUTION, optional=True, minValue=0.0))
        self.addParameter(ModelFile(
            self.MODEL, self.tr("Model: card (.json), ONNX file with a card, or card id (empty: ukis-csmask for the "
                                "level and bands)")))
        advanced = [
            QgsProcessingParameterNumber(self.OVERLAP, self.tr("Tile overlap (share of the tile; empty: from card)"),
                                         QgsProcessingParameterNumber.Double, None, optional=True, minValue=0.0,
                                         maxValue=0.49),
            QgsProcessingParameterNumber(self.BATCH_SIZE, self.tr("Batch size (tiles per model call)"),
                                         QgsProcessingParameterNumber.Integer, 4, optional=True, minValue=1,
                                         maxValue=256),
            QgsProcessingParameterNumber(self.THREADS, self.tr("Threads (0 = all cores)"),
                                         QgsProcessingParameterNumber.Integer, 0, optional=True, minValue=0),
        ]
        for param in advanced:
            param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
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
        plan = self.run_core(
            plan_cloud_mask, source, output, level=level, explicit_bands=bands,
            model=self.parameterAsFile(parameters, self.MODEL, context) or None,
            scale=self.optional_number(parameters, self.SCALE, context, None),
            offset=self.optional_number(parameters, self.OFFSET, context, None),
            resolution_m=self.optional_number(parameters, self.PROCESSING_RESOLUTION, context, self.DEFAULT_RESOLUTION),
            overlap=self.optional_number(parameters, self.OVERLAP, context, None),
            batch_size=self.optional_number(parameters, self.BATCH_SIZE, context, 4, integer=True),
            threads=self.optional_number(parameters, self.THREADS, context, 0, integer=True),
            probability_path=probability)
        counts = self.run_core(run_cloud_mask, plan, output, probability, self.progress(feedback))
        total = sum(counts.values()) or 1
        feedback.pushInfo(self.tr("Wrote {}: {}.").format(
            output, ", ".join(f"{name} {100.0 * n / total:.1f} %" for name, n in counts.items())))
        results = {self.OUTPUT: output}
        if probability:
            results[self.OUTPUT_PROBABILITY] = probability
        return results
