"""Window statistics of the stepwise adjustment (Li et al. 2019): summed-area-table sums over the known common
pixels of a window, their moments, the fallback statistics of a whole region, and the adjustment itself.

References
----------
Li, Z., Shen, H., Cheng, Q., Li, W., Zhang, L. (2019). Thick cloud removal in high-resolution satellite
images using stepwise radiometric adjustment and residual correction. Remote Sensing 11(16), 1925.
"""

import numpy as np

GAIN_MIN, GAIN_MAX = 1.0 / 3.0, 3.0
MIN_COMMON = 25          # fewest common pixels a window needs before it is widened
WIDEN = (1, 2, 4)        # window half-widths tried, as multiples of the nominal half-width
ZERO_VAR_REL = 1e-12     # replacement variance below this share of (mean^2 + scale^2) counts as zero

GAIN_RULES = ("correlation", "std_ratio")  # gain(): sqrt(rho) std_t / std_r (default), or the paper's std_t / std_r
SUMS = 6                 # rows of the window sums: n, sum t, sum t^2, sum r, sum r^2, sum t r

# Status of each pixel of the fill region after filling.
FILLED, WIDENED, FALLBACK, NO_REPLACEMENT, NO_STATS, INTERPOLATED = 1, 2, 3, 4, 5, 6


def work_dtype(dtype):
    """The fill's working precision for data of `dtype`: float32 holds every value of 8/16-bit integers and float32
    exactly; wider types work in float64."""
    dtype = np.dtype(dtype)
    return np.float32 if dtype.itemsize <= 2 or dtype == np.float32 else np.float64


