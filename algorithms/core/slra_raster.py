"""Stepwise Local Radiometric Adjustment on raster files, block-wise and in bounded memory.

Pass 1 finds the fill region from the mask strip by strip and groups it into regions whose windows cannot
interact; each group is filled on its own bounding box plus the window margin (results kept in a sparse scratch
file); pass 2 copies the input block by block, bit for bit, taking the filled pixels from the scratch file.
"""

import math
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
from osgeo import gdal
from scipy import ndimage

from . import slra
from .align import align_to
from .gdal_env import gdal_scoped
from .progress import NULL_PROGRESS, Cancelled, InputError, Progress
from .raster_formats import check_outputs
from .raster_io import (
    DEFAULT_BLOCK_PIXELS,
    Window,
    band_nodata,
    block_windows,
    check_band,
    numpy_dtype,
    open_raster,
    read_large,
    read_window,
)
from .raster_writer import TILE, writer_like
from .staging import SCRATCH_PREFIX, private_dir

DEFAULT_WINDOW = 80
DEFAULT_BUFFER = 2  # chosen by measurement: see tests/bench/bench_slra.py and the README
MAX_BUFFER = 15
CELL = 16        # side of the coarse cells used to group the fill region
PLAN_TILE = 128  # tile of the per-ring statistics (see slra.RingPlan)
MAX_WORKERS = 2  # bands filled in parallel (each holds one band of the group window) ...
PARALLEL_BYTES = 1 << 30  # ... while the band arrays of all workers stay under this


def check_parameters(window_size, buffer, width=None, height=None):
    """InputError unless WINDOW_SIZE is a positive multiple of 20 and BUFFER is in 0..15; with the image size, also
    unless the window is at most what covers the whole image from every pixel (larger ones only cost time)."""
    if window_size is None or int(window_size) != window_size or window_size < 20 or window_size % 20:
        raise InputError(f"WINDOW_SIZE must be a positive multiple of 20 pixels (20, 40, 60, 80, ...); "
                         f"got {window_size}.")
    if buffer is None or int(buffer) != buffer or not 0 <= buffer <= MAX_BUFFER:
        raise InputError(f"BUFFER must be a whole number of pixels from 0 to {MAX_BUFFER}; got {buffer}.")
    if width and height:
        largest = max_window(width, height)
        if window_size > largest:
            raise InputError(f"WINDOW_SIZE {window_size} is larger than this {width} x {height} image needs: a window "
                             f"of {largest} pixels already covers the whole image from every pixel, and larger ones "
                             f"only take longer. Use at most {largest} (the default is {DEFAULT_WINDOW}; ArcGIS's "
                             "default window corresponds to 160).")


