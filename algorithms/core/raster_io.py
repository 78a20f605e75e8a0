"""Block-wise raster reading with GDAL: windows aligned to the source's blocks, optional halo."""

import os
from dataclasses import dataclass

import numpy as np
from osgeo import gdal

from .gdal_env import gdal_scoped
from .progress import InputError

# Target size of one processing block, in pixels per band; blocks are whole multiples of the source block.
DEFAULT_BLOCK_PIXELS = 1024 * 1024


@dataclass(frozen=True)
class Window:
    """A pixel window: column/row offset and size."""

    x: int
    y: int
    w: int
    h: int

    def grow(self, halo, width, height):
        """This window grown by `halo` pixels on each side, clipped to a width x height raster."""
        x0 = max(self.x - halo, 0)
        y0 = max(self.y - halo, 0)
        x1 = min(self.x + self.w + halo, width)
        y1 = min(self.y + self.h + halo, height)
        return Window(x0, y0, x1 - x0, y1 - y0)

    def inner_slices(self, outer):
        """Slices that cut this window out of an array read for the larger window `outer`."""
        dy, dx = self.y - outer.y, self.x - outer.x
        return slice(dy, dy + self.h), slice(dx, dx + self.w)


@gdal_scoped
def open_raster(path, what="input raster"):
    """Open a raster read-only, with a message naming `what` when it cannot be read."""
    if not path:
        raise InputError(f"No {what} was given.")
    try:
        ds = gdal.Open(str(path), gdal.GA_ReadOnly)
    except RuntimeError as err:
        raise InputError(f"Cannot open the {what} '{path}': {err}") from None
    if ds is None or ds.RasterCount == 0:
        raise InputError(f"The {what} '{path}' has no raster bands.")
    return ds


def band_nodata(ds, band):
    """The declared nodata of a 1-based band, or None."""
    return ds.GetRasterBand(band).GetNoDataValue()


def numpy_dtype(ds, band=1):
    """The numpy dtype of a 1-based band."""
    from osgeo import gdal_array

    return np.dtype(gdal_array.GDALTypeCodeToNumericTypeCode(ds.GetRasterBand(band).DataType))


def check_band(ds, band, what="input raster"):
    """Raise InputError unless `band` is a valid 1-based band number of `ds`."""
    if band is None or band < 1 or band > ds.RasterCount:
        raise InputError(f"Band {band} does not exist in the {what}: it has {ds.RasterCount} band(s); "
                         f"choose a band from 1 to {ds.RasterCount}.")


def block_windows(width, height, block_w=None, block_h=None, target_pixels=DEFAULT_BLOCK_PIXELS):
    """Windows tiling a width x height raster, each a whole number of (block_w x block_h) source blocks.

    Strips (block_w == width) are grouped into bands of rows; tiles into squares of about target_pixels.
    """
    block_w = max(1, min(block_w or width, width))
    block_h = max(1, min(block_h or 1, height))
    if block_w >= width:
        rows = max(block_h, (target_pixels // max(width, 1)) // block_h * block_h)
        step_x, step_y = width, rows
    else:
        side = max(1, int((target_pixels ** 0.5) // max(block_w, block_h)))
        step_x, step_y = block_w * side, block_h * side
    step_y = max(1, min(step_y, height))
    step_x = max(1, min(step_x, width))
    for y in range(0, height, step_y):
        for x in range(0, width, step_x):
            yield Window(x, y, min(step_x, width - x), min(step_y, height - y))


def source_windows(ds, band=1, target_pixels=DEFAULT_BLOCK_PIXELS):
    """Processing windows for a dataset, aligned to the natural block size of `band`."""
    bw, bh = ds.GetRasterBand(band).GetBlockSize()
    return list(block_windows(ds.RasterXSize, ds.RasterYSize, bw, bh, target_pixels))


def _read_or_fail(read, ds, what, window, **options):
    """The array `read(x, y, w, h, **options)` returns for the window; InputError naming the file, `what` and the
    window when GDAL fails or gives none."""
    try:
        arr = read(window.x, window.y, window.w, window.h, **options)
    except RuntimeError as err:
        arr, detail = None, f": {err}"
    else:
        detail = ""
    if arr is None:
        raise InputError(f"Cannot read {what} of '{ds.GetDescription()}' (columns {window.x}-"
                         f"{window.x + window.w}, rows {window.y}-{window.y + window.h}){detail}. The file may be "
                         "truncated or damaged; check it with gdalinfo -checksum.")
    return arr


def read_window(ds, band, window, dtype=None):
    """Read one band's window as a 2-D array (optionally converted to dtype).

    A window that reaches the right edge ends a row of blocks: the dataset's cached blocks are then dropped,
    since each is read once, and GDAL's cache would otherwise grow towards the scene's size.
    """
    arr = _read_or_fail(ds.GetRasterBand(band).ReadAsArray, ds, f"band {band}", window)
    if window.x + window.w >= ds.RasterXSize:
        ds.FlushCache()
    return arr if dtype is None else arr.astype(dtype, copy=False)


def read_large(ds, band, window):
    """Read one band of a possibly large window strip by strip (read_window_bands), dropping the dataset's cached
    blocks after each strip, so the read adds only its result to memory (GDAL's block cache, process-wide and 5 %
    of RAM by default, is never resized)."""
    return read_window_bands(ds, [band], window)[0]


def read_window_bands(ds, bands, window, dtype=None, values=1 << 22, out=None):
    """Read several 1-based bands of a window into a (bands, h, w) array, one dataset read per strip of about
    `values` pixel values; into `out` (any (bands, h, w) array or view, of the bands' type) when given, with no
    copy.

    One read for all bands decompresses each block of a pixel-interleaved file once (band by band, each band's
    read decompresses every block again once GDAL's cache is dropped); the cache is dropped after each strip.
    """
    bands = [int(b) for b in bands]
    rows = max(256, values // max(window.w * len(bands), 1))
    given = out is not None
    for y in range(window.y, window.y + window.h, rows):
        part = Window(window.x, y, window.w, min(rows, window.y + window.h - y))
        into = out[:, y - window.y:y - window.y + part.h] if given else None
        try:
            arr = _read_or_fail(ds.ReadAsArray, ds, f"bands {bands}", part, band_list=bands, buf_obj=into)
        finally:
            ds.FlushCache()
        if not given:
            arr = arr.reshape(len(bands), part.h, part.w)
            if out is None:
                out = np.empty((len(bands), window.h, window.w), arr.dtype if dtype is None else dtype)
            out[:, y - window.y:y - window.y + part.h] = arr
    return out


def same_path(a, b):
    """True when two paths name the same file (used to refuse writing over an input)."""
    try:
        return os.path.realpath(str(a)) == os.path.realpath(str(b))
    except (TypeError, ValueError):
        return False


def nodata_mask(values, nodata):
    """True where `values` equal the nodata value; NaN counts as nodata for float arrays."""
    values = np.asarray(values)
    isnan = np.isnan(values) if values.dtype.kind == "f" else None
    if nodata is None or (isinstance(nodata, float) and np.isnan(nodata)):
        return isnan if isnan is not None else np.zeros(values.shape, dtype=bool)
    hit = values == nodata
    return hit | isnan if isnan is not None else hit
