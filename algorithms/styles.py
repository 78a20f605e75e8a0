"""How the outputs look when Processing loads them into the project (Toolbox, shipped model, runAndLoadResults).

GDAL's GeoTIFF colour table always has 256 entries for a byte band, and QGIS lists every entry in the legend
("3", "4", ... "255" in black). A layer post-processor, which Processing calls on each layer it loads, replaces
that with exactly the raster's named classes; probabilities get a colour ramp over 0-100 %; a filled image gets
the rendering (bands and stretch) of the image it was filled from, so before and after compare directly.
"""

from osgeo import gdal
from qgis.core import (
    Qgis,
    QgsColorRampShader,
    QgsGradientColorRamp,
    QgsMessageLog,
    QgsPalettedRasterRenderer,
    QgsProcessingLayerPostProcessorInterface,
    QgsProject,
    QgsRasterLayer,
    QgsRasterShader,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.PyQt.QtGui import QColor

# Processing keeps only a pointer to a post-processor: Python must keep the object alive until the layer is loaded
# (as QGIS's own Python algorithms do); one per output path, replaced by the next run to the same path
_ALIVE = {}

PROBABILITY_RAMP = ["#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#d7191c"]  # 0 % (clear) .. 100 % (cloud)


def named_classes(path, band=1):
    """[(value, (r, g, b, a), name)] for the values of the raster's colour table that have a category name."""
    ds = gdal.OpenEx(str(path), gdal.OF_RASTER)
    if ds is None:
        return []
    b = ds.GetRasterBand(band)
    table, names = b.GetColorTable(), b.GetCategoryNames() or []
    if table is None:
        return []
    return [(value, table.GetColorEntry(value), name) for value, name in enumerate(names)
            if name and value < table.GetCount()]


def class_renderer(layer):
    """A paletted renderer with one entry per named class of the layer's first band, or None."""
    classes = [QgsPalettedRasterRenderer.Class(value, QColor(*rgba), name)
               for value, rgba, name in named_classes(layer.source())]
    if not classes:
        return None
    return QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes)


def probability_renderer(layer, maximum=100.0):
    """A pseudocolour renderer over 0..maximum (blue clear to red cloud), labelled in %."""
    shader_function = QgsColorRampShader(0.0, maximum)
    shader_function.setColorRampType(QgsColorRampShader.Interpolated)
    steps = len(PROBABILITY_RAMP) - 1
    shader_function.setColorRampItemList([
        QgsColorRampShader.ColorRampItem(maximum * i / steps, QColor(c), f"{maximum * i / steps:g} %")
        for i, c in enumerate(PROBABILITY_RAMP)])
    shader_function.setSourceColorRamp(QgsGradientColorRamp(QColor(PROBABILITY_RAMP[0]),
                                                            QColor(PROBABILITY_RAMP[-1])))
    shader = QgsRasterShader(0.0, maximum)
    shader.setRasterShaderFunction(shader_function)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(0.0)
    renderer.setClassificationMax(maximum)
    return renderer


def renderer_like(source):
    """A copy of the renderer the source image has in the project, or QGIS's default one for the file."""
    for layer in QgsProject.instance().mapLayers().values():
        if isinstance(layer, QgsRasterLayer) and layer.source() == source and layer.renderer() is not None:
            return layer.renderer().clone()
    layer = QgsRasterLayer(source, "source", "gdal")
    return layer.renderer().clone() if layer.isValid() and layer.renderer() is not None else None


class OutputStyle(QgsProcessingLayerPostProcessorInterface):
    """Sets a layer's renderer when Processing loads it: kind "classes", "probability" or "like" (the renderer of
    the raster `source`)."""

    def __init__(self, kind, source=None):
        super().__init__()
        self.kind, self.source = kind, source

    def renderer(self, layer):
        if self.kind == "classes":
            return class_renderer(layer)
        if self.kind == "probability":
            return probability_renderer(layer)
        if self.kind == "like" and self.source:
            return renderer_like(self.source)
        return None

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 (QGIS API name)
        if not isinstance(layer, QgsRasterLayer):
            return
        try:
            renderer = self.renderer(layer)
        except Exception as err:  # noqa: BLE001 (a style must never fail a finished run)
            QgsMessageLog.logMessage(f"Cloud Removal: could not style {layer.source()}: {err}", "Processing",
                                     Qgis.Warning)
            return
        if renderer is not None:
            layer.setRenderer(renderer)
            layer.triggerRepaint()


def style_output(context, path, kind, source=None):
    """Style the output at `path` when Processing loads it into the project (nothing if it will not be loaded)."""
    if not path or not context.willLoadLayerOnCompletion(path):
        return
    style = OutputStyle(kind, source)
    _ALIVE[path] = style
    context.layerToLoadOnCompletionDetails(path).setPostProcessor(style)
