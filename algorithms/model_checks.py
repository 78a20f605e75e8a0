"""Checks of a shipped model's parameters for all its steps, run before its first step writes anything.

Without them, a bad window size or a band-count mismatch would show only at the last step, after the mask and
reclassification had run; and an output path equal to an input would be found only by the step that writes it.
The checks themselves are the core's (`core.remove_clouds.check_remove_clouds`, also used by the Python API).
"""

from .core import remove_clouds
from .core.onnx_model import import_onnxruntime
from .core.progress import InputError
from .core.slra_raster import DEFAULT_BUFFER, DEFAULT_WINDOW
from .parameters import optional_number, raster_path

OUTPUTS = {"mask:cloud_classes": "cloud_classes", "reclassify:cloud_mask": "cloud_mask",
           "fill:cloud_free": "cloud_free"}


def _source(model, parameters, name, context):
    path = raster_path(model, parameters, name, context)
    if path is None:
        raise InputError(f"The model input '{name}' is not a raster that QGIS can open: {parameters.get(name)!r}.")
    return path


def check_remove_clouds(model, parameters, context, outputs):
    """InputError for the first problem of any step of remove_clouds.model3; outputs: {output name: final path}."""
    cloudy = _source(model, parameters, "cloudy_image", context)
    replacement = _source(model, parameters, "replacement_image", context)
    remove_clouds.check_remove_clouds(
        cloudy, replacement, {OUTPUTS.get(name, name): path for name, path in outputs.items()},
        level=remove_clouds.LEVELS[model.parameterAsEnum(parameters, "product_level", context)],
        scale=optional_number(model, parameters, "reflectance_scale", context),
        offset=optional_number(model, parameters, "reflectance_offset", context),
        window_size=optional_number(model, parameters, "window_size", context, DEFAULT_WINDOW, integer=True),
        buffer=optional_number(model, parameters, "buffer", context, DEFAULT_BUFFER, integer=True))
    import_onnxruntime()  # missing: its install command once, before step 1, not again from the step
