"""QGIS plugin entry point for Cloud Removal."""


def classFactory(iface):  # noqa: N802 (QGIS API name)
    """Create the plugin instance QGIS asks for."""
    from .plugin import CloudRemovalPlugin

    return CloudRemovalPlugin(iface)
