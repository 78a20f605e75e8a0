"""What a fill keeps between its passes: the region to fill, read window by window, and a sparse scratch store of
the filled values with the pass (replacement date) that filled each pixel."""

import math
import os
import shutil
import tempfile

import numpy as np
from osgeo import gdal, gdal_array
from scipy import ndimage

from .raster_io import Window, band_nodata, nodata_mask, read_large, read_window_bands
from .staging import SCRATCH_PREFIX, private_dir


def valid_pixels(arr, nodata):
    """Where a band holds data: not NaN and not the declared nodata (zero is a value)."""
    return ~nodata_mask(arr, nodata)


def to_dtype(values, dtype, nodata):
    """Filled values as `dtype`: rounded and clipped for integers; never equal to nodata (moved one step)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        v = np.clip(np.rint(values), info.min, info.max)
        if nodata is not None and float(nodata).is_integer() and info.min <= nodata <= info.max:
            v[v == nodata] = nodata + 1 if nodata < info.max else nodata - 1
        return v.astype(dtype)
    v = values.astype(dtype)
    if nodata is not None and not math.isnan(nodata):
        v[v == nodata] = np.nextafter(dtype.type(nodata), dtype.type(np.inf))
    return v


class MaskReader:
    """Masked pixels of any window of a mask raster (aligned to the input): non-zero (or one of `classes`) and not
    nodata, inside the mask's extent (`alpha` band of a warped VRT), grown by `buffer` pixels (a square)."""

    def __init__(self, ds, band, alpha, buffer, width, height, classes=None):
        self.ds, self.band, self.alpha, self.buffer = ds, band, alpha, int(buffer)
        self.nodata = band_nodata(ds, band)
        self.classes = None if classes is None else np.asarray(sorted(classes))
        self.width, self.height = width, height
        self.covered = None  # pixels with mask data, counted while set to a number

    def read(self, window):
        outer = window.grow(self.buffer, self.width, self.height)
        m = read_large(self.ds, self.band, outer)
        valid = valid_pixels(m, self.nodata)
        if self.alpha:
            valid &= read_large(self.ds, self.alpha, outer) > 0
        if self.covered is not None:
            self.covered += int(np.count_nonzero(valid[window.inner_slices(outer)]))
        masked = valid & (m != 0 if self.classes is None else np.isin(m, self.classes))
        if self.buffer:
            masked = ndimage.maximum_filter(masked.view(np.uint8), size=2 * self.buffer + 1).view(bool)
        return masked[window.inner_slices(outer)]


class Region:
    """The pixels still to fill in a window: the target's mask (and, optionally, its nodata pixels) minus what
    earlier passes filled in every band."""

    def __init__(self, mask, src, nodata, fill_nodata, scratch=None):
        self.mask, self.src, self.nodata, self.fill_nodata = mask, src, nodata, fill_nodata
        self.scratch = scratch
        self.width, self.height = src.RasterXSize, src.RasterYSize

    @property
    def covered(self):
        return None if self.mask is None else self.mask.covered

    def base(self, window):
        """The whole fill region (all passes) of a window."""
        region = np.zeros((window.h, window.w), bool) if self.mask is None else self.mask.read(window)
        if self.fill_nodata:
            missing = np.ones((window.h, window.w), bool)
            for b, nd in enumerate(self.nodata, start=1):
                missing &= ~valid_pixels(read_large(self.src, b, window), nd)
            region |= missing
        return region

    def read(self, window, before=None):
        """The pixels of a window still to fill; `before`: as at the start of that pass (what later passes, or
        the other groups of that pass, filled still counts as to fill)."""
        region = self.base(window)
        if self.scratch is not None and region.any():
            region &= ~self.scratch.filled(window, before)
        return region


