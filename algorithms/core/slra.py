"""Stepwise Local Radiometric Adjustment (Li et al. 2019) on in-memory arrays.

Fills a region ring by ring from its edge inward; each pixel gets the replacement value adjusted to the target's
local mean and standard deviation, both taken over the same known pixels of a window (summed-area tables, O(1)).
"""

from collections import namedtuple

import numpy as np

from . import residuals
from .block_sums import BlockSums, block_size
from .ring_plan import RingPlan, ring_index  # noqa: F401  (re-exported: part of this API)
from .slra_stats import (  # noqa: F401  (re-exported: the window statistics are part of this API)
    FALLBACK,
    FILLED,
    GAIN_MAX,
    GAIN_MIN,
    GAIN_RULES,
    INTERPOLATED,
    MIN_COMMON,
    NO_REPLACEMENT,
    NO_STATS,
    SUMS,
    WIDEN,
    WIDENED,
    ZERO_VAR_REL,
    _row_chunks,
    common_summary,
    covariance,
    gain,
    local_gain,
    moments,
    tiled_window_sums,
    uses_correlation,
    window_sums,
    work_dtype,
)

STEPWISE_DEPTH = 2  # with residual correction, rings are filled stepwise up to this many half-windows deep
PIXEL_TILE = 256  # side of the tiles each ring's statistics are computed over: pixel windows (summed-area tables) ...
BLOCK_TILE = 512  # ... and windows on blocks, whose box filters cost little per tile, so fewer, larger tiles win


def statistics_tile(half):
    """The RingPlan tile for windows of half-width `half`: any tile gives the same values (to the rounding of the
    sums' order); the sizes are measured choices. Windows on blocks: 512 was faster than 256 in 5 of 5 alternating
    pairs at 1024 x 1024 x 4, window 80 (about 6 %), and equal at 4096 x 4096; pixel windows: 512 was 5-10 %
    slower at window 40, their summed-area tables growing with the tile and its margin."""
    return PIXEL_TILE if block_size(half) == 1 else BLOCK_TILE


