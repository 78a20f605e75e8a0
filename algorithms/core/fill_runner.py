"""The raster runner of the fill: passes over the replacements, groups of regions, and the final merge.

For each pass (one replacement), the region still to fill is found strip by strip and grouped into regions whose
windows cannot interact; each group is filled on its own bounding box plus the window margin (slra.fill_band, then
the residual correction of residuals.py, on arrays), with the pixels earlier passes filled counted as known;
results wait in a sparse scratch store. The merge then copies the input block by block, bit for bit, taking the
filled pixels from the store, and writes all outputs, which are committed together.
"""

import os
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np
from scipy import ndimage

from . import residuals, slra
from .fill_merge import merge
from .fill_plan import open_plan
from .fill_store import Region, Scratch, to_dtype, valid_pixels
from .progress import Cancelled, InputError, Progress
from .raster_io import DEFAULT_BLOCK_PIXELS, Window, numpy_dtype, read_large, read_window_bands
from .slra_stats import work_dtype

CELL = 16        # side of the coarse cells used to group the fill region
MAX_WORKERS = 2  # bands filled in parallel (each holds one band of the group window) ...
PARALLEL_BYTES = 1 << 30  # ... while the band arrays of all workers stay under this
READ_ALL_BYTES = 1 << 26  # group windows whose bands (target and replacement) fit in this are read all at once
TOGETHER_BYTES = 1 << 26  # groups whose filled values (all bands) fit in this correct their bands together ...
SPLIT_PIXELS = 1 << 16  # ... in one solve per worker from this many pixels to fill (one solve for all below)
STATUS_KEYS = (("widened", slra.WIDENED), ("fallback", slra.FALLBACK), ("interpolated", slra.INTERPOLATED),
               ("no_replacement", slra.NO_REPLACEMENT), ("no_statistics", slra.NO_STATS))


