"""Li et al.'s residual correction of a band's stepwise fill.

The fill of a region plus a harmonic (membrane) field that equals, next to the region, the residual of the
adjustment at the clear pixels (boundary_residuals), so no seam is left at the region's edge: first compute the
boundary residuals from the band arrays, then (after the caller may have freed them) add the field with
add_membrane. The field is solved in bounded memory by membrane_bounded.membrane_at.

References
----------
Li, Z., Shen, H., Cheng, Q., Li, W., Zhang, L. (2019). Thick cloud removal in high-resolution satellite
images using stepwise radiometric adjustment and residual correction. Remote Sensing 11(16), 1925.
"""

import numpy as np

from .slra_stats import (
    MIN_COMMON,
    NO_REPLACEMENT,
    NO_STATS,
    by_tiles,
    common_summary,
    local_gain,
    tiled_window_sums,
    uses_correlation,
)


def boundary_residuals(plan, target, rep, tvalid, rvalid, half, min_common=MIN_COMMON, summary=None,
                       gain_rule="correlation", blocks=None):
    """Residual target - SLRA prediction at the known pixels 4-adjacent to the owned fill region.

    The prediction at a clear pixel uses the same window statistics over the initially known common pixels.
    `summary`: common_summary of those pixels (slra.band_statistics), when the caller already has it; `gain_rule`:
    as the fill's (slra.fill_band), so the residuals are those of the same adjustment; `blocks`: the fill's
    block_sums.BlockSums of the same pixels, before any ring was added to it (slra.band_statistics), whose windows
    are then used, as the fill's own, instead of pixel windows.
    Returns (rows, cols, residuals) of the pixels where it is defined.
    """
    ys, xs = boundary_pixels(plan, tvalid, rvalid)
    if ys.size == 0:
        return ys, xs, np.zeros(0)
    common = ~plan.fill & tvalid & rvalid if summary is None or blocks is None else None  # (not while blocks exist)
    offsets, scale, _ = common_summary(common, target, rep) if summary is None else summary
    if blocks is None:
        s = tiled_window_sums(common, target, rep, ys, xs, half, offsets)
    else:
        s = by_tiles(lambda rr, cc: blocks.window(rr, cc, half), ys, xs, plan.shape[1])
    ok = s[0] >= min_common
    ys, xs, s = ys[ok], xs[ok], s[:, ok]
    if ys.size == 0:
        return ys, xs, np.zeros(0)
    mt, mr, g = local_gain(s, offsets, scale, uses_correlation(gain_rule))
    pred = mt + g * (rep[ys, xs].astype(np.float64) - mr)
    return ys, xs, target[ys, xs].astype(np.float64) - pred


def boundary_pixels(plan, tvalid, rvalid, chunk=1 << 20):
    """Rows and columns, in row-major order, of the pixels known in both images (valid, outside the fill region)
    that are 4-adjacent to an owned fill pixel.

    Only the plan's ring 1 can touch such a pixel (its pixels lie within the ring width of one outside the region),
    so the neighbours of that ring's pixels are examined, `chunk` pixels at a time: no array of the window's size is
    made, which matters while a scene-wide group's band arrays and block sums are held.
    """
    h, w = plan.shape
    if plan.n == 0 or plan.ring_number[0] != 1:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    end = int(plan.seg_end[plan.ring_last[0] - 1])
    found = []
    for a in range(0, end, chunk):
        rows = plan.rows[a:min(a + chunk, end)].astype(np.intp)
        cols = plan.cols[a:min(a + chunk, end)].astype(np.intp)
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            y, x = rows + dy, cols + dx
            inside = (y >= 0) & (y < h) & (x >= 0) & (x < w)
            y, x = y[inside], x[inside]
            known = ~plan.fill[y, x] & tvalid[y, x] & rvalid[y, x]
            found.append(y[known] * w + x[known])
    flat = np.unique(np.concatenate(found))
    return flat // w, flat % w


def add_membrane(plan, values, status, boundary):
    """Add the residual correction's harmonic field to `values` in place, given the boundary residuals.

    It needs no band array: a caller can free the target and the
    replacement before this, the most memory-hungry step on large regions.

    Parameters
    ----------
    plan : RingPlan
        The geometry the band was filled over.
    values, status : (n,) ndarray
        fill_band's results in plan order; `values` is updated in place where a value was made (not NO_REPLACEMENT,
        NO_STATS).
    boundary : tuple of ndarray
        (rows, cols, residuals) from boundary_residuals.

    Returns
    -------
    (n,) ndarray
        `values`, corrected.
    """
    add_membranes(plan, [(values, status, boundary)])
    return values


def add_membranes(plan, bands):
    """add_membrane for several bands filled over one plan: a list of (values, status, boundary), boundary None for
    a band left uncorrected. Bands that made values at the same pixels and have the same boundary pixels (the usual
    case: one mask, nodata alike in every band) are solved together, one field per band, sharing the solver's
    work; each band's field is the same as solved alone."""
    from .membrane_bounded import membrane_at

    todo = [(v, st, bd, (st != NO_REPLACEMENT) & (st != NO_STATS)) for v, st, bd in bands if bd is not None]
    while todo:
        _, _, (br, bc, _), good = todo[0]
        same = [t for t in todo if t[3] is good or (np.array_equal(t[2][0], br) and np.array_equal(t[2][1], bc)
                                                   and np.array_equal(t[3], good))]
        todo = [t for t in todo if not any(t is u for u in same)]
        if not good.any():
            continue
        residual = np.stack([t[2][2] for t in same]) if len(same) > 1 else same[0][2][2]
        if good.all():  # the usual case: no index copies of the plan's (possibly very long) pixel lists
            fields = membrane_at(plan.rows, plan.cols, br, bc, residual).reshape(len(same), -1)
            for t, field in zip(same, fields):
                t[0][...] += field
        else:
            fields = membrane_at(plan.rows[good], plan.cols[good], br, bc, residual).reshape(len(same), -1)
            for t, field in zip(same, fields):
                t[0][good] += field