def fill_band(plan, target, rep, tvalid, rvalid, half, min_common=MIN_COMMON, progress=None, summary=None,
              gain_rule="correlation", blocks=None):
    """Fill one band over a RingPlan, ring by ring from the region's edge inward (Li et al. 2019).

    Each pixel gets its replacement value matched to the target's mean and standard deviation over the known
    common pixels of its window (widened, then the region's surroundings, when too few are known); the values of
    a ring become known for the next. Deeper than the plan's depth, where a window holds only filled pixels and
    chaining ring after ring would accumulate the replacement's noise as colour noise, the gain and offset are
    instead interpolated inward from the last stepwise ring as harmonic fields (membrane, as the residual
    correction), so the fill stays smooth and follows the surroundings' radiometry.

    Parameters
    ----------
    plan : RingPlan
        The fill geometry.
    target, rep : (h, w) ndarray
        Target and replacement, any real type; only read (pixel windows work on a float copy of an integer
        target, so the raster runner can keep a large group's target in its own type: half the memory of float32
        for 16-bit data).
    tvalid, rvalid : (h, w) ndarray of bool
        Where they hold data. Pixels outside the plan's fill region that are valid in both form the initial known
        area; pixels of the fill region not owned by the plan are never known.
    half : int
        Half-width of the statistics window.
    min_common : int, optional
        Fewest known common pixels of a window before it is widened.
    progress : Progress, optional
        Receives the share of rings done.
    summary : tuple, optional
        band_statistics' summary of these arrays, when the caller already has it (residuals.boundary_residuals
        takes the same).
    gain_rule : {"correlation", "std_ratio"}
        The gain of each window (slra_stats.gain): the standard deviation ratio times the square root of the
        window's correlation (default), or the paper's standard deviation ratio.
    blocks : BlockSums, optional
        band_statistics' blocks of these arrays, when the caller already has them (residuals.boundary_residuals
        takes the same before this adds the rings to them); made here when needed and not given.

    Returns
    -------
    values : (n,) ndarray of float
        The filled values in plan order (float32 for float32 arrays, else float64).
    status : (n,) ndarray of uint8
        FILLED, WIDENED, FALLBACK, INTERPOLATED, NO_REPLACEMENT or NO_STATS per plan pixel.
    """
    values = np.zeros(plan.n, work_dtype(target.dtype))  # the working arrays' precision
    status = np.full(plan.n, NO_STATS, np.uint8)
    if plan.n == 0:
        return values, status
    common = None
    if summary is None or blocks is None:  # the mask of the common pixels: for the summary, blocks or pixel windows
        common = ~plan.fill & tvalid & rvalid
        summary = common_summary(common, target, rep) if summary is None else summary
    # Fallback: the statistics of every initially known common pixel around the region.
    offsets, scale, fb = summary
    if fb[0] < 1:  # no pixel known in both images
        status[~rvalid[plan.rows, plan.cols]] = NO_REPLACEMENT
        return values, status
    if blocks is None and block_size(half) > 1:
        blocks = _blocks(common, target, rep, offsets, half)
    if blocks is not None:
        common = None  # the blocks hold all the window statistics need: no pixel array is updated per ring

        def sums(r, c, h):
            return blocks.window(r, c, h)
    else:
        target = working_target(target, half)

        def sums(r, c, h):
            return window_sums(common, target, rep, r, c, h, offsets)
    stats_of = _WindowStats(sums, half, min_common, fb, offsets, scale, uses_correlation(gain_rule))
    n_rings = len(plan.ring_first)
    need_edge = plan.n_stepwise < n_rings
    edge = None  # (rows, cols, gain, offset) of the last stepwise ring that made values
    for k in range(n_rings):
        if k == plan.n_stepwise and edge is not None:
            _fill_deep(plan, rep, rvalid, edge, _fallback_transform(stats_of), values, status)
            break
        a = plan.seg_start[plan.ring_first[k]]
        b = plan.seg_end[plan.ring_last[k] - 1]
        parts = []
        for s0, s1 in _ring_chunks(plan, k):  # bounded temporaries on rings of scene-wide regions
            ca, cb = plan.seg_start[s0], plan.seg_end[s1 - 1]
            g, o, good = _adjust_chunk(plan, (s0, s1), stats_of, rep, rvalid, values[ca:cb], status[ca:cb])
            if need_edge and good.size:
                parts.append((ca + good, g, o))
        if need_edge and parts:
            at = np.concatenate([p[0] for p in parts])
            edge = (plan.rows[at], plan.cols[at], np.concatenate([p[1] for p in parts]),
                    np.concatenate([p[2] for p in parts]))
        del parts
        ok = (status[a:b] != NO_REPLACEMENT) & (status[a:b] != NO_STATS)
        gr, gc, v = plan.rows[a:b][ok], plan.cols[a:b][ok], values[a:b][ok]
        if blocks is not None:
            blocks.add(gr, gc, v, rep[gr, gc])
        else:
            target[gr, gc] = v
            common[gr, gc] = True
        if progress is not None:
            progress.update((k + 1) / n_rings)
    return values, status


def band_statistics(plan, target, rep, tvalid, rvalid, half):
    """The statistics of the pixels known in both images outside the fill region, computed once per band for
    fill_band and residuals.boundary_residuals, from one mask of those pixels: (summary, blocks), the offsets,
    scale and fallback sums (slra_stats.common_summary), and the window statistics over b x b blocks
    (block_sums.py) for windows large enough to use them (block_size(half) > 1), else None."""
    common = ~plan.fill & tvalid & rvalid
    summary = common_summary(common, target, rep)
    return summary, (_blocks(common, target, rep, summary[0], half) if block_size(half) > 1 else None)


