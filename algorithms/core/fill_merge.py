"""The last step of a fill: the input copied block by block with the filled pixels, and the source and
remaining-pixel rasters, committed together."""

import numpy as np

from .fill_store import to_dtype
from .raster_io import block_windows, read_window_bands
from .raster_writer import TILE, commit_together, writer_like

SOURCE_NODATA = 255


def merge(run, progress):
    """The input copied bit for bit, block by block, with the filled pixels from the scratch store; pixels of the
    region no pass filled become nodata (or keep the input's value when it declares none). Writes the source and
    remaining-pixel rasters when asked; all outputs are committed together. `run`: the FillRun."""
    plan, inputs, region, scratch = run.plan, run.inputs, run.region, run.scratch
    src, nb = inputs.src, inputs.src.RasterCount
    out = writer_like(src, plan.output, dtype=inputs.dtype, nodata=inputs.nodata)
    writers = [out, None, None]
    try:
        if plan.source_output:
            n = len(plan.sources) if plan.combine == 1 else plan.slots()
            names = ["original"] + ([f"replacement {k}" for k in range(1, n + 1)] if plan.combine == 1 else
                                    [f"median of {k} date{'s' if k > 1 else ''}" for k in range(1, n + 1)])
            colours = {0: (200, 200, 200), **{k: _colour(k) for k in range(1, n + 1)}, SOURCE_NODATA: (255, 0, 255)}
            writers[1] = writer_like(src, plan.source_output, bands=1, dtype=np.uint8, nodata=None,
                                     color_table=colours, category_names=names + [""] * (SOURCE_NODATA - len(names))
                                     + ["still missing"], band_descriptions=["source of each pixel"])
        if plan.remaining_output:
            writers[2] = writer_like(src, plan.remaining_output, bands=1, dtype=np.uint8, nodata=None,
                                     color_table={0: (200, 200, 200), 1: (255, 0, 255)},
                                     category_names=["filled or clear", "still missing"],
                                     band_descriptions=["pixels no date could fill"])
        wins = list(block_windows(src.RasterXSize, src.RasterYSize, TILE, TILE, run.block_pixels))
        for i, win in enumerate(wins):
            arr = read_window_bands(src, range(1, nb + 1), win)
            source = np.zeros((win.h, win.w), np.uint8)
            if scratch is not None:
                vals, flags = scratch.get(win)
                taken = flags > 0
                if scratch.slots > 1:  # medians of several dates, converted to the output type here
                    for b, nd in enumerate(inputs.nodata):
                        arr[b][taken[b]] = to_dtype(vals[b][taken[b]], inputs.dtype, nd)
                else:
                    arr[taken] = vals[taken]
                base = region.base(win)
                missing = base & ~taken.all(axis=0)
                for b, nd in enumerate(inputs.nodata):
                    if nd is not None:
                        arr[b][base & ~taken[b]] = np.array(nd).astype(arr.dtype)
                source[base] = np.where(taken.all(axis=0), flags.min(axis=0), SOURCE_NODATA)[base]
                source[missing] = SOURCE_NODATA
            out.write(arr, win.x, win.y)
            if writers[1] is not None:
                writers[1].write(source, win.x, win.y)
            if writers[2] is not None:
                writers[2].write((source == SOURCE_NODATA).astype(np.uint8), win.x, win.y)
            progress.update((i + 1) / len(wins))
        commit_together(*writers)
    except BaseException:
        for w in writers:
            if w is not None:
                w.abort()
        raise


def _colour(k):
    """A distinct colour per replacement (a fixed qualitative palette, repeated)."""
    palette = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
               (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
    return palette[(k - 1) % len(palette)]
