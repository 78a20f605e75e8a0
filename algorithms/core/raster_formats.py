"""Which output formats the plugin writes, and the checks made on an output path before any work starts.

Only formats that store every value exactly, with georeferencing, are offered; each is tested end to end
(tests/core/test_output_formats.py). Lossy formats (JPEG, WebP, JPEG 2000) would change reflectance and class
values, and a VRT only points at other files, so they are refused with the list of supported extensions.
"""

import os
import tempfile

import numpy as np
from osgeo import gdal

from .progress import InputError
from .raster_io import same_path

# extension -> (GDAL driver, most bands it stores or None)
FORMATS = {
    "tif": ("GTiff", None),
    "tiff": ("GTiff", None),
    "img": ("HFA", None),
    "bil": ("EHdr", None),
    "sdat": ("SAGA", 1),
    "asc": ("AAIGrid", 1),
    "png": ("PNG", 4),
}
REFUSED = {
    "vrt": "a VRT only references other files, and the data written would be deleted",
    "jpg": "JPEG is lossy and would change the values", "jpeg": "JPEG is lossy and would change the values",
    "jp2": "JPEG 2000 is lossy by default", "webp": "WebP is lossy by default",
}


def supported_extensions():
    """The extensions accepted for outputs, for messages."""
    return ", ".join("." + e for e in FORMATS)


def output_driver(path, bands=1, dtype=np.uint8):
    """The GDAL driver for an output path, or InputError when the format cannot store this raster exactly."""
    ext = os.path.splitext(str(path))[1].lower().lstrip(".")
    if ext == "":
        ext = "tif"
    if ext not in FORMATS:
        why = REFUSED.get(ext, "it is not one of the formats the plugin writes")
        raise InputError(f"Cannot write '{path}': {why}. Choose one of {supported_extensions()} "
                         "(.tif is recommended: tiled, compressed GeoTIFF).")
    driver, max_bands = FORMATS[ext]
    drv = gdal.GetDriverByName(driver)
    if drv is None:
        raise InputError(f"Cannot write '{path}': this GDAL has no {driver} driver. Use .tif.")
    if max_bands is not None and bands > max_bands:
        raise InputError(f"Cannot write '{path}': the {driver} format (.{ext}) stores at most {max_bands} band(s) "
                         f"and this output has {bands}. Use .tif.")
    from osgeo import gdal_array

    gdal_type = gdal_array.NumericTypeCodeToGDALTypeCode(np.dtype(dtype))
    allowed = (drv.GetMetadataItem("DMD_CREATIONDATATYPES") or "").split()
    name = gdal.GetDataTypeName(gdal_type) if gdal_type else str(dtype)
    if driver != "GTiff" and allowed and name not in allowed:
        raise InputError(f"Cannot write '{path}': the {driver} format (.{ext}) cannot store {name} values "
                         f"(it takes {', '.join(allowed)}). Use .tif.")
    return driver


def check_writable(path):
    """InputError unless a file can be created in the output's folder (created if missing)."""
    path = os.path.abspath(str(path))
    if os.path.isdir(path):
        raise InputError(f"The output '{path}' is a folder; give a file name such as '{path}/result.tif'.")
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".cloudremoval-probe-"):
            pass
    except OSError as err:
        raise InputError(f"Cannot write the output '{path}': its folder '{folder}' is not writable "
                         f"({err.strerror or err}). Choose another folder.") from None


def check_outputs(outputs, inputs=(), bands=None, dtypes=None):
    """Check every output path before any work: a supported format, a writable folder, different from every input
    and from each other. outputs / inputs: {label: path} (empty paths are skipped); bands / dtypes: {label: value}.
    """
    bands, dtypes = bands or {}, dtypes or {}
    given = {k: v for k, v in outputs.items() if v}
    labels = list(given)
    for i, label in enumerate(labels):
        path = given[label]
        for what, other in inputs.items():
            if other and same_path(path, other):
                raise InputError(f"The {label} '{path}' would overwrite the {what} '{other}'; inputs are never "
                                 "modified. Choose another output file name.")
        for other_label in labels[:i]:
            if same_path(path, given[other_label]):
                raise InputError(f"The {label} and the {other_label} are the same file '{path}'; give them "
                                 "different names.")
        output_driver(path, bands.get(label, 1), dtypes.get(label, np.uint8))
        check_writable(path)