def working_target(target, half):
    """The target as fill_band works on it: pixel windows (block_size(half) == 1) write each ring's values into the
    target and read them back, so an integer target becomes a float copy (float32 for 8/16-bit data, float64 for
    wider); block windows only read it, so it stays in its own type (half the memory of float32 for 16 bits).
    Writable float targets are used as they are (fill_band then writes into them); read-only ones are copied."""
    if block_size(half) > 1 or (target.dtype.kind == "f" and target.flags.writeable):
        return target
    return target.astype(work_dtype(target.dtype))


def _blocks(common, target, rep, offsets, half):
    """Large windows: statistics over b x b blocks, updated ring by ring, kept in the working arrays' precision."""
    return BlockSums(common, target, rep, offsets, block_size(half), work_dtype(target.dtype))


def fill_stepwise(plan, arrays, half, min_common=MIN_COMMON, progress=None, gain_rule="correlation",
                  residual_correction=True):
    """One band's stepwise adjustment over a RingPlan (fill_band) and, if the residual correction is asked for,
    its boundary residuals (residuals.boundary_residuals), both from the same window statistics.

    `arrays`: the list [target, tvalid, rep, rvalid] of fill_band's arrays; it is emptied, so that where the
    caller holds no other reference the band arrays are freed when this returns, before the membrane solve
    (residuals.add_membranes), the most memory-hungry step on large regions. Returns fill_band's (values, status)
    and the boundary residuals (None without the correction).
    """
    target, tvalid, rep, rvalid = arrays
    arrays.clear()
    target = working_target(target, half)  # here, so an integer target is not held twice while the rings fill
    summary, blocks = band_statistics(plan, target, rep, tvalid, rvalid, half)
    boundary = None
    if residual_correction:  # before fill_band adds the rings to the blocks: the statistics of the clear pixels
        boundary = residuals.boundary_residuals(plan, target, rep, tvalid, rvalid, half, min_common, summary,
                                                gain_rule, blocks)
    values, status = fill_band(plan, target, rep, tvalid, rvalid, half, min_common, progress, summary, gain_rule,
                               blocks)
    return values, status, boundary


def fill_and_correct(plan, arrays, half, min_common=MIN_COMMON, progress=None, gain_rule="correlation",
                     residual_correction=True):
    """One band's whole fill over a RingPlan: fill_stepwise, then, if asked, Li et al.'s residual correction
    (residuals.add_membrane). `arrays` as for fill_stepwise (emptied). Returns fill_band's (values, status),
    corrected."""
    values, status, boundary = fill_stepwise(plan, arrays, half, min_common, progress, gain_rule,
                                             residual_correction)
    if boundary is not None:
        values = residuals.add_membrane(plan, values, status, boundary)
    return values, status


RING_CHUNK = 1 << 18  # plan pixels adjusted at once


def _ring_chunks(plan, k):
    """(first, last + 1) segment ranges of ring k holding about RING_CHUNK pixels each."""
    first, last = int(plan.ring_first[k]), int(plan.ring_last[k])
    s0 = first
    while s0 < last:
        s1 = s0 + 1
        while s1 < last and plan.seg_end[s1] - plan.seg_start[s0] <= RING_CHUNK:
            s1 += 1
        yield s0, s1
        s0 = s1


_WindowStats = namedtuple("_WindowStats", "sums half min_common fb offsets scale correlation")


def _adjust_chunk(plan, segs, ws, rep, rvalid, values, status):
    """Window statistics (widened, then the fallback, when too few are known) and the adjusted values of a run of
    segments of one ring, written into `values` and `status` (views); returns (gain, offset, index) of the pixels
    that got a value. `ws`: the band's _WindowStats."""
    sums, half, min_common, fb, offsets, scale, correlation = ws
    a = plan.seg_start[segs[0]]
    rows, cols = plan.rows[a:plan.seg_end[segs[1] - 1]], plan.cols[a:plan.seg_end[segs[1] - 1]]
    stats = np.empty((SUMS, rows.size))
    for s in range(*segs):
        sa, sb = plan.seg_start[s] - a, plan.seg_end[s] - a
        stats[:, sa:sb] = sums(rows[sa:sb], cols[sa:sb], half)
    st = np.full(rows.size, FILLED, np.uint8)
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
    st[~rvalid[rows, cols]] = NO_REPLACEMENT
    good = np.flatnonzero((st != NO_REPLACEMENT) & (st != NO_STATS))
    mt, mr, g = local_gain(stats[:, good], offsets, scale, correlation)
    del stats
    o = mt - g * mr
    values[good] = g * rep[rows[good], cols[good]] + o
    status[:] = st
    return g, o, good


