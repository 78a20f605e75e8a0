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
    `summary`: common_summary of those pixels (slra.band_summary), when the caller already has it; `gain_rule`:
    as the fill's (slra.fill_band), so the residuals are those of the same adjustment; `blocks`: the fill's
    block_sums.BlockSums of the same pixels, before any ring was added to it (slra.band_blocks), whose windows
    are then used, as the fill's own, instead of pixel windows.
    Returns (rows, cols, residuals) of the pixels where it is defined.
    """
    own = plan.own_mask()
    near = own.copy()  # own grown by its 4-neighbours (binary_dilation with a cross, by four shifted ors)
    near[1:] |= own[:-1]
    near[:-1] |= own[1:]
    near[:, 1:] |= own[:, :-1]
    near[:, :-1] |= own[:, 1:]
    common = ~plan.fill & tvalid & rvalid
    ys, xs = np.nonzero(near & common)
    if ys.size == 0:
        return ys, xs, np.zeros(0)
    offsets, scale, _ = common_summary(common, target, rep) if summary is None else summary
    if blocks is None:
        s = tiled_window_sums(common, target, rep, ys, xs, half, offsets)
    else:
        s = by_tiles(lambda rr, cc: blocks.window(rr, cc, half), ys, xs, common.shape[1])
    ok = s[0] >= min_common
    ys, xs, s = ys[ok], xs[ok], s[:, ok]
    if ys.size == 0:
        return ys, xs, np.zeros(0)
    mt, mr, g = local_gain(s, offsets, scale, uses_correlation(gain_rule))
    pred = mt + g * (rep[ys, xs].astype(np.float64) - mr)
    return ys, xs, target[ys, xs].astype(np.float64) - pred


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
    from .membrane_bounded import membrane_at

    good = (status != NO_REPLACEMENT) & (status != NO_STATS)
    if good.all():  # the usual case: no index copies of the plan's (possibly very long) pixel lists
        values += membrane_at(plan.rows, plan.cols, *boundary)
    elif good.any():
        values[good] += membrane_at(plan.rows[good], plan.cols[good], *boundary)
    return values
