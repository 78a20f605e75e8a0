"""The whole workflow on files: Generate Cloud Mask -> Reclassify Cloud Types -> SLRA, as the shipped Remove Clouds
model chains them, without QGIS.

`check_remove_clouds` makes every step's checks before the first step writes anything (the shipped model calls it
too); `run_remove_clouds` runs the steps with the same parameters the model gives them. The class raster and the
0/1 mask go to a private scratch folder unless asked for; every output asked for is staged beside its destination
and moved into place only when the last step succeeded, so a failure or cancel leaves none of them.
"""

import os
import shutil
import tempfile
from dataclasses import dataclass

from .cloud_mask import plan_cloud_mask, run_cloud_mask
from .gdal_env import gdal_scoped
from .progress import NULL_PROGRESS, InputError
from .raster_formats import check_outputs
from .raster_io import numpy_dtype, open_raster
from .reclassify import reclassify_raster
from .remap import remap_from
from .slra_raster import DEFAULT_BUFFER, DEFAULT_WINDOW, check_parameters, run_slra
from .staging import SCRATCH_PREFIX, Staging, private_dir

LEVELS = ("L1C", "L2A")
CLASSES = ("Clouds", "Clouds and cloud shadows")
MASK_RESOLUTION_M = 20.0  # Generate Cloud Mask's default, which the model keeps
OUTPUT_LABELS = {"cloud_classes": "cloud classes output", "cloud_mask": "cloud mask output",
                 "cloud_free": "cloud-free output"}


def product_level(value):
    """'L1C' or 'L2A' from a name or the model's enum index (0 / 1)."""
    text = str(value if value is not None else 0).strip().upper()
    if text.isdigit() and int(text) < len(LEVELS):
        return LEVELS[int(text)]
    if text in LEVELS:
        return text
    raise InputError(f"product_level must be 0 / 'L1C' or 1 / 'L2A', not {value!r}.")


def classes_remap(classes_to_remove, fill_nodata):
    """The model's remap string: class 1 (cloud), and 2 (shadow) when `classes_to_remove` is 1; NODATA too when
    `fill_nodata` (the expression in tools/build_remove_clouds_model.py, for the same outputs)."""
    if str(classes_to_remove) not in ("0", "1"):
        raise InputError(f"classes_to_remove must be 0 (clouds) or 1 (clouds and cloud shadows), not "
                         f"{classes_to_remove!r}.")
    return ("1 1;2 0" if int(classes_to_remove) == 0 else "1 1;2 1") + (";NODATA 1" if fill_nodata else "")


@gdal_scoped
def check_remove_clouds(cloudy, replacement, outputs, level="L1C", scale=None, offset=None,
                        window_size=DEFAULT_WINDOW, buffer=DEFAULT_BUFFER):
    """InputError for the first problem of any step; outputs: {"cloud_classes" / "cloud_mask" / "cloud_free": path
    or None}. Returns the mask step's plan (it writes nothing)."""
    named = {OUTPUT_LABELS.get(name, name): path for name, path in outputs.items() if path}
    src, rep = open_raster(cloudy, "cloudy image"), open_raster(replacement, "replacement image")
    if rep.RasterCount != src.RasterCount:
        raise InputError(f"The replacement image has {rep.RasterCount} band(s) but the cloudy image has "
                         f"{src.RasterCount}: they must have the same bands in the same order.")
    free = OUTPUT_LABELS["cloud_free"]
    check_outputs(named, {"cloudy image": cloudy, "replacement image": replacement},
                  {free: src.RasterCount}, {free: numpy_dtype(src, 1)})
    check_parameters(window_size, buffer, src.RasterXSize, src.RasterYSize)
    return plan_cloud_mask(cloudy, named.get(OUTPUT_LABELS["cloud_classes"]) or "check.tif", level=level,
                           scale=scale, offset=offset, resolution_m=MASK_RESOLUTION_M)


@gdal_scoped
@dataclass
class ChainOptions:
    """The parameters the shipped model gives its steps, with its defaults: the mask's level, scale, offset; the
    threads of the job (onnxruntime threads and bands filled at once; 0 = all cores); the classes removed (0 clouds,
    1 clouds and shadows) and whether nodata pixels are filled too; the fill's window and buffer."""

    level: str = "L1C"
    scale: float = None
    offset: float = None
    classes_to_remove: int = 1
    fill_nodata: bool = False
    window_size: int = DEFAULT_WINDOW
    buffer: int = DEFAULT_BUFFER
    threads: int = 0


def run_remove_clouds(cloudy, replacement, outputs, progress=NULL_PROGRESS, **options):
    """Mask, reclassify and fill one scene; returns {"classes": counts, "fill": the fill's summary}.

    `outputs` as in `check_remove_clouds` ("cloud_free" required); `options`: the fields of ChainOptions (an unknown
    name raises TypeError).
    """
    o = ChainOptions(**options)
    level, scale, offset, window_size, buffer = o.level, o.scale, o.offset, o.window_size, o.buffer
    if not outputs.get("cloud_free"):
        raise InputError("No output file was given for the cloud-free image.")
    remap, _ = remap_from(classes_remap(o.classes_to_remove, o.fill_nodata))
    check_remove_clouds(cloudy, replacement, outputs, level, scale, offset, window_size, buffer)
    staged = {}
    scratch = private_dir(tempfile.gettempdir(), prefix=SCRATCH_PREFIX, suffix="")
    try:
        for name in ("cloud_classes", "cloud_mask", "cloud_free"):
            staged[name] = Staging(outputs[name]) if outputs.get(name) else None
        path = {name: s.staged if s else os.path.join(scratch, f"{name}.tif") for name, s in staged.items()}
        plan = plan_cloud_mask(cloudy, path["cloud_classes"], level=level, scale=scale, offset=offset,
                               resolution_m=MASK_RESOLUTION_M, threads=o.threads)
        counts = run_cloud_mask(plan, path["cloud_classes"], None, progress.sub(0.0, 0.4))
        reclassify_raster(path["cloud_classes"], 1, remap, path["cloud_mask"], progress=progress.sub(0.4, 0.5))
        summary = run_slra(cloudy, replacement, path["cloud_mask"], path["cloud_free"], window_size=window_size,
                           buffer=buffer, progress=progress.sub(0.5, 1.0), threads=o.threads)
        for name in ("cloud_classes", "cloud_mask", "cloud_free"):  # the cloud-free image last
            if staged[name] is not None:
                staged[name].commit()
        return {"classes": counts, "fill": summary}
    finally:
        for s in staged.values():
            if s is not None:
                s.abort()
        shutil.rmtree(scratch, ignore_errors=True)