def _fallback_transform(ws):
    """(gain, offset) from the fallback statistics of a _WindowStats, or None when there are none."""
    if ws.fb[0] < 1:
        return None
    mt, mr, g = local_gain(ws.fb, ws.offsets, ws.scale, ws.correlation)
    g = float(g)
    return g, float(mt - g * mr)


def _fill_deep(plan, rep, rvalid, edge, fallback, values, status):
    """The pixels of the deep rings: gain and offset interpolated from the last stepwise ring (see fill_band);
    `fallback` = (gain, offset) of the region's surroundings for deep parts no stepwise pixel touches."""
    from .membrane_bounded import membrane_at

    rows, cols = plan.rows[plan.deep_start:], plan.cols[plan.deep_start:]
    er, ec, g, o = edge
    # Parts of the deep domain not touching the edge get 0 from the solver: shifting the gains by a constant far
    # above their range (the solver removes it exactly, per part) tells them apart. Both fields in one solve.
    gains, offs = membrane_at(rows, cols, er, ec, np.stack([g + _FAR, o]))
    gains -= _FAR
    reached = (gains >= GAIN_MIN - 1e-3) & (gains <= GAIN_MAX + 1e-3)
    st = np.where(reached, INTERPOLATED, FALLBACK if fallback is not None else NO_STATS).astype(np.uint8)
    if fallback is not None:
        gains[~reached], offs[~reached] = fallback
    gains *= rep[rows, cols]
    gains += offs
    st[~rvalid[rows, cols]] = NO_REPLACEMENT
    values[plan.deep_start:] = np.where((st != NO_REPLACEMENT) & (st != NO_STATS), gains, 0.0)
    status[plan.deep_start:] = st


_FAR = 1.0e6


def slra_fill(target, rep, fill, tvalid=None, rvalid=None, window_size=80, ring_width=2,
              residual_correction=True, min_common=MIN_COMMON, gain_rule="correlation", **geometry):
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
    gain_rule : {"correlation", "std_ratio"}
        The gain of each window: sqrt(rho) std_t / std_r (default) or the paper's std_t / std_r (slra_stats.gain).
    **geometry
        RingPlan's `own` (restrict the output to that part of `fill`, as the runner's groups) and `tile` (side of
        the statistics' tiles: statistics_tile(half) by default, as the runner).

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
    uses_correlation(gain_rule)
    tvalid = np.ones(target.shape, bool) if tvalid is None else np.broadcast_to(tvalid, target.shape)
    rvalid = np.ones(target.shape, bool) if rvalid is None else np.broadcast_to(rvalid, target.shape)
    half = max(int(window_size) // 2, 1)
    geometry.setdefault("tile", statistics_tile(half))
    plan = RingPlan(fill, ring_width=ring_width, depth=STEPWISE_DEPTH * half if residual_correction else None,
                    **geometry)
    status = np.zeros((nb,) + plan.shape, np.uint8)
    bands = [fill_stepwise(plan, [target[b], tvalid[b], rep[b], rvalid[b]], half, min_common,
                           gain_rule=gain_rule, residual_correction=residual_correction) for b in range(nb)]
    residuals.add_membranes(plan, bands)  # the bands' corrections solved together
    for b, (values, st, _) in enumerate(bands):
        good = (st != NO_REPLACEMENT) & (st != NO_STATS)
        target[b][plan.rows[good], plan.cols[good]] = values[good]
        status[b][plan.rows, plan.cols] = st
    return target, status
