"""Stepwise Local Radiometric Adjustment: fill masked pixels of a cloudy image from another date (Li et al. 2019)."""

from qgis.core import (
    QgsProcessingParameterBand,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from .base import CloudRemovalAlgorithm
from .core.slra_raster import run_slra
from .parameters import fill_options, fill_parameters


class StepwiseLocalRadiometricAdjustment(CloudRemovalAlgorithm):
    """cloudremoval:stepwiselocalradiometricadjustment — the open, corrected equivalent of the ArcGIS function."""

    NAME = "stepwiselocalradiometricadjustment"
    DISPLAY_NAME = "Stepwise Local Radiometric Adjustment"
    ICON = "slra.svg"

    INPUT = "INPUT"
    REPLACEMENT = "REPLACEMENT"
    MASK = "MASK"
    MASK_BAND = "MASK_BAND"
    WINDOW_SIZE = "WINDOW_SIZE"
    BUFFER = "BUFFER"
    RESIDUAL_CORRECTION = "RESIDUAL_CORRECTION"
    OUTPUT = "OUTPUT"
    OUTPUT_STYLES = {OUTPUT: "like"}  # the input's band rendering

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API name)
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Input (cloudy) raster")))
        self.addParameter(QgsProcessingParameterRasterLayer(self.REPLACEMENT, self.tr("Replacement raster")))
        self.addParameter(QgsProcessingParameterRasterLayer(self.MASK, self.tr("Mask (non-zero = fill)")))
        self.addParameter(QgsProcessingParameterBand(
            self.MASK_BAND, self.tr("Mask band"), 1, self.MASK, optional=True))
        for param in fill_parameters(self):
            self.addParameter(param)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Filled raster")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API name)
        source = self.raster_source(parameters, self.INPUT, context)
        replacement = self.raster_source(parameters, self.REPLACEMENT, context)
        mask = self.raster_source(parameters, self.MASK, context)
        mask_band = self.parameterAsInt(parameters, self.MASK_BAND, context) if parameters.get(self.MASK_BAND) else 1
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        summary = self.run_core(
            run_slra, source, replacement, mask, output, mask_band=mask_band,
            progress=self.progress(feedback), **fill_options(self, parameters, context))
        feedback.pushInfo(self.tr("Wrote {} ({} pixels in the fill region).").format(output, summary["fill_pixels"]))
        return self.style_outputs(context, {self.OUTPUT: output}, source)
