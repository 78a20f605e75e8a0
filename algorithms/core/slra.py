"""Stepwise Local Radiometric Adjustment (Li et al. 2019) on in-memory arrays.

Fills a region ring by ring from its edge inward; each pixel gets the replacement value adjusted to the target's
local mean and standard deviation, both taken over the same known pixels of a window (summed-area tables, O(1)).
"""

import numpy as np
from scipy import ndimage

from .block_sums import BlockSums, block_size

GAIN_MIN, GAIN_MAX = 1.0 / 3.0, 3.0
MIN_COMMON = 25          # fewest common pixels a window needs before it is widened
WIDEN = (1, 2, 4)        # window half-widths tried, as multiples of the nominal half-width
ZERO_VAR_REL = 1e-12     # replacement variance below this share of (mean^2 + scale^2) counts as zero

# Status of each pixel of the fill region after filling.
FILLED, WIDENED, FALLBACK, NO_REPLACEMENT, NO_STATS = 1, 2, 3, 4, 5


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


def adjust(mt, vt, mr, vr, rep, scale=0.0):
    """T = mean_t + g (R - mean_r), g = std_t / std_r clamped to [1/3, 3]; g = 1 where std_r is zero.

    std_r counts as zero below a relative 1e-6 of sqrt(mean_r^2 + scale^2) (scale: the replacement's typical
    magnitude), so rounding in the summed-area tables cannot turn a constant window into a huge gain.
    """
    vt = np.maximum(vt, 0.0)
    vr = np.maximum(vr, 0.0)
    zero = vr <= ZERO_VAR_REL * (mr * mr + scale * scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.sqrt(vt) / np.sqrt(np.where(zero, 1.0, vr))
    g = np.where(zero, 1.0, np.clip(g, GAIN_MIN, GAIN_MAX))
    return mt + g * (rep - mr)


def window_sums(common, t, r, rows, cols, half, offsets=(0.0, 0.0)):
    """Count, sum and sum of squares of t and r over `common` pixels in the (2 half + 1)^2 windows at (rows, cols).

    Windows are clipped to the array. One summed-area table is built over the query pixels' bounding box plus
    `half`; returns a (5, n) float64 array: n, sum t, sum t^2, sum r, sum r^2 (values minus `offsets`).
    """
    hgt, wid = common.shape
    y0, y1 = max(int(rows.min()) - half, 0), min(int(rows.max()) + half + 1, hgt)
    x0, x1 = max(int(cols.min()) - half, 0), min(int(cols.max()) + half + 1, wid)
    m = common[y0:y1, x0:x1]
    off = ~m
    sat = np.empty((5, y1 - y0 + 1, x1 - x0 + 1))
    sat[:, 0, :] = 0.0
    sat[:, 1:, 0] = 0.0
    inner = sat[:, 1:, 1:]
    np.copyto(inner[0], m)
    for i, (arr, o) in enumerate(((t, offsets[0]), (r, offsets[1]))):
        v, v2 = inner[1 + 2 * i], inner[2 + 2 * i]
        np.subtract(arr[y0:y1, x0:x1], o, out=v, dtype=np.float64)
        np.copyto(v, 0.0, where=off)
        np.multiply(v, v, out=v2)
    np.cumsum(sat, axis=1, out=sat)   # the zero first row / column keep this a summed-area table
    np.cumsum(sat, axis=2, out=sat)
    ry0 = np.maximum(rows - (half + y0), 0)       # windows clipped to the array (y0 / x0 are the bbox start)
    ry1 = np.minimum(rows + (half + 1 - y0), y1 - y0)
    rx0 = np.maximum(cols - (half + x0), 0)
    rx1 = np.minimum(cols + (half + 1 - x0), x1 - x0)
    return sat[:, ry1, rx1] - sat[:, ry0, rx1] - sat[:, ry1, rx0] + sat[:, ry0, rx0]


def tiled_window_sums(common, t, r, rows, cols, half, offsets=(0.0, 0.0), tile=256):
    """window_sums for scattered pixels, tile by tile, so each summed-area table covers one tile plus the window
    margin (bounded memory) rather than the bounding box of all the pixels."""
    out = np.empty((5, rows.size))
    ntx = -(-common.shape[1] // tile)
    key = (rows // tile).astype(np.int64) * ntx + cols // tile
    order = np.argsort(key, kind="stable")
    cut = np.flatnonzero(np.diff(key[order])) + 1
    for part in np.split(order, cut):
        if part.size:
            out[:, part] = window_sums(common, t, r, rows[part], cols[part], half, offsets)
    return out


def moments(s, offsets=(0.0, 0.0)):
    """Means and variances of target and replacement from window_sums' rows (n >= 1)."""
    n = s[0]
    mt, mr = s[1] / n, s[3] / n
    return mt + offsets[0], s[2] / n - mt * mt, mr + offsets[1], s[4] / n - mr * mr


def _row_chunks(shape, pixels=1 << 22):
    """Row slices of about `pixels` pixels each, to bound temporaries over large arrays."""
    step = max(1, pixels // max(shape[1], 1))
    return [slice(y, min(y + step, shape[0])) for y in range(0, shape[0], step)]


def common_summary(common, target, rep):
    """Offsets (mean target, mean replacement), the replacement's mean magnitude and the fallback sums
    (window_sums' five rows over every common pixel), computed by row chunks in bounded memory."""
    n = st = sr = sa = 0.0
    for sl in _row_chunks(common.shape):
        c = common[sl]
        t, r = target[sl][c], rep[sl][c]
        n += c.sum()
        st += t.sum(dtype=np.float64)
        sr += r.sum(dtype=np.float64)
        sa += np.abs(r).sum(dtype=np.float64)
    if n == 0:
        return (0.0, 0.0), 0.0, np.zeros(5)
    offsets = (st / n, sr / n)
    fb = np.zeros(5)
    fb[0] = n
    for sl in _row_chunks(common.shape):
        c = common[sl]
        tt = np.subtract(target[sl][c], offsets[0], dtype=np.float64)
        rr = np.subtract(rep[sl][c], offsets[1], dtype=np.float64)
        fb[1:] += (tt.sum(), (tt * tt).sum(), rr.sum(), (rr * rr).sum())
    return offsets, sa / n, fb


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


def boundary_residuals(plan, target, rep, tvalid, rvalid, half, min_common=MIN_COMMON):
    """Residual target - SLRA prediction at the known pixels 4-adjacent to the owned fill region.

    The prediction at a clear pixel uses the same window statistics over the initially known common pixels.
    Returns (rows, cols, residuals) of the pixels where it is defined.
    """
    own = plan.own
    near = ndimage.binary_dilation(own, structure=ndimage.generate_binary_structure(2, 1))
    common = ~plan.fill & tvalid & rvalid
    ys, xs = np.nonzero(near & common)
    if ys.size == 0:
        return ys, xs, np.zeros(0)
    offsets, scale, _ = common_summary(common, target, rep)
    s = tiled_window_sums(common, target, rep, ys, xs, half, offsets)
    ok = s[0] >= min_common
    ys, xs, s = ys[ok], xs[ok], s[:, ok]
    if ys.size == 0:
        return ys, xs, np.zeros(0)
    mt, vt, mr, vr = moments(s, offsets)
    pred = adjust(mt, vt, mr, vr, rep[ys, xs].astype(np.float64), scale)
    return ys, xs, target[ys, xs].astype(np.float64) - pred


def correct_residuals(plan, target, rep, tvalid, rvalid, half, values, status, min_common=MIN_COMMON):
    """Li et al.'s residual correction of one band's fill: `values` plus a harmonic field that equals, next to the
    region, the residual of the adjustment at the clear pixels (see boundary_residuals), so no seam is left.

    Parameters
    ----------
    plan : RingPlan
        The geometry the band was filled over.
    target, rep : (h, w) ndarray
        Target (clear pixels unchanged; filled pixels may already hold the fill) and replacement.
    tvalid, rvalid : (h, w) ndarray of bool
        Where target and replacement hold data.
    half : int
        Half-width of the statistics window.
    values, status : (n,) ndarray
        fill_band's results in plan order; pixels without a value (NO_REPLACEMENT, NO_STATS) are not corrected.
    min_common : int, optional
        Fewest common pixels for a window prediction at a clear pixel.

    Returns
    -------
    (n,) ndarray of float64
        The corrected values, in plan order.

    References
    ----------
    Li, Z., Shen, H., Cheng, Q., Li, W., Zhang, L. (2019). Thick cloud removal in high-resolution satellite
    images using stepwise radiometric adjustment and residual correction. Remote Sensing 11(16), 1925.
    """
    return add_membrane(plan, values.copy(), status,
                        boundary_residuals(plan, target, rep, tvalid, rvalid, half, min_common))


def add_membrane(plan, values, status, boundary):
    """Add the residual correction's harmonic field to `values` in place, given the boundary residuals.

    The second half of correct_residuals, which needs no band array: a caller can free the target and the
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


def slra_fill(target, rep, fill, tvalid=None, rvalid=None, window_size=80, ring_width=2,
              residual_correction=True, min_common=MIN_COMMON, own=None, tile=256):
    """Fill `fill` pixels of a (bands, h, w) target from `rep`; returns (filled float64 copy, status (h, w)).

    window_size: the window's side; windows are (2 * (window_size // 2) + 1) pixels square, centred.
    tvalid / rvalid: (bands, h, w) or (h, w) validity masks. status: 0 outside the region, else a status code.
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
            values = correct_residuals(plan, t, rep[b], tvalid[b], rvalid[b], half, values, st, min_common)
            good = (st != NO_REPLACEMENT) & (st != NO_STATS)
            t[plan.rows[good], plan.cols[good]] = values[good]
        status[b][plan.rows, plan.cols] = st
    return target, status
