"""Shared base of the plugin's algorithms: naming, icons, help and the bridge from QGIS feedback to the core."""

import os

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .core.progress import Cancelled, InputError, Progress, stop_on_signals
from .help import help_html
from .parameters import optional_number, optional_output, raster_path
from .styles import style_output

ICONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons")


class CloudRemovalAlgorithm(QgsProcessingAlgorithm):
    """Base class; subclasses set NAME, DISPLAY_NAME and ICON and implement the QGIS methods."""

    NAME = ""
    DISPLAY_NAME = ""
    ICON = "cloud_removal.svg"
    OUTPUT_STYLES = {}  # output name -> "classes", "probability" or "like" (the input's rendering), see styles.py

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

    def shortHelpString(self):  # noqa: N802 (QGIS API name)
        """The help panel: `algorithms/help/<name>.md` (also the README's section), with the dialog's labels."""
        return help_html(self.name(), {p.name(): p.description() for p in self.parameterDefinitions()})

    def helpUrl(self):  # noqa: N802 (QGIS API name)
        return "https://github.com/cloud-removal/qgis-cloud-removal#readme"

    def raster_source(self, parameters, name, context):
        """The GDAL source of a raster parameter, or a QgsProcessingException naming the invalid input.

        A file path is used as it is, without loading a QGIS layer (which would compute statistics and write them
        into an `.aux.xml` beside the user's file); layer ids and layers of the project go through QGIS.
        """
        path = raster_path(self, parameters, name, context)
        if path is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, name))
        return path

    def optional_number(self, parameters, name, context, default=None, integer=False):
        """A numeric parameter, or `default` when it is not set."""
        return optional_number(self, parameters, name, context, default, integer)

    def optional_output(self, parameters, name, context):
        """The path of an optional destination parameter, or None when it is not asked for."""
        return optional_output(self, parameters, name, context)

    def style_outputs(self, context, results, source=None):
        """Style the outputs Processing will load (OUTPUT_STYLES; `source`: the input image for "like");
        returns `results`."""
        for name, kind in self.OUTPUT_STYLES.items():
            style_output(context, results.get(name), kind, source)
        return results

    @staticmethod
    def progress(feedback):
        """A core Progress that reports to and is cancelled by a QgsProcessingFeedback."""
        if feedback is None:
            return Progress()
        return Progress(feedback.setProgress, feedback.isCanceled, feedback.pushInfo)

    @staticmethod
    def run_core(function, *args, **kwargs):
        """Call a core function, turning its errors, cancellation and SIGTERM/SIGINT into QgsProcessingException.

        Whatever goes wrong, the message names the cause and no output has been written (the core commits outputs
        only at the end of a successful run); a bug shows as an "unexpected error" line, not a traceback.
        """
        try:
            with stop_on_signals():
                return function(*args, **kwargs)
        except Cancelled as err:
            reason = str(err) if "stopped by" in str(err) else "cancelled"
            raise QgsProcessingException(f"{reason[0].upper()}{reason[1:]}: no output was written.") from None
        except InputError as err:
            raise QgsProcessingException(str(err)) from None
        except MemoryError:
            raise QgsProcessingException("Out of memory: no output was written. Close other programs or process a "
                                         "smaller area.") from None
        except (RuntimeError, OSError) as err:  # GDAL errors name the file; OSError carries the path
            raise QgsProcessingException(f"{err}. No output was written.") from None
        except Exception as err:  # noqa: BLE001 (a clear message instead of a traceback in qgis_process)
            raise QgsProcessingException(f"Unexpected error ({type(err).__name__}: {err}); no output was written. "
                                         "Please report it with the log.") from None