def gain(vt, mr, vr, scale=0.0, cov=None):
    """The adjustment's gain: g = std_t / std_r (Li et al. 2019), times sqrt(rho) when `cov` is given; clamped to
    [1/3, 3]; g = 1 where std_r is zero.

    std_r counts as zero below a relative 1e-6 of sqrt(mean_r^2 + scale^2) (scale: the replacement's typical
    magnitude), so rounding in the summed-area tables cannot turn a constant window into a huge gain.

    With the covariance `cov` of target and replacement over the same pixels (GAIN_RULES' "correlation"), the gain
    is the geometric mean of the paper's std_t / std_r, which keeps the target's variance, and the least-squares
    slope rho std_t / std_r, which minimises the expected error: sqrt(rho) std_t / std_r, with the correlation rho
    taken as 0 where it is negative. Where the two dates agree closely (rho near 1) both rules give the same
    gain; where they agree loosely (crops changed, haze) the replacement's own variations are trusted less.
    """
    vt = np.maximum(vt, 0.0)
    vr = np.maximum(vr, 0.0)
    zero = vr <= ZERO_VAR_REL * (mr * mr + scale * scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.sqrt(vt) / np.sqrt(np.where(zero, 1.0, vr))
        if cov is not None:
            tr = vt * vr
            rho = np.where(tr > 0.0, np.asarray(cov) / np.sqrt(np.where(tr > 0.0, tr, 1.0)), 1.0)
            g = g * np.sqrt(np.clip(rho, 0.0, 1.0))
    return np.where(zero, 1.0, np.clip(g, GAIN_MIN, GAIN_MAX))


def uses_correlation(gain_rule):
    """True for the "correlation" gain rule, False for "std_ratio" (GAIN_RULES); ValueError for anything else."""
    if gain_rule not in GAIN_RULES:
        raise ValueError(f"gain_rule must be one of {', '.join(GAIN_RULES)}, not {gain_rule!r}.")
    return gain_rule == "correlation"


def local_gain(s, offsets, scale, correlation):
    """(mean_t, mean_r, gain) from window_sums' rows: the adjustment T = mean_t + gain (R - mean_r) matches the
    replacement to the target's local mean and standard deviation (times sqrt(rho) when `correlation`)."""
    mt, vt, mr, vr = moments(s, offsets)
    return mt, mr, gain(vt, mr, vr, scale, covariance(s) if correlation else None)


def window_sums(common, t, r, rows, cols, half, offsets=(0.0, 0.0)):
    """Count, sums, sums of squares and sum of products of t and r over `common` pixels in the (2 half + 1)^2
    windows at (rows, cols).

    Windows are clipped to the array. One summed-area table is built over the query pixels' bounding box plus
    `half`; returns a (SUMS, n) float64 array: n, sum t, sum t^2, sum r, sum r^2, sum t r (values minus
    `offsets`).
    """
    hgt, wid = common.shape
    y0, y1 = max(int(rows.min()) - half, 0), min(int(rows.max()) + half + 1, hgt)
    x0, x1 = max(int(cols.min()) - half, 0), min(int(cols.max()) + half + 1, wid)
    m = common[y0:y1, x0:x1]
    off = ~m
    sat = np.empty((SUMS, y1 - y0 + 1, x1 - x0 + 1))
    sat[:, 0, :] = 0.0
    sat[:, 1:, 0] = 0.0
    inner = sat[:, 1:, 1:]
    np.copyto(inner[0], m)
    for i, (arr, o) in enumerate(((t, offsets[0]), (r, offsets[1]))):
        v, v2 = inner[1 + 2 * i], inner[2 + 2 * i]
        np.subtract(arr[y0:y1, x0:x1], o, out=v, dtype=np.float64)
        np.copyto(v, 0.0, where=off)
        np.multiply(v, v, out=v2)
    np.multiply(inner[1], inner[3], out=inner[5])
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
    return by_tiles(lambda rr, cc: window_sums(common, t, r, rr, cc, half, offsets), rows, cols, common.shape[1],
                    tile)


def by_tiles(sums, rows, cols, width, tile=256):
    """sums(rows, cols) -> (SUMS, n) evaluated tile by tile over scattered pixels of an image `width` wide: each
    call's summed-area table then spans one tile plus the window margin, whatever the pixels' spread."""
    out = np.empty((SUMS, rows.size))
    ntx = -(-width // tile)
    key = (rows // tile).astype(np.int64) * ntx + cols // tile
    order = np.argsort(key, kind="stable")
    cut = np.flatnonzero(np.diff(key[order])) + 1
    for part in np.split(order, cut):
        if part.size:
            out[:, part] = sums(rows[part], cols[part])
    return out


def moments(s, offsets=(0.0, 0.0)):
    """Means and variances of target and replacement from window_sums' rows (n >= 1)."""
    n = s[0]
    mt, mr = s[1] / n, s[3] / n
    return mt + offsets[0], s[2] / n - mt * mt, mr + offsets[1], s[4] / n - mr * mr


def covariance(s):
    """Covariance of target and replacement from window_sums' rows (n >= 1; the offsets do not change it)."""
    n = s[0]
    return s[5] / n - (s[1] / n) * (s[3] / n)


def _row_chunks(shape, pixels=1 << 22):
    """Row slices of about `pixels` pixels each, to bound temporaries over large arrays."""
    step = max(1, pixels // max(shape[1], 1))
    return [slice(y, min(y + step, shape[0])) for y in range(0, shape[0], step)]


def common_summary(common, target, rep):
    """Offsets (mean target, mean replacement), the replacement's mean magnitude and the fallback sums
    (window_sums' rows over every common pixel, around the offsets), in one pass by row chunks in bounded
    memory: sums are taken around the first chunk's means and moved to the overall means exactly
    (sum (x - m)^2 = sum (x - s)^2 - n (m - s)^2, and alike for the cross products), which keeps their rounding
    as small as two passes would."""
    n, sa, shift = 0, 0.0, None
    acc = np.zeros(5)  # sum t - s_t, sum (t - s_t)^2, sum r - s_r, sum (r - s_r)^2, sum (t - s_t)(r - s_r)
    for sl in _row_chunks(common.shape):
        c = common[sl]
        t = target[sl][c].astype(np.float64)
        if t.size == 0:
            continue
        r = rep[sl][c].astype(np.float64)
        sa += np.abs(r).sum()
        if shift is None:
            shift = (t.mean(), r.mean())
        t -= shift[0]
        r -= shift[1]
        n += t.size
        acc += (t.sum(), (t * t).sum(), r.sum(), (r * r).sum(), (t * r).sum())
    if n == 0:
        return (0.0, 0.0), 0.0, np.zeros(SUMS)
    dt, dr = acc[0] / n, acc[2] / n
    offsets = (shift[0] + dt, shift[1] + dr)
    fb = np.array([float(n), 0.0, max(acc[1] - n * dt * dt, 0.0), 0.0, max(acc[3] - n * dr * dr, 0.0),
                   acc[4] - n * dt * dr])
    return offsets, sa / n, fb
