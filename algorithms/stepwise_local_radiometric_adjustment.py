"""Stepwise Local Radiometric Adjustment: fill masked pixels of a cloudy image from another date (Li et al. 2019)."""

from qgis.core import (
    QgsProcessingParameterBand,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from .base import CloudRemovalAlgorithm
from .core.slra_raster import DEFAULT_BUFFER, run_slra
from .parameters import fill_parameters


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

    def shortHelpString(self):  # noqa: N802 (QGIS API name)
        return self.tr(
            "<p>Fills the masked (cloudy) pixels of an image with the pixels of a replacement image of another "
            "date, adjusted to the cloudy image's local radiometry. The region is filled ring by ring from its "
            "edge inward (rings 2 pixels wide); each pixel gets <i>T = mean<sub>t</sub> + g (R - mean<sub>r</sub>)"
            "</i>, with the means and standard deviations of target and replacement taken over the <b>same</b> "
            "known pixels of a window centred on it (clear pixels and pixels filled in earlier rings) and the "
            "gain g = std<sub>t</sub> / std<sub>r</sub> clamped to [1/3, 3] (g = 1 where the replacement is "
            "constant). Where a window has fewer than 25 common pixels it is widened (2x, 4x), then the "
            "statistics of the whole region's surroundings are used; the log says how often. Pixels outside "
            "the fill region are copied bit for bit; zero is a value, not nodata.</p>"
            "<h3>Parameters</h3>"
            "<p><b>Input (cloudy) raster</b>: the image to fill. The output has its data type, bands, grid and "
            "nodata.</p>"
            "<p><b>Replacement raster</b>: the image of another date, with the same bands in the same order. On "
            "another grid (CRS, resolution, extent) it is aligned to the input on the fly (bilinear).</p>"
            "<p><b>Mask</b> and <b>mask band</b> (default 1): pixels that are non-zero and not nodata are filled "
            "(a 0/1 or 0/255 mask both work). On another grid it is aligned (nearest neighbour).</p>"
            "<p><b>Window size</b> (pixels, a multiple of 20, default 80): the side of the statistics window; "
            "the window is (size + 1) x (size + 1) pixels, centred. Note: the ArcGIS function used this value "
            "as a radius, so 160 here reproduces its default window (161 x 161).</p>"
            "<p><b>Buffer</b> (0-15 pixels, default {buffer}): the mask is grown by this many pixels (a square) "
            "before filling, to cover cloud edges the mask missed. ArcGIS always used 20.</p>"
            "<p><b>Residual correction</b> (default on, the second half of Li et al.'s method): afterwards adds a "
            "smooth (harmonic) correction field that equals the residual of the adjustment at the clear pixels "
            "around each region, so no seam is left. It is solved by multigrid in time linear in the region's size "
            "(regions larger than about 4 million pixels are solved on a coarser grid and interpolated). Turn it "
            "off to get the plain stepwise adjustment.</p>"
            "<h3>Example</h3>"
            "<p><code>qgis_process run cloudremoval:stepwiselocalradiometricadjustment -- INPUT=cloudy.tif "
            "REPLACEMENT=clear.tif MASK=cloudmask.tif WINDOW_SIZE=80 OUTPUT=filled.tif</code></p>"
            "<p>Reference: Li, Z., Shen, H., Cheng, Q., Li, W., Zhang, L. (2019). Thick cloud removal in "
            "high-resolution satellite images using stepwise radiometric adjustment and residual correction. "
            "<i>Remote Sensing</i> 11(16), 1925.</p>").format(buffer=DEFAULT_BUFFER)

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
            window_size=self.parameterAsInt(parameters, self.WINDOW_SIZE, context),
            buffer=self.parameterAsInt(parameters, self.BUFFER, context),
            residual_correction=self.parameterAsBoolean(parameters, self.RESIDUAL_CORRECTION, context),
            progress=self.progress(feedback))
        feedback.pushInfo(self.tr("Wrote {} ({} pixels in the fill region).").format(output, summary["fill_pixels"]))
        return {self.OUTPUT: output}