def max_window(width, height):
    """The largest useful WINDOW_SIZE for an image: the multiple of 20 whose half covers its longest side."""
    return max(20, 20 * -(-2 * max(int(width), int(height)) // 20))


def valid_pixels(arr, nodata):
    """Where a band holds data: not NaN and not the declared nodata (zero is a value)."""
    ok = np.ones(arr.shape, bool)
    if arr.dtype.kind == "f":
        ok &= ~np.isnan(arr)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        ok &= arr != nodata
    return ok


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
    """The fill region of any window: mask non-zero, not nodata, inside the mask's extent, grown by BUFFER."""

    def __init__(self, ds, band, alpha, buffer, width, height):
        self.ds, self.band, self.alpha, self.buffer = ds, band, alpha, int(buffer)
        self.nodata = band_nodata(ds, band)
        self.width, self.height = width, height
        self.covered = None  # pixels with mask data, counted while set to a number (pass 1)

    def read(self, window):
        outer = window.grow(self.buffer, self.width, self.height)
        m = read_large(self.ds, self.band, outer)
        valid = valid_pixels(m, self.nodata)
        if self.alpha:
            valid &= read_large(self.ds, self.alpha, outer) > 0
        if self.covered is not None:
            self.covered += int(np.count_nonzero(valid[window.inner_slices(outer)]))
        fill = valid & (m != 0)
        if self.buffer:
            fill = ndimage.maximum_filter(fill.view(np.uint8), size=2 * self.buffer + 1).view(bool)
        return fill[window.inner_slices(outer)]


def find_groups(mask, cell, margin, progress, block_pixels):
    """Pass 1: coarse map of cells holding fill pixels, grouped so that pixels within `margin` share a group.

    Returns (fill pixel count, cell label map, list of (label, pixel Window of the group's cells)).
    """
    w, h = mask.width, mask.height
    ncy, ncx = -(-h // cell), -(-w // cell)
    cells = np.zeros((ncy, ncx), bool)
    rows = max(cell, (block_pixels // max(w, 1)) // cell * cell)
    n_fill = 0
    mask.covered = 0
    for y in range(0, h, rows):
        win = Window(0, y, w, min(rows, h - y))
        fill = mask.read(win)
        n_fill += int(np.count_nonzero(fill))
        ph, pw = -(-win.h // cell) * cell, ncx * cell
        padded = np.zeros((ph, pw), bool)
        padded[:win.h, :w] = fill
        cells[y // cell:y // cell + ph // cell] = padded.reshape(ph // cell, cell, ncx, cell).any(axis=(1, 3))
        progress.update((y + win.h) / h)
    covered, mask.covered = mask.covered, None
    if covered < w * h:
        progress.log(f"Warning: the mask covers only {100.0 * covered / (w * h):.1f} % of the input (the rest lies "
                     "outside the mask's extent or is nodata in it); pixels it does not cover are not filled.")
    if n_fill == 0:
        return 0, None, []
    reach = margin // cell + 1            # cell distance of two pixels at most `margin` apart
    r = -(-reach // 2)
    grown = ndimage.maximum_filter(cells.view(np.uint8), size=2 * r + 1).view(bool)
    labels, n = ndimage.label(grown, structure=np.ones((3, 3), bool))
    labels[~cells] = 0
    groups = []
    for lab, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None:
            continue
        y0, y1 = sl[0].start * cell, min(sl[0].stop * cell, h)
        x0, x1 = sl[1].start * cell, min(sl[1].stop * cell, w)
        groups.append((lab, Window(x0, y0, x1 - x0, y1 - y0)))
    return n_fill, labels, groups


class Scratch:
    """Sparse uncompressed GeoTIFFs holding filled values and a per-band 'take it' flag until pass 2."""

    def __init__(self, width, height, bands, dtype, folder=None):
        from osgeo import gdal_array

        self.dir = private_dir(folder or tempfile.gettempdir(), prefix=SCRATCH_PREFIX, suffix="")
        opts = ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "SPARSE_OK=TRUE", "BIGTIFF=YES"]
        drv = gdal.GetDriverByName("GTiff")
        gtype = gdal_array.NumericTypeCodeToGDALTypeCode(np.dtype(dtype))
        self.values = drv.Create(os.path.join(self.dir, "values.tif"), width, height, bands, gtype, opts)
        self.flags = drv.Create(os.path.join(self.dir, "flags.tif"), width, height, bands, gdal.GDT_Byte, opts)

    def put(self, band, window, rows, cols, values):
        """Store values at (rows, cols) relative to window for a 1-based band, keeping other pixels."""
        vb, fb = self.values.GetRasterBand(band), self.flags.GetRasterBand(band)
        v = vb.ReadAsArray(window.x, window.y, window.w, window.h)
        f = fb.ReadAsArray(window.x, window.y, window.w, window.h)
        v[rows, cols] = values
        f[rows, cols] = 1
        vb.WriteArray(v, window.x, window.y)
        fb.WriteArray(f, window.x, window.y)
        self.values.FlushCache()   # hand the written blocks to disk rather than hold them in GDAL's cache
        self.flags.FlushCache()

    def get(self, window):
        v = self.values.ReadAsArray(window.x, window.y, window.w, window.h)
        f = self.flags.ReadAsArray(window.x, window.y, window.w, window.h)
        return v.reshape((-1, window.h, window.w)), f.reshape((-1, window.h, window.w)).astype(bool)

    def close(self):
        self.values = self.flags = None
        shutil.rmtree(self.dir, ignore_errors=True)


def _work_dtype(dtype):
    """float32 holds every value of 8/16-bit integers and float32 exactly; wider types work in float64."""
    dtype = np.dtype(dtype)
    return np.float32 if dtype.itemsize <= 2 or dtype == np.float32 else np.float64


@gdal_scoped
def run_slra(input_path, replacement_path, mask_path, output_path, mask_band=1, window_size=DEFAULT_WINDOW,
             buffer=DEFAULT_BUFFER, residual_correction=True, ring_width=2, progress=NULL_PROGRESS,
             block_pixels=DEFAULT_BLOCK_PIXELS, min_common=slra.MIN_COMMON):
    """Fill the masked pixels of INPUT from REPLACEMENT (Li et al. 2019) and write OUTPUT; returns a summary dict.

    Everything is checked before any output is written; a failure or cancel leaves no output.
    """
    check_parameters(window_size, buffer)
    inputs = {"input raster": input_path, "replacement raster": replacement_path, "mask raster": mask_path}
    check_outputs({"output": output_path}, inputs)
    src = open_raster(input_path, "input raster")
    rep0 = open_raster(replacement_path, "replacement raster")
    msk0 = open_raster(mask_path, "mask raster")
    mask_band = 1 if mask_band is None else int(mask_band)
    check_band(msk0, mask_band, "mask raster")
    nb = src.RasterCount
    if rep0.RasterCount != nb:
        raise InputError(f"The replacement raster has {rep0.RasterCount} band(s) but the input has {nb}: "
                         "they must have the same bands in the same order.")
    dtype = numpy_dtype(src, 1)
    check_parameters(window_size, buffer, src.RasterXSize, src.RasterYSize)
    check_outputs({"output": output_path}, inputs, {"output": nb}, {"output": dtype})
    rep, rep_alpha = align_to(src, rep0, "bilinear", "replacement raster", progress)
    msk, msk_alpha = align_to(src, msk0, "near", "mask raster", progress)
    width, height = src.RasterXSize, src.RasterYSize
    work = _work_dtype(dtype)
    nodata = [band_nodata(src, b) for b in range(1, nb + 1)]
    rep_nodata = [band_nodata(rep, b) for b in range(1, nb + 1)]
    half = int(window_size) // 2
    margin = half * slra.WIDEN[-1]
    mask = MaskReader(msk, mask_band, msk_alpha, buffer, width, height)

    n_fill, labels, groups = find_groups(mask, CELL, margin, progress.sub(0.0, 0.1), block_pixels)
    total = width * height
    if n_fill == total:
        raise InputError("The mask (grown by BUFFER) covers every pixel of the input: there is no clear pixel to "
                         "estimate the adjustment from. Use a mask with clear pixels, or a smaller BUFFER.")
    summary = {"fill_pixels": n_fill, "groups": len(groups), "filled": 0, "widened": 0, "fallback": 0,
               "no_replacement": 0, "no_statistics": 0}
    if n_fill == 0:
        progress.log("Warning: the mask marks no pixel to fill; the output is a copy of the input.")
    else:
        progress.log(f"Fill region: {n_fill} pixels ({100.0 * n_fill / total:.2f} % of the image, mask grown by "
                     f"BUFFER={buffer}) in {len(groups)} independent group(s); windows of "
                     f"{2 * half + 1} x {2 * half + 1} pixels, rings {ring_width} pixels wide.")

    with writer_like(src, output_path, dtype=dtype, nodata=nodata) as out:
        scratch = Scratch(width, height, nb, dtype) if groups else None
        try:
            if groups:
                counts = np.bincount(labels.ravel())
                weights = np.array([float(counts[lab]) for lab, _ in groups])
                edges = 0.1 + 0.8 * np.concatenate(([0.0], np.cumsum(weights))) / weights.sum()
                for i, (lab, box) in enumerate(groups):
                    _fill_group(src, rep, rep_alpha, mask, labels, lab, box, margin, half, ring_width,
                                residual_correction, min_common, nodata, rep_nodata, dtype, work, scratch,
                                summary, progress.sub(edges[i], edges[i + 1]))
            _copy_merge(src, out, scratch, block_pixels, progress.sub(0.9, 1.0))
        finally:
            if scratch is not None:
                scratch.close()
    if n_fill:
        progress.log(_summary_line(summary, nb, any(nd is not None for nd in nodata)))
    return summary


def _summary_line(s, nb, has_nodata):
    parts = [f"filled {s['filled']} pixel-bands"]
    if s["widened"]:
        parts.append(f"{s['widened']} of them with a widened window (too few common pixels)")
    if s["fallback"]:
        parts.append(f"{s['fallback']} with the statistics of the whole region's surroundings")
    bad = s["no_replacement"] + s["no_statistics"]
    if bad:
        where = "set to nodata" if has_nodata else "left as in the input (no nodata value declared)"
        parts.append(f"{s['no_replacement']} where the replacement has no data and {s['no_statistics']} without "
                     f"any statistics: {where}")
    return "SLRA: " + "; ".join(parts) + f" ({nb} band(s))."


def _fill_group(src, rep, rep_alpha, mask, labels, lab, box, margin, half, ring_width, residual_correction,
                min_common, nodata, rep_nodata, dtype, work, scratch, summary, progress):
    """Fill one group on its box plus the margin; bands run in parallel threads (numpy releases the GIL),
    while all GDAL reads and writes stay on this thread. Results go to the scratch file."""
    win = box.grow(margin, mask.width, mask.height)
    fill = mask.read(win)
    cy0, cx0 = win.y // CELL, win.x // CELL
    cy1, cx1 = -(-(win.y + win.h) // CELL), -(-(win.x + win.w) // CELL)
    own_cells = labels[cy0:cy1, cx0:cx1] == lab
    own = np.repeat(np.repeat(own_cells, CELL, axis=0), CELL, axis=1)
    oy, ox = win.y - cy0 * CELL, win.x - cx0 * CELL
    own = own[oy:oy + win.h, ox:ox + win.w] & fill
    plan = slra.RingPlan(fill, own, ring_width, PLAN_TILE)
    del own, own_cells, fill
    if plan.n == 0:
        return
    alpha = read_large(rep, rep_alpha, win) > 0 if rep_alpha else None
    brow, bcol = plan.rows - (box.y - win.y), plan.cols - (box.x - win.x)
    nb = len(nodata)
    done = [0.0] * nb

    def cancelled():
        try:
            progress.check()
            return False
        except Cancelled:
            return True

    def compute(b, t, tvalid, r, rvalid):
        part = Progress(lambda pct: done.__setitem__(b - 1, pct / 100.0), cancelled)
        values, st = slra.fill_band(plan, t, r, tvalid, rvalid, half, min_common, part)
        good = (st != slra.NO_REPLACEMENT) & (st != slra.NO_STATS)
        if residual_correction:
            values = slra.correct_residuals(plan, t, r, tvalid, rvalid, half, values, st, min_common)
        return values, st, good

    def store(b, future):
        values, st, good = future.result()
        summary["filled"] += int(good.sum())
        for key, code in (("widened", slra.WIDENED), ("fallback", slra.FALLBACK),
                          ("no_replacement", slra.NO_REPLACEMENT), ("no_statistics", slra.NO_STATS)):
            summary[key] += int((st == code).sum())
        out = to_dtype(values, dtype, nodata[b - 1])
        take = good
        if nodata[b - 1] is not None:
            out[~good] = np.array(nodata[b - 1]).astype(dtype)
            take = np.ones_like(good)
        scratch.put(b, box, brow[take], bcol[take], out[take])
        done[b - 1] = 1.0

    per_band = win.w * win.h * (2 * np.dtype(work).itemsize + 4)
    workers = max(1, min(MAX_WORKERS, os.cpu_count() or 1, nb, PARALLEL_BYTES // max(per_band, 1)))
    pending = {}
    with ThreadPoolExecutor(workers) as pool:
        try:
            for b in range(1, nb + 1):
                while len(pending) >= workers:
                    _wait_one(pending, store, progress, done)
                t = read_large(src, b, win)
                tvalid = valid_pixels(t, nodata[b - 1])
                t = t.astype(work)
                r = read_large(rep, b, win)
                rvalid = valid_pixels(r, rep_nodata[b - 1])
                if alpha is not None:
                    rvalid &= alpha
                pending[b] = pool.submit(compute, b, t, tvalid, r.astype(work), rvalid)
                del t, r, tvalid, rvalid
            while pending:
                _wait_one(pending, store, progress, done)
        except BaseException:
            for f in pending.values():
                f.cancel()
            raise


def _wait_one(pending, store, progress, done):
    """Wait for the oldest band job, reporting progress meanwhile, and store its result."""
    b = min(pending)
    while True:
        finished, _ = wait([pending[b]], timeout=0.5)
        progress.update(sum(done) / len(done))
        if finished:
            store(b, pending.pop(b))
            return


def _copy_merge(src, out, scratch, block_pixels, progress):
    """Pass 2: the input copied bit for bit, block by block, with the filled pixels from the scratch file."""
    nb = src.RasterCount
    wins = list(block_windows(src.RasterXSize, src.RasterYSize, TILE, TILE, block_pixels))
    for i, win in enumerate(wins):
        arr = np.stack([read_window(src, b, win) for b in range(1, nb + 1)])
        if scratch is not None:
            vals, flags = scratch.get(win)
            if flags.any():
                arr[flags] = vals[flags]
        out.write(arr, win.x, win.y)
        progress.update((i + 1) / len(wins))
