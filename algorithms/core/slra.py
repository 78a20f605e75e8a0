"""Stepwise Local Radiometric Adjustment (Li et al. 2019) on in-memory arrays.

Fills a region ring by ring from its edge inward; each pixel gets the replacement value adjusted to the target's
local mean and standard deviation, both taken over the same known pixels of a window (summed-area tables, O(1)).
"""

import numpy as np
from scipy import ndimage

from . import residuals
from .block_sums import BlockSums, block_size
from .slra_stats import (  # noqa: F401  (re-exported: the window statistics are part of this API)
    FALLBACK,
    FILLED,
    GAIN_MAX,
    GAIN_MIN,
    MIN_COMMON,
    NO_REPLACEMENT,
    NO_STATS,
    WIDEN,
    WIDENED,
    ZERO_VAR_REL,
    _row_chunks,
    adjust,
    common_summary,
    moments,
    tiled_window_sums,
    window_sums,
)


def ring_index(fill, width=2):
    """Ring (1, 2, ...) of each fill pixel: ceil(chessboard distance to the nearest non-fill pixel / width); 0 outside.

    A raster without any non-fill pixel gives all zeros (nothing to fill from).
    """
    fill = np.asarray(fill, bool)
    if not fill.any() or fill.all():
        return np.zeros(fill.shape, np.uint16)
    ring = ndimage.distance_transform_cdt(fill, metric="chessboard")
    ring += width - 1
    ring //= width
    return ring.astype(np.uint16 if ring.max() < 65535 else np.uint32)


