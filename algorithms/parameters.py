"""Parameter types the algorithms share beyond QGIS's own."""

from qgis.core import QgsProcessingParameterEnum, QgsProcessingParameterFile


class NameOrIndexEnum(QgsProcessingParameterEnum):
    """A drop-down whose value is an option's name (as in `MISSING_VALUES=NODATA`), which also accepts the option's
    index (`MISSING_VALUES=1`), as `qgis_process help` lists them. QGIS's own enum takes one form or the other."""

    def __init__(self, name, description, options, default=None, optional=False):
        super().__init__(name, description, options, False, default, optional)
        self.setUsesStaticStrings(True)
        self._options = list(options)

    def clone(self):
        copy = NameOrIndexEnum(self.name(), self.description(), self._options, self.defaultValue(),
                               bool(self.flags() & self.FlagOptional))
        copy.setFlags(self.flags())
        copy.setHelp(self.help())
        return copy

    @staticmethod
    def value_name(value, options, default):
        """The option name for a parameter value given as a name, an index or an index string; `default` if empty."""
        if value in (None, ""):
            return default
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        text = str(value).strip()
        if text.lstrip("-").isdigit() and 0 <= int(text) < len(options):
            return options[int(text)]
        for option in options:
            if option.upper() == text.upper():
                return option
        return None

    def checkValueIsAcceptable(self, value, context=None):  # noqa: N802 (QGIS API name)
        if value in (None, ""):
            return bool(self.flags() & self.FlagOptional) or self.defaultValue() is not None
        return self.value_name(value, self._options, None) is not None


class ModelFile(QgsProcessingParameterFile):
    """A file chooser for a model card (.json) or an ONNX file that also accepts a shipped card's id
    (`MODEL=ukis_csmask_6b_l2a`); QGIS's file parameter refuses any value without a file extension."""

    def __init__(self, name, description):
        super().__init__(name, description, QgsProcessingParameterFile.File, "", None, True,
                         "Model card or ONNX (*.json *.onnx)")

    def clone(self):
        copy = ModelFile(self.name(), self.description())
        copy.setFlags(self.flags())
        return copy

    def checkValueIsAcceptable(self, value, context=None):  # noqa: N802 (QGIS API name)
        return value is None or isinstance(value, str)  # checked, with a clear message, when the card is resolved
