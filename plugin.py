"""Registers the Cloud Removal Processing provider with QGIS (desktop and qgis_process)."""

from qgis.core import QgsApplication

MENU = "&Cloud Removal"


class CloudRemovalPlugin:
    """Plugin object: owns the Processing provider and, on the desktop, the "edit a copy of the model" actions."""

    def __init__(self, iface=None):
        self.iface = iface
        self.provider = None
        self.menu_actions = []
        self.context_actions = []

    def initProcessing(self):  # noqa: N802 (QGIS API name)
        """Add the provider to the Processing registry (called alone by qgis_process)."""
        from .algorithms.provider import CloudRemovalProvider

        if self.provider is None:
            self.provider = CloudRemovalProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802 (QGIS API name)
        """Desktop start-up: the provider, plus a way to open each shipped model in the Modeler (a right-click
        action on it in the Toolbox and an entry in the Plugins menu)."""
        self.initProcessing()
        try:
            from processing.gui.ProviderActions import ProviderContextMenuActions
        except ImportError:  # the Processing plugin is disabled
            return
        from qgis.core import QgsProcessingModelAlgorithm
        from qgis.PyQt.QtWidgets import QAction

        from .algorithms.model_copy import context_action, open_copy_in_modeler
        from .algorithms.shipped_models import shipped_models

        def is_shipped(alg):
            return (isinstance(alg, QgsProcessingModelAlgorithm) and alg.provider() is not None
                    and alg.provider().id() == "cloudremoval")

        self.context_actions = [context_action(is_shipped)]
        ProviderContextMenuActions.registerProviderContextMenuActions(self.context_actions)
        if self.iface is None:
            return
        for model in shipped_models():
            action = QAction(self.provider.icon(), f"Edit a Copy of “{model.displayName()}” in the Modeler…",
                             self.iface.mainWindow())
            path = model.sourceFilePath()
            action.triggered.connect(lambda _checked=False, path=path: open_copy_in_modeler(path))
            self.iface.addPluginToMenu(MENU, action)
            self.menu_actions.append(action)

    def unload(self):
        """Remove the provider and the actions when the plugin is disabled or QGIS exits."""
        if self.context_actions:
            from processing.gui.ProviderActions import ProviderContextMenuActions

            ProviderContextMenuActions.deregisterProviderContextMenuActions(self.context_actions)
            self.context_actions = []
        for action in self.menu_actions:
            self.iface.removePluginMenu(MENU, action)
        self.menu_actions = []
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None


