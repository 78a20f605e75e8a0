"""Registers the Cloud Removal Processing provider with QGIS (desktop and qgis_process)."""

from qgis.core import QgsApplication


class CloudRemovalPlugin:
    """Plugin object: owns the Processing provider for its lifetime."""

    def __init__(self, iface=None):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS API name)
        """Add the provider to the Processing registry (called alone by qgis_process)."""
        from .algorithms.provider import CloudRemovalProvider

        if self.provider is None:
            self.provider = CloudRemovalProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS API name)
        """Desktop start-up: the algorithms live in the Processing Toolbox, so only the provider is needed."""
        self.initProcessing()

    def unload(self):
        """Remove the provider when the plugin is disabled or QGIS exits."""
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
