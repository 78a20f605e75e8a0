"""Reclassify Cloud Types: map chosen classes of a cloud mask to 1 and everything else to 0 (ArcGIS-style)."""

from qgis.core import (
    QgsProcessingParameterBand,
    QgsProcessingParameterMatrix,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from .base import CloudRemovalAlgorithm
from .core.reclassify import reclassify_raster
from .core.remap import remap_from
from .parameters import NameOrIndexEnum


class ReclassifyCloudTypes(CloudRemovalAlgorithm):
    """cloudremoval:reclassifycloudtypes — the open equivalent of ArcGIS Reclassify "1 1;2 1;3 1" DATA."""

    NAME = "reclassifycloudtypes"
    DISPLAY_NAME = "Reclassify Cloud Types"
    ICON = "reclassify_cloud_types.svg"

    INPUT = "INPUT"
    BAND = "BAND"
    REMAP = "REMAP"
    TABLE = "TABLE"
    MISSING_VALUES = "MISSING_VALUES"
    GROW = "GROW"
    MIN_REGION = "MIN_REGION"
    OUTPUT = "OUTPUT"

    MISSING_OPTIONS = ["DATA", "NODATA"]
    DEFAULT_REMAP = "1 1;2 1;3 1"

    def shortHelpString(self):  # noqa: N802 (QGIS API name)
        return self.tr(
            "<p>Turns a classified cloud mask into a binary mask: the chosen cloud classes become 1, the rest 0. "
            "The open equivalent of ArcGIS <i>Reclassify</i> with a remap string such as <code>1 1;2 1;3 1</code>.</p>"
            "<h3>Parameters</h3>"
            "<p><b>Input cloud mask</b> and <b>band</b>: the class raster (e.g. the output of Generate Cloud Mask).</p>"
            "<p><b>Remap</b>: entries separated by <code>;</code>. <code>old new</code> maps one value; "
            "<code>low high new</code> maps an inclusive range; <code>NODATA new</code> maps input nodata; "
            "<code>old NODATA</code> makes a class nodata. Where entries overlap the first wins, so "
            "<code>0 5 1;5 10 2</code> maps 5 to 1 (ArcGIS gives a shared boundary to the lower range).</p>"
            "<p><b>Reclassification table</b> (optional): rows of minimum, maximum, value (inclusive; an empty "
            "minimum or maximum is open-ended), as in QGIS <i>Reclassify by table</i>. "
            "<b>If the table has rows it wins and the remap string is ignored.</b></p>"
            "<p><b>Missing values</b>: DATA (ArcGIS default) keeps unmapped values as they are; NODATA turns them "
            "into nodata. Input nodata always stays nodata unless a <code>NODATA new</code> entry maps it.</p>"
            "<p><b>Grow ones by</b> N pixels: cells within N pixels (a disk) of a 1 become 1, to cover cloud "
            "edges. <b>Minimum region size</b> N: 8-connected regions of 1 with fewer than N cells become 0, to "
            "drop specks. Small regions are dropped first, then the rest is grown. Both are exact across blocks.</p>"
            "<p><b>Output</b>: the smallest unsigned integer type that holds the values, with nodata set; a 0/1 "
            "result gets a colour table and the class names clear and cloud.</p>"
            "<h3>Examples</h3>"
            "<p>ukis-csmask classes (0 clear, 1 cloud, 2 cloud shadow): <code>1 1;2 1</code> removes clouds and "
            "shadows, <code>1 1;2 0</code> clouds only. ArcGIS cloud mask (0 clear, 1 low, 2 medium, 3 high "
            "density): <code>1 1;2 1;3 1</code> all clouds, <code>1 0;2 1;3 1</code> medium and high only. "
            "Fmask (0 land, 1 water, 2 shadow, 3 snow, 4 cloud): <code>0 1 0;2 1;3 0;4 1</code>.</p>")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API name)
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input cloud mask")))
        self.addParameter(QgsProcessingParameterBand(
            self.BAND, self.tr("Band"), 1, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.REMAP, self.tr("Remap (old new; low high new; ...)"), self.DEFAULT_REMAP, optional=True))
        self.addParameter(QgsProcessingParameterMatrix(
            self.TABLE, self.tr("Reclassification table (wins over the remap string when it has rows)"),
            numberRows=0, hasFixedNumberRows=False, headers=[self.tr("Minimum"), self.tr("Maximum"),
                                                             self.tr("Value")], optional=True))
        self.addParameter(NameOrIndexEnum(self.MISSING_VALUES, self.tr("Missing values"), self.MISSING_OPTIONS,
                                          default="DATA"))
        self.addParameter(QgsProcessingParameterNumber(
            self.GROW, self.tr("Grow ones by (pixels)"), QgsProcessingParameterNumber.Integer, 0,
            minValue=0, maxValue=1000))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_REGION, self.tr("Minimum region size (pixels)"), QgsProcessingParameterNumber.Integer, 0,
            minValue=0))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Binary cloud mask")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API name)
        source = self.raster_source(parameters, self.INPUT, context)
        band = self.parameterAsInt(parameters, self.BAND, context) if parameters.get(self.BAND) else 1
        missing = NameOrIndexEnum.value_name(parameters.get(self.MISSING_VALUES), self.MISSING_OPTIONS, "DATA")
        remap, used = self.run_core(remap_from, self.parameterAsString(parameters, self.REMAP, context),
                                    self.parameterAsMatrix(parameters, self.TABLE, context), missing == "DATA")
        feedback.pushInfo(self.tr("Using {}.").format(used))
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        summary = self.run_core(
            reclassify_raster, source, band, remap, output,
            grow=self.parameterAsInt(parameters, self.GROW, context),
            min_region=self.parameterAsInt(parameters, self.MIN_REGION, context),
            progress=self.progress(feedback))
        feedback.pushInfo(self.tr("Wrote {} ({}, nodata {}).").format(output, summary["dtype"], summary["nodata"]))
        return {self.OUTPUT: output}
