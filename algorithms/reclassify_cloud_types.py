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
    OUTPUT_STYLES = {OUTPUT: "classes"}  # a 0/1 result has its two named classes

    MISSING_OPTIONS = ["DATA", "NODATA"]
    DEFAULT_REMAP = "1 1;2 1;3 1"

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API name)
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input cloud mask")))
        self.addParameter(QgsProcessingParameterBand(
            self.BAND, self.tr("Band"), 1, self.INPUT, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.REMAP, self.tr("Remap (old new; low high new)"), self.DEFAULT_REMAP, optional=True))
        self.addParameter(QgsProcessingParameterMatrix(
            self.TABLE, self.tr("Table (wins over the remap)"),
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
        return self.style_outputs(context, {self.OUTPUT: output})
