"""Reclassify a raster band block by block with a remap table, then optionally drop small regions and grow 1s."""

import os
import shutil

import numpy as np

from .gdal_env import gdal_scoped
from .morphology import RegionSizes, grow_disk, label_block
from .progress import NULL_PROGRESS, InputError
from .raster_formats import check_outputs
from .raster_io import (
    DEFAULT_BLOCK_PIXELS,
    band_nodata,
    check_band,
    nodata_mask,
    numpy_dtype,
    open_raster,
    read_window,
    source_windows,
)
from .raster_writer import writer_like
from .staging import private_dir

MASK_COLOURS = {0: (200, 200, 200), 1: (255, 64, 255)}
MASK_NAMES = ["clear", "cloud"]


def smallest_int_type(low, high):
    """The smallest integer dtype holding [low, high]: unsigned when low >= 0."""
    kinds = (np.uint8, np.uint16, np.uint32, np.uint64) if low >= 0 else (np.int8, np.int16, np.int32, np.int64)
    for t in kinds:
        info = np.iinfo(t)
        if info.min <= low and high <= info.max:
            return np.dtype(t)
    raise InputError(f"No integer type holds values from {low} to {high}.")


def output_type(remap, in_dtype, in_nodata):
    """Output dtype and nodata for a remap: the smallest (unsigned when possible) type holding every value
    the remap can produce plus a distinct nodata value where nodata can occur."""
    in_dtype = np.dtype(in_dtype)
    new = remap.new_values()
    low, high = min(new, default=0), max(new, default=0)
    if remap.keep_missing and in_dtype.kind == "f":
        nodata = in_nodata if in_nodata is not None and in_nodata not in new else np.nan
        return in_dtype, nodata
    if remap.keep_missing:
        info = np.iinfo(in_dtype)
        low, high = min(low, int(info.min)), max(high, int(info.max))
    nodata_source = remap.nodata_value_entry()
    needs_nodata = (any(e.new is None for e in remap.entries) or not remap.keep_missing
                    or (in_nodata is not None and (nodata_source is None or nodata_source.new is None)))
    if (remap.keep_missing and in_nodata is not None and float(in_nodata).is_integer()
            and int(in_nodata) not in new):
        dtype = smallest_int_type(min(low, int(in_nodata)), max(high, int(in_nodata)))
        return dtype, int(in_nodata)
    if not needs_nodata:
        dtype = smallest_int_type(low, high)
        spare = int(np.iinfo(dtype).max)
        return dtype, (spare if spare > high else None)
    dtype = smallest_int_type(low, high + 1)
    return dtype, int(np.iinfo(dtype).max)


def _classifier(remap, in_dtype, in_nodata, out_dtype, out_nodata):
    """A function array -> reclassified array; a lookup table for 8- and 16-bit integer input."""
    in_dtype = np.dtype(in_dtype)
    if in_dtype.kind in "iu" and in_dtype.itemsize <= 2:
        lut, base = remap.lookup_table(in_dtype, in_nodata, out_dtype, out_nodata)
        if base == 0:
            return lambda a: lut[a]
        return lambda a: lut[a.astype(np.int32) - base]

    return lambda a: remap.apply(a, nodata_mask(a, in_nodata), out_dtype, out_nodata)


def _grid_keys(windows):
    """(row, col) of each window in its regular grid."""
    xs = {x: i for i, x in enumerate(sorted({w.x for w in windows}))}
    ys = {y: i for i, y in enumerate(sorted({w.y for w in windows}))}
    return [(ys[w.y], xs[w.x]) for w in windows]


@gdal_scoped
def reclassify_raster(src_path, band, remap, out_path, grow=0, min_region=0, progress=NULL_PROGRESS,
                      block_pixels=DEFAULT_BLOCK_PIXELS):
    """Write `out_path`: band `band` of `src_path` reclassified; 1-regions below `min_region` cells become 0,
    then cells within `grow` pixels (disk) of a 1 become 1. Nodata stays nodata. Returns a summary dict."""
    if grow < 0 or min_region < 0:
        raise InputError("Grow and minimum region size must be zero or positive.")
    ds = open_raster(src_path)
    check_band(ds, band)
    in_dtype, in_nodata = numpy_dtype(ds, band), band_nodata(ds, band)
    out_dtype, out_nodata = output_type(remap, in_dtype, in_nodata)
    check_outputs({"output": out_path}, {"input raster": src_path}, dtypes={"output": out_dtype})
    classify = _classifier(remap, in_dtype, in_nodata, out_dtype, out_nodata)
    windows = source_windows(ds, band, block_pixels)
    keys = _grid_keys(windows)
    width, height = ds.RasterXSize, ds.RasterYSize
    stages = 1 + (min_region > 0) + (grow > 0 and min_region > 0)
    step = iter([(i / stages, (i + 1) / stages) for i in range(stages)])
    progress.log(f"Output: {out_dtype.name}, nodata {out_nodata}; {len(windows)} block(s) of "
                 f"{windows[0].w} x {windows[0].h} pixels.")

    regions = None
    if min_region > 0:
        regions = RegionSizes()
        p = progress.sub(*next(step))
        for i, (win, key) in enumerate(zip(windows, keys)):
            labels, count = label_block(classify(read_window(ds, band, win)) == 1)
            regions.add(key, labels, count)
            p.update((i + 1) / len(windows))
        regions.finish(min_region)

    def filtered(win, key):
        values = classify(read_window(ds, band, win))
        if regions is not None:
            ones = values == 1
            labels, _ = label_block(ones)
            values[ones & ~regions.keep(key, labels)] = 0
        return values

    binary = True
    scratch = None
    try:
        source = None
        if grow > 0 and regions is not None:  # materialise the filtered classes, then grow with a halo
            scratch = private_dir(os.path.dirname(os.path.abspath(out_path)))
            inter = os.path.join(scratch, "filtered.tif")
            p = progress.sub(*next(step))
            with writer_like(ds, inter, bands=1, dtype=out_dtype, nodata=out_nodata) as w:
                for i, (win, key) in enumerate(zip(windows, keys)):
                    w.write(filtered(win, key), win.x, win.y)
                    p.update((i + 1) / len(windows))
            source = open_raster(inter, "intermediate raster")
        p = progress.sub(*next(step))
        with writer_like(ds, out_path, bands=1, dtype=out_dtype, nodata=out_nodata) as w:
            for i, (win, key) in enumerate(zip(windows, keys)):
                if grow > 0:
                    outer = win.grow(grow, width, height)
                    values = (read_window(source, 1, outer) if source is not None
                              else classify(read_window(ds, band, outer)))
                    grown = grow_disk(values == 1, grow)
                    rows, cols = win.inner_slices(outer)
                    values, grown = values[rows, cols].copy(), grown[rows, cols]
                    values[grown & ~nodata_mask(values, out_nodata)] = 1
                else:
                    values = filtered(win, key)
                binary = binary and _only_zero_one(values, out_nodata)
                w.write(values, win.x, win.y)
                p.update((i + 1) / len(windows))
            if binary and out_dtype in (np.dtype(np.uint8), np.dtype(np.uint16)):
                w.set_classes(MASK_COLOURS, MASK_NAMES)
        return {"dtype": out_dtype.name, "nodata": out_nodata, "binary": binary}
    finally:
        source = None
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def _only_zero_one(values, nodata):
    """True when every valid cell is 0 or 1."""
    other = values > 1 if values.dtype.kind == "u" else (values != 0) & (values != 1)
    if nodata is not None:
        other &= ~nodata_mask(values, nodata)
    return not other.any()
