"""The "Cloud Removal" Processing provider: registers the algorithms and the shipped Modeler models."""

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .generate_cloud_mask import GenerateCloudMask
from .reclassify_cloud_types import ReclassifyCloudTypes
from .stepwise_local_radiometric_adjustment import StepwiseLocalRadiometricAdjustment

ICONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons")

ALGORITHM_CLASSES = [
    GenerateCloudMask,
    ReclassifyCloudTypes,
    StepwiseLocalRadiometricAdjustment,
]


class CloudRemovalProvider(QgsProcessingProvider):
    """Provider id `cloudremoval`, shown as "Cloud Removal" in the Processing Toolbox."""

    def id(self):
        return "cloudremoval"

    def name(self):
        return QCoreApplication.translate("CloudRemovalProvider", "Cloud Removal")

    def longName(self):  # noqa: N802 (QGIS API name)
        return self.name()

    def icon(self):
        return QIcon(os.path.join(ICONS, "cloud_removal.svg"))

    def svgIconPath(self):  # noqa: N802 (QGIS API name)
        return os.path.join(ICONS, "cloud_removal.svg")

    def loadAlgorithms(self):  # noqa: N802 (QGIS API name)
        for cls in ALGORITHM_CLASSES:
            self.addAlgorithm(cls())
