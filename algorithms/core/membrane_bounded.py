"""The membrane field in bounded memory for domains of any size: exact up to a bounding box of MAX_PIXELS, solved
on a coarser grid and interpolated beyond."""

import numpy as np
from scipy import ndimage

from .membrane import membrane_correction

MAX_PIXELS = 1 << 22  # bounding box solved exactly (about 300 MB at peak)


def bounded_membrane_correction(domain, b_rows, b_cols, b_vals, max_pixels=MAX_PIXELS, tol=1e-4):
    """`membrane_correction` in bounded memory (see `membrane_at`); same arguments and results."""
    ys, xs = np.nonzero(np.asarray(domain, bool))
    return ys, xs, membrane_at(ys, xs, b_rows, b_cols, b_vals, max_pixels, tol)


def membrane_at(rows, cols, b_rows, b_cols, b_vals, max_pixels=MAX_PIXELS, tol=1e-4, out=None):
    """The membrane field on the domain made of the pixels (rows, cols), at those pixels, in bounded memory.

    Exact (`membrane_correction`) while the domain's bounding box has at most `max_pixels` pixels; beyond, solved
    on a grid s times coarser (s the smallest factor that fits) and interpolated back: a coarse cell holding
    boundary values is fixed at their mean, the other cells holding domain pixels are solved, and the field is
    interpolated bilinearly (cell centres) at the domain pixels. The harmonic field is smooth away from the
    boundary: this averages the residuals' pixel-to-pixel noise over s x s cells within about s pixels of the
    boundary, and, since the coarse boundary sits up to s / 2 pixels off, moves the field further in by up to about
    3 % of the spread of the boundary values (tests/core/test_membrane.py). No array of the domain's full size is
    made beyond the inputs and the result.

    Parameters
    ----------
    rows, cols : (n,) array_like of int
        The domain's pixels.
    b_rows, b_cols, b_vals, tol
        As for `membrane_correction`: (m, k) values give m fields over the same domain, solved together while
        m times the box fits in `max_pixels`, else one by one (the same results either way).
    max_pixels : int, optional
        Largest bounding box solved exactly (peak memory about 70 bytes per box pixel and field).
    out : (n,) ndarray of float64, optional
        Written with the field of one-dimensional `b_vals` instead of a new array (and returned): the one-by-one
        fields of (m, k) values go straight into their rows of the result.

    Returns
    -------
    (n,) or (m, n) ndarray of float64
        The field(s) at (rows, cols).
    """
    rows, cols = np.asarray(rows).ravel(), np.asarray(cols).ravel()
    bv = np.asarray(b_vals, np.float64)
    if rows.size == 0:
        return np.zeros(bv.shape[:-1] + (0,))
    if bv.ndim == 2:  # fields together only while they fit in the budget of one; else one by one
        box = (int(rows.max()) - int(rows.min()) + 3) * (int(cols.max()) - int(cols.min()) + 3)
        if bv.shape[0] * box > max_pixels:  # (each field written into its row of the result: no second copy)
            out = np.empty((bv.shape[0], rows.size))
            for i, v in enumerate(bv):
                membrane_at(rows, cols, b_rows, b_cols, v, max_pixels, tol, out[i])
            return out
    y0, x0 = int(rows.min()) - 1, int(cols.min()) - 1  # a one-pixel frame holds the boundary pixels
    h, w = int(rows.max()) + 2 - y0, int(cols.max()) + 2 - x0
    br, bc = np.asarray(b_rows, np.int64).ravel() - y0, np.asarray(b_cols, np.int64).ravel() - x0
    ok = (br >= 0) & (bc >= 0) & (br < h) & (bc < w)
    if bv.ndim < 2:
        ok &= np.isfinite(bv)
    br, bc, bv = br[ok], bc[ok], bv[..., ok]
    if h * w <= max_pixels:
        box = np.zeros((h, w), bool)
        box[rows - y0, cols - x0] = True
        ys, xs, v = membrane_correction(box, br, bc, bv, tol=tol)
        field = np.zeros(bv.shape[:-1] + (h, w))
        field[..., ys, xs] = v
        if out is None:
            return field[..., rows - y0, cols - x0]
        for a in range(0, rows.size, 1 << 20):
            out[a:a + (1 << 20)] = field[rows[a:a + (1 << 20)] - y0, cols[a:a + (1 << 20)] - x0]
        return out
    s = int(np.ceil(np.sqrt(h * w / max_pixels)))
    ch, cw = -(-h // s), -(-w // s)
    cell = br // s * cw + bc // s
    n = np.bincount(cell, minlength=ch * cw)
    mean = (np.bincount(cell, weights=bv, minlength=ch * cw) / np.maximum(n, 1)).reshape(ch, cw)
    fixed = (n > 0).reshape(ch, cw)
    inside = np.zeros((ch, cw), bool)
    for a in range(0, rows.size, 1 << 22):  # coarse cells holding domain pixels, in chunks
        inside[(rows[a:a + (1 << 22)] - y0) // s, (cols[a:a + (1 << 22)] - x0) // s] = True
    fy, fx = np.nonzero(fixed)
    cy, cx, cv = membrane_correction(inside & ~fixed, fy, fx, mean[fy, fx], tol=tol)
    field = np.where(fixed, mean, 0.0)
    field[cy, cx] = cv
    known = fixed | inside
    if not known.all():  # cells without a value take their nearest neighbour's, so interpolation is not pulled to 0
        idx = ndimage.distance_transform_edt(~known, return_distances=False, return_indices=True)
        field = field[idx[0], idx[1]]
    values = np.empty(rows.size) if out is None else out
    for a in range(0, rows.size, 1 << 20):  # interpolation in chunks: bounded temporaries
        coords = np.stack([(rows[a:a + (1 << 20)] - y0 + 0.5) / s - 0.5, (cols[a:a + (1 << 20)] - x0 + 0.5) / s - 0.5])
        values[a:a + (1 << 20)] = ndimage.map_coordinates(field, coords, order=1, mode="nearest")
    return values
