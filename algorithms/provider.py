"""The "Cloud Removal" Processing provider: registers the algorithms and the shipped Modeler models."""

import os

from qgis.core import QgsApplication, QgsProcessingProvider
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .generate_cloud_mask import GenerateCloudMask
from .multi_date_cloud_fill import MultiDateCloudFill
from .reclassify_cloud_types import ReclassifyCloudTypes
from .shipped_models import shipped_models
from .stepwise_local_radiometric_adjustment import StepwiseLocalRadiometricAdjustment

ICONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icons")

ALGORITHM_CLASSES = [
    GenerateCloudMask,
    ReclassifyCloudTypes,
    StepwiseLocalRadiometricAdjustment,
    MultiDateCloudFill,
]


class CloudRemovalProvider(QgsProcessingProvider):
    """Provider id `cloudremoval`, shown as "Cloud Removal" in the Processing Toolbox."""

    def __init__(self):
        super().__init__()
        self._registry = QgsApplication.processingRegistry()
        self._registry.providerAdded.connect(self._registered)

    def _registered(self, provider_id):
        """Reload once registered: the shipped models resolve their child algorithms through the registry."""
        if provider_id == self.id():
            self._registry.providerAdded.disconnect(self._registered)
            self.refreshAlgorithms()

    def unload(self):
        try:
            self._registry.providerAdded.disconnect(self._registered)
        except TypeError:  # already disconnected
            pass

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
        if self._registry.providerById(self.id()) is self:
            for model in shipped_models():
                self.addAlgorithm(model)