def find_groups(region, margin, progress, block_pixels, cell=CELL):
    """Coarse map of cells holding pixels to fill, grouped so that pixels within `margin` share a group.

    Returns (pixel count, cell label map, list of (label, pixel Window of the group's cells)).
    """
    w, h = region.width, region.height
    ncy, ncx = -(-h // cell), -(-w // cell)
    cells = np.zeros((ncy, ncx), bool)
    rows = max(cell, (block_pixels // max(w, 1)) // cell * cell)
    n_fill = 0
    for y in range(0, h, rows):
        win = Window(0, y, w, min(rows, h - y))
        fill = region.read(win)
        n_fill += int(np.count_nonzero(fill))
        ph, pw = -(-win.h // cell) * cell, ncx * cell
        padded = np.zeros((ph, pw), bool)
        padded[:win.h, :w] = fill
        cells[y // cell:y // cell + ph // cell] = padded.reshape(ph // cell, cell, ncx, cell).any(axis=(1, 3))
        progress.update((y + win.h) / h)
    if n_fill == 0:
        return 0, None, []
    r = -(-(margin // cell + 1) // 2)     # cell reach of two pixels at most `margin` apart, halved per side
    grown = ndimage.maximum_filter(cells.view(np.uint8), size=2 * r + 1).view(bool)
    labels, _ = ndimage.label(grown, structure=np.ones((3, 3), bool))
    labels[~cells] = 0
    groups = []
    for lab, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is not None:
            y0, y1 = sl[0].start * cell, min(sl[0].stop * cell, h)
            x0, x1 = sl[1].start * cell, min(sl[1].stop * cell, w)
            groups.append((lab, Window(x0, y0, x1 - x0, y1 - y0)))
    return n_fill, labels, groups


class PassFiller:
    """Fills the groups of one pass: pass number `k`, replacement (dataset, alpha, nodata, mask reader)."""

    def __init__(self, plan, inputs, region, scratch, k, replacement, summary):
        self.plan, self.inputs, self.region, self.scratch, self.k = plan, inputs, region, scratch, k
        self.rep, self.alpha, self.rep_nodata, self.rep_mask = replacement
        self.summary = summary
        self.given = 0  # pixels (band 1) that took a value in this pass
        self.half = int(plan.window_size) // 2
        self.margin = self.half * slra.WIDEN[-1]
        self.work = work_dtype(inputs.dtype)
        self.whole = None  # (target, replacement), all bands of the whole raster, when read once for the pass

    def read_whole(self, groups):
        """Read all bands of the target and the replacement once for the pass when they fit in READ_ALL_BYTES and
        the groups' windows overlap (together they cover more pixels than the raster has): each group then takes
        its window from them instead of decompressing the same blocks again."""
        w, h = self.region.width, self.region.height
        if len(groups) < 2 or self._bytes(w * h) > READ_ALL_BYTES:
            return
        wins = [box.grow(self.margin, w, h) for _, box in groups]
        if sum(win.w * win.h for win in wins) > w * h:
            bands, whole = range(1, len(self.inputs.nodata) + 1), Window(0, 0, w, h)
            self.whole = (read_window_bands(self.inputs.src, bands, whole), read_window_bands(self.rep, bands, whole))
            for a in self.whole:  # shared by the groups: whatever writes into a window works on its own copy
                a.setflags(write=False)

    def _bytes(self, pixels):
        """Bytes of all bands of the target and the replacement over `pixels` pixels."""
        return len(self.inputs.nodata) * pixels * (self.inputs.dtype.itemsize + numpy_dtype(self.rep).itemsize)

    def fill_group(self, labels, lab, box, progress):
        """Fill one group on its box plus the margin; bands run in parallel threads (numpy releases the GIL),
        while all GDAL reads and writes stay on this thread."""
        win = box.grow(self.margin, self.region.width, self.region.height)
        todo = self.region.read(win, before=self.k)  # as at the start of the pass: groups do not depend on each other
        # Chained passes fill what is left, the earlier passes' values known; combining passes each fill the whole
        # region on their own, owning only the pixels that still take values.
        fill = todo if self.scratch.slots == 1 else self.region.base(win)
        cy0, cx0 = win.y // CELL, win.x // CELL
        cy1, cx1 = -(-(win.y + win.h) // CELL), -(-(win.x + win.w) // CELL)
        own = np.repeat(np.repeat(labels[cy0:cy1, cx0:cx1] == lab, CELL, axis=0), CELL, axis=1)
        oy, ox = win.y - cy0 * CELL, win.x - cx0 * CELL
        own = own[oy:oy + win.h, ox:ox + win.w] & todo
        del todo
        depth = slra.STEPWISE_DEPTH * self.half if self.plan.residual_correction else None
        plan = slra.RingPlan(fill, own, self.plan.ring_width, slra.statistics_tile(self.half), depth)
        del own, fill
        if plan.n == 0:
            return
        usable = read_large(self.rep, self.alpha, win) > 0 if self.alpha else None
        if self.rep_mask is not None:
            clear = ~self.rep_mask.read(win)
            usable = clear if usable is None else usable & clear
        nb = len(self.inputs.nodata)
        done = [0.0] * nb

        def cancelled():
            try:
                progress.check()
                return False
            except Cancelled:
                return True

        # Plans of moderate size: the bands' residual corrections wait until all bands are filled, then are solved
        # together (a field per band in one solve shares the solver's work), in one solve per worker for regions of
        # SPLIT_PIXELS and more, where numpy's loops are long enough to run side by side in threads. Larger plans:
        # each band corrects its own, so only one band's values wait at a time.
        together = self.plan.residual_correction and nb > 1 and plan.n * nb * 8 <= TOGETHER_BYTES
        held = {}

        def compute(b, arrays):
            part = Progress(lambda pct: done.__setitem__(b - 1, pct / 100.0), cancelled)
            args = (plan, arrays, self.half, self.plan.min_common, part, self.plan.gain(),
                    self.plan.residual_correction)
            return slra.fill_stepwise(*args) if together else slra.fill_and_correct(*args)

        def finish(b, future):
            if not together:
                return store(b, *future.result())
            held[b] = future.result()
            if len(held) == nb:
                bands = [held.pop(k) for k in range(1, nb + 1)]
                parts = workers if plan.n >= SPLIT_PIXELS else 1
                if parts > 1:
                    for job in [pool.submit(residuals.add_membranes, plan, bands[i::parts]) for i in range(parts)]:
                        job.result()
                else:
                    residuals.add_membranes(plan, bands)
                for k, (values, st, _) in enumerate(bands, start=1):
                    store(k, values, st)

        def store(b, values, st):
            good = (st != slra.NO_REPLACEMENT) & (st != slra.NO_STATS)
            self.summary["filled"] += int(good.sum())
            for key, code in STATUS_KEYS:
                self.summary[key] += int((st == code).sum())
            if b == 1:
                self.given += int(good.sum())
            if good.all():  # the usual case: no copies of the plan's (possibly very long) pixel lists
                rows, cols, out = plan.rows, plan.cols, values
            else:
                rows, cols, out = plan.rows[good], plan.cols[good], values[good]
            if self.scratch.slots == 1:  # medians are converted after combining (fill_merge)
                out = to_dtype(out, self.inputs.dtype, self.inputs.nodata[b - 1])
            self.scratch.put(b, win, rows, cols, out, self.k)
            done[b - 1] = 1.0

        per_band = win.w * win.h * (2 * np.dtype(self.work).itemsize + 4)
        workers = max(1, min(int(self.plan.threads) or MAX_WORKERS, MAX_WORKERS, os.cpu_count() or 1, nb,
                             PARALLEL_BYTES // max(per_band, 1)))
        # One read of all bands decompresses each block of a pixel-interleaved file (GDAL's default) once, where
        # band by band reads decompress it once per band (each read drops its blocks from the cache).
        if self.whole is not None:
            read = tuple(a[:, win.y:win.y + win.h, win.x:win.x + win.w] for a in self.whole)
        elif self._bytes(win.w * win.h) <= READ_ALL_BYTES:
            read = (read_window_bands(self.inputs.src, range(1, nb + 1), win),
                    read_window_bands(self.rep, range(1, nb + 1), win))
        else:
            read = None
        pending = {}
        with ThreadPoolExecutor(workers) as pool:
            try:
                for b in range(1, nb + 1):
                    while len(pending) >= workers:
                        _wait_one(pending, finish, progress, done)
                    pending[b] = pool.submit(compute, b, list(self._band(b, win, usable, read)))
                while pending:
                    _wait_one(pending, finish, progress, done)
            except BaseException:
                for f in pending.values():
                    f.cancel()
                raise

    def _band(self, b, win, usable, read=None):
        """(target, valid, replacement, valid) of one band of a window; pixels filled by earlier passes are known.
        `read`: (target, replacement) with all bands of the window, when they were read at once."""
        t = read_large(self.inputs.src, b, win) if read is None else read[0][b - 1]
        tvalid = valid_pixels(t, self.inputs.nodata[b - 1])
        if self.k > 1 and self.scratch.slots == 1:
            values, flags = self.scratch.band(b, win)
            earlier = Scratch.filled_before(flags, self.k)  # (not this pass's other groups: see fill_group)
            if not t.flags.writeable:  # a view of the pass's whole read, which other groups share
                t = t.copy()
            t[earlier] = values[earlier]
            tvalid |= earlier
        r = read_large(self.rep, b, win) if read is None else read[1][b - 1]
        rvalid = valid_pixels(r, self.rep_nodata[b - 1])
        if usable is not None:
            rvalid &= usable
        return t, tvalid, r, rvalid  # only read: kept in their own type (half the memory of float32 for 16 bits)


def _wait_one(pending, store, progress, done):
    """Wait for the oldest band job, reporting progress meanwhile, and store its result."""
    b = min(pending)
    while True:
        finished, _ = wait([pending[b]], timeout=0.5)
        progress.update(sum(done) / len(done))
        if finished:
            store(b, pending.pop(b))
            return


class FillRun:
    """One run of a FillPlan: the opened inputs, the region, the scratch store and the summary the passes share."""

    def __init__(self, plan, progress, block_pixels=DEFAULT_BLOCK_PIXELS):
        self.plan, self.progress, self.block_pixels = plan, progress, block_pixels
        self.inputs = open_plan(plan, progress)
        self.region = Region(self.inputs.mask, self.inputs.src, self.inputs.nodata, plan.fill_nodata)
        self.margin = (int(plan.window_size) // 2) * slra.WIDEN[-1]
        self.scratch = None
        self.summary = {"fill_pixels": 0, "groups": 0, "filled": 0, "per_pass": [], "remaining": 0}
        self.summary.update({key: 0 for key, _ in STATUS_KEYS})

    def run(self, on_pass=None, require_fill=False):
        """Find the region, fill pass by pass, merge; returns the summary."""
        src, plan, summary = self.inputs.src, self.plan, self.summary
        width, height = src.RasterXSize, src.RasterYSize
        mask = self.region.mask
        if mask is not None:
            mask.covered = 0
        n_fill, labels, groups = find_groups(self.region, self.margin, self.progress.sub(0.0, 0.05), self.block_pixels)
        _coverage_warning(self.region, width * height, self.progress)
        if mask is not None:
            mask.covered = None
        if n_fill == width * height:
            raise InputError("The region to fill (the mask grown by BUFFER) covers every pixel of the input: there is "
                             "no clear pixel to estimate the adjustment from. Use a mask with clear pixels, or a "
                             "smaller BUFFER.")
        summary.update(fill_pixels=n_fill, groups=len(groups), remaining=n_fill)
        if n_fill == 0:
            self.progress.log("Warning: the mask marks no pixel to fill; the output is a copy of the input.")
        slots = plan.slots()
        self.scratch = (Scratch(width, height, src.RasterCount,
                                self.inputs.dtype if slots == 1 else work_dtype(self.inputs.dtype), slots=slots)
                        if n_fill else None)
        try:
            self.region.scratch = self.scratch
            passes = len(plan.sources)
            for k, replacement in enumerate(self.inputs.replacements, start=1):
                span = self.progress.sub(0.05 + 0.85 * (k - 1) / passes, 0.05 + 0.85 * k / passes)
                if summary["remaining"] == 0:
                    summary["per_pass"].append(0)
                    continue
                left, given = self.fill_pass(k, replacement, span, (labels, groups) if k == 1 else None)
                # pixels filled by this pass; combining dates: pixels that took a value from this date
                summary["per_pass"].append(summary["remaining"] - left if self.scratch.slots == 1 else given)
                summary["remaining"] = left
                if on_pass is not None:
                    on_pass(k, summary["per_pass"][-1])
            if self.scratch is not None and self.scratch.slots > 1:
                summary["remaining"] = self._count(self.scratch.missing, self.region.base)
            if require_fill and n_fill and summary["remaining"] == n_fill:
                raise InputError(f"None of the {passes} replacement(s) is clear where the input needs filling "
                                 f"({n_fill} pixels): they are cloudy (masked) or without data there. Add dates that "
                                 "are clear over the input's clouds.")
            merge(self, self.progress.sub(0.9, 1.0))
        finally:
            if self.scratch is not None:
                self.scratch.close()
        return summary

    def fill_pass(self, k, replacement, progress, first=None):
        """Fill what is still missing from replacement k; returns (pixels still missing afterwards, pixels that took a
        value in this pass). `first`: the (labels, groups) already found for pass 1."""
        region, summary = self.region, self.summary
        if first is None:
            _, labels, groups = find_groups(region, self.margin, progress.sub(0.0, 0.1), self.block_pixels)
        else:
            labels, groups = first
        if k == 1:
            half = int(self.plan.window_size) // 2
            progress.log(f"Fill region: {summary['fill_pixels']} pixels in {len(groups)} independent group(s); "
                         f"windows of {2 * half + 1} x {2 * half + 1} pixels, rings {self.plan.ring_width} pixels "
                         "wide.")
        filler = PassFiller(self.plan, self.inputs, region, self.scratch, k, replacement, summary)
        if groups:
            filler.read_whole(groups)
            counts = np.bincount(labels.ravel())
            weights = np.array([float(counts[lab]) for lab, _ in groups])
            edges = 0.1 + 0.9 * np.concatenate(([0.0], np.cumsum(weights))) / weights.sum()
            for i, (lab, box) in enumerate(groups):
                filler.fill_group(labels, lab, box, progress.sub(edges[i], edges[i + 1]))
        return self._count(region.read), filler.given

    def _count(self, *readers):
        """Pixels where every reader(window) is true, counted strip by strip."""
        region, n = self.region, 0
        rows = max(1, self.block_pixels // max(region.width, 1))
        for y in range(0, region.height, rows):
            win = Window(0, y, region.width, min(rows, region.height - y))
            sel = readers[0](win)
            for read in readers[1:]:
                sel &= read(win)
            n += int(np.count_nonzero(sel))
        return n


def run_fill(plan, progress, block_pixels=DEFAULT_BLOCK_PIXELS, on_pass=None, require_fill=False):
    """Run a FillPlan: check and open everything, fill pass by pass, merge and commit all outputs together.

    on_pass(k, filled pixels) is called after each pass; with `require_fill`, a run in which no replacement could
    fill a single pixel stops with InputError before writing anything. Returns a summary dict (counts of pixels and of
    pixel-bands by status, pixels filled per pass, pixels left).
    """
    return FillRun(plan, progress, block_pixels).run(on_pass, require_fill)


def _coverage_warning(region, total, progress):
    covered = region.covered
    if covered is not None and covered < total:
        progress.log(f"Warning: the mask covers only {100.0 * covered / total:.1f} % of the input (the rest lies "
                     "outside the mask's extent or is nodata in it); pixels it does not cover are not filled.")
