"""Shared base of the plugin's algorithms: naming, icons, help and the bridge from QGIS feedback to the core."""

import os

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .core.progress import Cancelled, InputError, Progress

ICONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons")


class CloudRemovalAlgorithm(QgsProcessingAlgorithm):
    """Base class; subclasses set NAME, DISPLAY_NAME and ICON and implement the QGIS methods."""

    NAME = ""
    DISPLAY_NAME = ""
    ICON = "cloud_removal.svg"

    def tr(self, string):
        return QCoreApplication.translate(type(self).__name__, string)

    def createInstance(self):  # noqa: N802 (QGIS API name)
        return type(self)()

    def name(self):
        return self.NAME

    def displayName(self):  # noqa: N802 (QGIS API name)
        return self.tr(self.DISPLAY_NAME)

    def group(self):
        return self.tr("Cloud removal")

    def groupId(self):  # noqa: N802 (QGIS API name)
        return "cloudremoval"

    def icon(self):
        return QIcon(self.svgIconPath())

    def svgIconPath(self):  # noqa: N802 (QGIS API name)
        return os.path.join(ICONS, self.ICON)

    def helpUrl(self):  # noqa: N802 (QGIS API name)
        return "https://github.com/cloud-removal/qgis-cloud-removal#readme"

    def raster_source(self, parameters, name, context):
        """The GDAL source of a raster parameter, or a QgsProcessingException naming the invalid input."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, name))
        return layer.source()

    @staticmethod
    def progress(feedback):
        """A core Progress that reports to and is cancelled by a QgsProcessingFeedback."""
        if feedback is None:
            return Progress()
        return Progress(feedback.setProgress, feedback.isCanceled, feedback.pushInfo)

    @staticmethod
    def run_core(function, *args, **kwargs):
        """Call a core function, turning its errors and cancellation into QgsProcessingException."""
        try:
            return function(*args, **kwargs)
        except Cancelled:
            raise QgsProcessingException("Cancelled: no output was written.") from None
        except InputError as err:
            raise QgsProcessingException(str(err)) from None