class RingPlan:
    """The geometry shared by all bands: fill pixels sorted by ring and by tile, so each ring's statistics are
    computed tile by tile over small bounding boxes only."""

    def __init__(self, fill, own=None, ring_width=2, tile=256):
        self.fill = np.asarray(fill, bool)
        self.own = self.fill if own is None else (np.asarray(own, bool) & self.fill)
        self.shape = self.fill.shape
        ring = ring_index(self.fill, ring_width)
        ys, xs = [], []
        for sl in _row_chunks(self.shape):
            y, x = np.nonzero(self.own[sl])
            ys.append((y + sl.start).astype(np.int32))
            xs.append(x.astype(np.int32))
        ys, xs = np.concatenate(ys), np.concatenate(xs)
        rk = ring[ys, xs]
        del ring
        ntx = -(-self.shape[1] // tile)
        nty = -(-self.shape[0] // tile)
        key = rk.astype(np.int64) * (ntx * nty) + (ys // tile).astype(np.int64) * ntx + xs // tile
        order = np.argsort(key, kind="stable")
        self.rows, self.cols, self.ring = ys[order], xs[order], rk[order].astype(np.int32)
        del ys, xs, rk
        key = key[order]
        del order
        cut = np.flatnonzero(np.diff(key)) + 1
        self.seg_start = np.concatenate(([0], cut)).astype(np.int64)
        self.seg_end = np.concatenate((cut, [key.size])).astype(np.int64)
        seg_ring = self.ring[self.seg_start] if key.size else np.zeros(0, np.int64)
        # Segments of one ring are consecutive: ring k spans segments ring_first[k] to ring_last[k] (exclusive).
        rcut = np.flatnonzero(np.diff(seg_ring)) + 1
        self.ring_first = np.concatenate(([0], rcut)) if seg_ring.size else np.zeros(0, np.int64)
        self.ring_last = np.concatenate((rcut, [seg_ring.size])) if seg_ring.size else np.zeros(0, np.int64)
        self.n = int(key.size)
        self.has_known = bool((~self.fill).any())


def fill_band(plan, target, rep, tvalid, rvalid, half, min_common=MIN_COMMON, progress=None):
    """Fill one band over a RingPlan; returns (values, status) per plan pixel (plan order).

    target, rep: 2-D float arrays (target is updated in place with the filled values, which later rings use);
    tvalid, rvalid: where target and replacement hold data. Pixels outside the plan's fill region that are valid
    in target form the initial known area; pixels of the fill region not owned by the plan are never known.
    """
    values = np.zeros(plan.n, np.float64)
    status = np.full(plan.n, NO_STATS, np.uint8)
    if plan.n == 0:
        return values, status
    common = ~plan.fill & tvalid & rvalid
    if not common.any():
        status[~rvalid[plan.rows, plan.cols]] = NO_REPLACEMENT
        return values, status
    # Fallback: the statistics of every initially known common pixel around the region.
    offsets, scale, fb = common_summary(common, target, rep)
    blocks = None
    if block_size(half) > 1:  # large windows: statistics over b x b blocks, updated ring by ring (block_sums.py)
        blocks = BlockSums(common, target, rep, offsets, block_size(half))

        def sums(r, c, h):
            return blocks.window(r, c, h)
    else:
        def sums(r, c, h):
            return window_sums(common, target, rep, r, c, h, offsets)
    n_rings = len(plan.ring_first)
    for k in range(n_rings):
        a = plan.seg_start[plan.ring_first[k]]
        b = plan.seg_end[plan.ring_last[k] - 1]
        rows, cols = plan.rows[a:b], plan.cols[a:b]
        ok_rep = rvalid[rows, cols]
        stats = np.empty((5, b - a))
        for s in range(plan.ring_first[k], plan.ring_last[k]):
            sa, sb = plan.seg_start[s] - a, plan.seg_end[s] - a
            stats[:, sa:sb] = sums(rows[sa:sb], cols[sa:sb], half)
        st = np.full(b - a, FILLED, np.uint8)
        for mult in WIDEN[1:]:
            low = np.flatnonzero(stats[0] < min_common)
            if low.size == 0:
                break
            stats[:, low] = sums(rows[low], cols[low], half * mult)
            st[low] = WIDENED
        low = stats[0] < min_common
        if low.any():
            stats[:, low] = fb[:, None]
            st[low] = FALLBACK if fb[0] >= 1 else NO_STATS
        st[~ok_rep] = NO_REPLACEMENT
        good = (st != NO_REPLACEMENT) & (st != NO_STATS)
        mt, vt, mr, vr = moments(stats[:, good], offsets)
        v = adjust(mt, vt, mr, vr, rep[rows[good], cols[good]].astype(np.float64), scale)
        vals = np.zeros(b - a)
        vals[good] = v
        values[a:b] = vals
        status[a:b] = st
        gr, gc = rows[good], cols[good]
        target[gr, gc] = v
        common[gr, gc] = True
        if blocks is not None:
            blocks.add(gr, gc, v, rep[gr, gc])
        if progress is not None:
            progress.update((k + 1) / n_rings)
    return values, status


def slra_fill(target, rep, fill, tvalid=None, rvalid=None, window_size=80, ring_width=2,
              residual_correction=True, min_common=MIN_COMMON, *, own=None, tile=256):
    """Stepwise local radiometric adjustment with residual correction of in-memory arrays (Li et al. 2019).

    The array form of the fill that the raster runner applies region by region; same results.

    Parameters
    ----------
    target, rep : (bands, h, w) or (h, w) array_like
        The cloudy image and the replacement (another date), on the same grid.
    fill : (h, w) array_like of bool
        Pixels to fill.
    tvalid, rvalid : (bands, h, w) or (h, w) array_like of bool, optional
        Where the target and the replacement hold data (default: everywhere).
    window_size : int
        Side of the statistics window; windows are (2 * (window_size // 2) + 1) pixels square, centred.
    ring_width : int
        Width in pixels of each ring filled in one step, from the region's edge inward.
    residual_correction : bool
        Add the membrane interpolation of the boundary residuals (residuals.py), as in the paper.
    min_common : int
        Fewest known common pixels a window needs before it is widened (then the region's global statistics).
    own, tile : optional
        Restrict the output to the `own` part of `fill` (the runner's groups); tile side of the statistics.

    Returns
    -------
    filled : (bands, h, w) ndarray of float64
        A copy of `target` with the fill pixels replaced where a value could be made.
    status : (bands, h, w) ndarray of uint8
        0 outside the region, else FILLED, WIDENED, FALLBACK, NO_REPLACEMENT or NO_STATS.

    References
    ----------
    Li, Z., Shen, H., Cheng, Q., Li, W., Zhang, L. (2019). Thick cloud removal in high-resolution satellite
    images using stepwise radiometric adjustment and residual correction. Remote Sensing 11(16), 1925.
    """
    target = np.array(target, np.float64, ndmin=3)
    rep = np.asarray(rep, np.float64)
    rep = rep[None] if rep.ndim == 2 else rep
    nb = target.shape[0]
    tvalid = np.ones(target.shape, bool) if tvalid is None else np.broadcast_to(tvalid, target.shape)
    rvalid = np.ones(target.shape, bool) if rvalid is None else np.broadcast_to(rvalid, target.shape)
    plan = RingPlan(fill, own, ring_width, tile)
    half = max(int(window_size) // 2, 1)
    status = np.zeros((nb,) + plan.shape, np.uint8)
    for b in range(nb):
        t = target[b]
        values, st = fill_band(plan, t, rep[b], tvalid[b], rvalid[b], half, min_common)
        if residual_correction:
            boundary = residuals.boundary_residuals(plan, t, rep[b], tvalid[b], rvalid[b], half, min_common)
            values = residuals.add_membrane(plan, values, st, boundary)
            good = (st != NO_REPLACEMENT) & (st != NO_STATS)
            t[plan.rows[good], plan.cols[good]] = values[good]
        status[b][plan.rows, plan.cols] = st
    return target, status
