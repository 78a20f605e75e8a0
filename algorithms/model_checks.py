"""Checks of a shipped model's parameters for all its steps, run before its first step writes anything.

Without them, a bad window size or a band-count mismatch would show only at the last step, after the mask and
reclassification had run; and an output path equal to an input would be found only by the step that writes it.
"""

from .core.cloud_mask import plan_cloud_mask
from .core.onnx_model import import_onnxruntime
from .core.progress import InputError
from .core.raster_formats import check_outputs
from .core.raster_io import numpy_dtype, open_raster
from .core.slra_raster import DEFAULT_BUFFER, DEFAULT_WINDOW, check_parameters
from .generate_cloud_mask import GenerateCloudMask
from .parameters import optional_number, raster_path

LEVELS = ("L1C", "L2A")


def _source(model, parameters, name, context):
    path = raster_path(model, parameters, name, context)
    if path is None:
        raise InputError(f"The model input '{name}' is not a raster that QGIS can open: {parameters.get(name)!r}.")
    return path


def check_remove_clouds(model, parameters, context, outputs):
    """InputError for the first problem of any step of remove_clouds.model3; outputs: {output name: final path}."""
    cloudy = _source(model, parameters, "cloudy_image", context)
    replacement = _source(model, parameters, "replacement_image", context)
    inputs = {"cloudy image": cloudy, "replacement image": replacement}
    labels = {"mask:cloud_classes": "cloud classes output", "reclassify:cloud_mask": "cloud mask output",
              "fill:cloud_free": "cloud-free output"}
    named = {labels.get(name, name): path for name, path in outputs.items()}
    src, rep = open_raster(cloudy, "cloudy image"), open_raster(replacement, "replacement image")
    if rep.RasterCount != src.RasterCount:
        raise InputError(f"The replacement image has {rep.RasterCount} band(s) but the cloudy image has "
                         f"{src.RasterCount}: they must have the same bands in the same order.")
    free = labels["fill:cloud_free"]
    check_outputs(named, inputs, {free: src.RasterCount}, {free: numpy_dtype(src, 1)})
    check_parameters(optional_number(model, parameters, "window_size", context, DEFAULT_WINDOW, integer=True),
                     optional_number(model, parameters, "buffer", context, DEFAULT_BUFFER, integer=True),
                     src.RasterXSize, src.RasterYSize)
    level = LEVELS[model.parameterAsEnum(parameters, "product_level", context)]
    # the mask step's own plan: band mapping, model card and weights, scale; it writes nothing
    plan_cloud_mask(cloudy, named.get("cloud classes output") or "check.tif", level=level,
                    scale=optional_number(model, parameters, "reflectance_scale", context),
                    offset=optional_number(model, parameters, "reflectance_offset", context),
                    resolution_m=GenerateCloudMask.DEFAULT_RESOLUTION)
    import_onnxruntime()  # missing: its install command once, before step 1, not again from the step