class Scratch:
    """Sparse uncompressed GeoTIFFs holding the filled values until the merge.

    With one slot: the value of each pixel and band and, in `flags`, the pass (1, 2, ...) that filled it (0: not
    filled). With `slots` > 1 (a multi-date fill combining several dates): up to `slots` values per pixel and band,
    one file per slot (in the working precision: the caller converts the median), and in `flags` how many are
    held; `get` gives their median (float64).
    """

    def __init__(self, width, height, bands, dtype, folder=None, slots=1):
        self.dir = private_dir(folder or tempfile.gettempdir(), prefix=SCRATCH_PREFIX, suffix="")
        self.slots = int(slots)
        opts = ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "SPARSE_OK=TRUE", "BIGTIFF=YES"]
        drv = gdal.GetDriverByName("GTiff")
        gtype = gdal_array.NumericTypeCodeToGDALTypeCode(np.dtype(dtype))
        self.slot_values = [drv.Create(os.path.join(self.dir, f"values{j}.tif"), width, height, bands, gtype, opts)
                            for j in range(self.slots)]
        self.values = self.slot_values[0]
        self.flags = drv.Create(os.path.join(self.dir, "flags.tif"), width, height, bands, gdal.GDT_Byte, opts)

    def put(self, band, window, rows, cols, values, flag=1, strip_pixels=1 << 24):
        """Store values at (rows, cols) relative to window for a 1-based band: marked as filled by pass `flag`
        (one slot), or added as one more value (several slots; pixels already holding `slots` values are left).

        Only the rows the pixels span are touched, in strips of about `strip_pixels` pixels, each read, updated,
        written and flushed before the next: a group spanning the scene adds a strip to memory, not its window.
        """
        if rows.size == 0:
            return
        x0, x1 = int(cols.min()), int(cols.max()) + 1
        r0, r1 = int(rows.min()), int(rows.max()) + 1
        step = max(256, strip_pixels // max(x1 - x0, 1) // 256 * 256)
        for y in range(r0, r1, step):
            sel = np.flatnonzero((rows >= y) & (rows < y + step)) if r1 - r0 > step else slice(None)
            part = Window(window.x + x0, window.y + y, x1 - x0, min(step, r1 - y))
            self._put_strip(band, part, rows[sel] - y, cols[sel] - x0, values[sel], flag)

    def _put_strip(self, band, window, rows, cols, values, flag):
        if rows.size == 0:
            return
        fb = self.flags.GetRasterBand(band)
        f = fb.ReadAsArray(window.x, window.y, window.w, window.h)
        held = f[rows, cols] if self.slots > 1 else np.zeros(rows.size, np.uint8)
        for j, ds in enumerate(self.slot_values):
            sel = held == j
            if not sel.any():
                continue
            vb = ds.GetRasterBand(band)
            v = vb.ReadAsArray(window.x, window.y, window.w, window.h)
            v[rows[sel], cols[sel]] = values[sel]
            vb.WriteArray(v, window.x, window.y)
            ds.FlushCache()   # hand the written blocks to disk rather than hold them in GDAL's cache
        f[rows, cols] = np.minimum(held + 1, self.slots) if self.slots > 1 else flag
        fb.WriteArray(f, window.x, window.y)
        self.flags.FlushCache()

    def get(self, window):
        """(values, flags) of all bands in a window, each (bands, h, w); flags hold the pass (0 = not filled), or,
        with several slots, the number of values, whose per-band median is returned."""
        f = self._all_bands(self.flags, window)
        if self.slots == 1:
            return self._all_bands(self.values, window), f
        stack = np.stack([self._all_bands(ds, window) for ds in self.slot_values]).astype(np.float64)
        stack[np.arange(self.slots)[:, None, None, None] >= f[None]] = np.nan
        out = np.zeros(f.shape)
        has = f > 0
        if has.any():
            out[has] = np.nanmedian(stack[:, has], axis=0)
        return out, f

    def band(self, band, window):
        """(values, flags) of one band in a window (one slot)."""
        return read_large(self.values, band, window), read_large(self.flags, band, window)

    def filled(self, window, before=None):
        """Pixels of a window that need no further pass: filled in every band (one slot), or holding `slots`
        values in every band. `before` (one slot): filled in every band by passes before that one only."""
        f = self._all_bands(self.flags, window)
        if self.slots > 1:
            return (f >= self.slots).all(axis=0)
        return self.filled_before(f, before).all(axis=0)

    @staticmethod
    def filled_before(flags, before=None):
        """Where one-slot `flags` (the pass that filled each pixel, 0: none) say filled, by a pass before `before`
        only when given: the state at the start of that pass."""
        return (flags > 0) & (flags < before) if before is not None else flags > 0

    def missing(self, window):
        """Pixels of a window without a value in some band."""
        return ~(self._all_bands(self.flags, window) > 0).all(axis=0)

    @staticmethod
    def _all_bands(ds, window):
        """All bands of a window of a scratch file, (bands, h, w). read_window_bands drops the blocks from GDAL's
        cache after each strip: the merge reads every block once, and the process-wide cache (5 % of RAM by
        default) would otherwise fill with them on top of the fill's own memory (read_large does the same for
        one band)."""
        return read_window_bands(ds, range(1, ds.RasterCount + 1), window)

    def close(self):
        self.values = self.flags = None
        self.slot_values = []
        shutil.rmtree(self.dir, ignore_errors=True)
