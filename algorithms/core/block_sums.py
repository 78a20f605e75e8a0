"""Window statistics of the stepwise fill on b x b blocks, kept up to date ring by ring.

For large windows the per-ring summed-area tables over each tile plus the window margin are most of the fill's
time. Summing the common pixels' moments into b x b blocks once, adding each ring's new pixels to their blocks,
and building the tables over blocks instead of pixels cuts that work by b^2; each window then covers the blocks
its pixel window touches, at most b - 1 pixels more on each side (b <= half // BLOCK_HALF, so the window is at
most 10 % wider). Windows narrower than 2 EXACT_HALF + 1 pixels stay exact (pixel windows, b = 1).
"""

import numpy as np
from scipy import ndimage

from .slra_stats import SUMS, by_tiles

EXACT_HALF = 40  # windows of half-width below this use pixel windows (b = 1) ...
BLOCK_HALF = 10  # ... wider ones blocks of up to one pixel per this many pixels of the window's half-width
TILE_BLOCKS = 256  # window queries spread wider than this many blocks are answered tile by tile


def block_size(half):
    """The block side for a window half-width: 1 (exact, pixel windows) below EXACT_HALF, else the largest
    divisor of `half` up to half // BLOCK_HALF, so that every window covers the same 2 half / b + 1 blocks around
    its pixel's block (BlockSums.window's fast path; e.g. b = 4 for windows of 80 px, 8 for 160, 7 for 140).

    The box filters of the statistics run over the query's blocks plus 2 half / b on each side, so their cost per
    ring falls about as b^2: b = half / 10 instead of half / 20 halved the fill's time on large regions and left
    the accuracy table within 0.1 of its values (tools/bench/bench_slra.py)."""
    half = int(half)
    if half < EXACT_HALF:
        return 1
    b = max(1, half // BLOCK_HALF)
    while half % b:
        b -= 1
    return b


class BlockSums:
    """Per b x b block: count, sums, sums of squares and sum of products of target and replacement (minus
    `offsets`) over the common pixels; `add` puts newly known pixels in, `window` gives window_sums' rows for a
    set of pixels.

    Parameters
    ----------
    common : (h, w) ndarray of bool
        Pixels known in both images.
    target, rep : (h, w) ndarray
        The images.
    offsets : (float, float)
        Subtracted from target and replacement before summing (keeps the sums' rounding small).
    b : int
        Block side in pixels.
    dtype : numpy dtype, optional
        Precision of the stored block sums: float64 by default; the raster runner passes its float32 working
        precision, which halves the largest table of a scene-wide region while each window's summed-area table is
        still built in float64 (relative error of the statistics ~1e-7). The counts are kept apart in the smallest
        unsigned integer type that holds b^2 (one byte per block up to b = 15), exact and a quarter of a float32.
    """

    def __init__(self, common, target, rep, offsets, b, dtype=np.float64):
        self.b, self.offsets = int(b), offsets
        h, w = common.shape
        self.hb, self.wb = -(-h // self.b), -(-w // self.b)
        self.count = np.zeros((self.hb, self.wb), np.min_scalar_type(self.b * self.b))
        self.sums = np.zeros((SUMS - 1, self.hb, self.wb), dtype)  # sum t, t^2, r, r^2, t r
        step = max(self.b, (1 << 20) // max(w, 1) // self.b * self.b)
        for y in range(0, h, step):  # strips of about a million pixels, summed in the stored precision
            c = common[y:y + step]
            ch = c.shape[0]
            rb = -(-ch // self.b)
            rows = slice(y // self.b, y // self.b + rb)
            counts = np.zeros((1, rb * self.b, self.wb * self.b), self.count.dtype)
            counts[0, :ch, :w] = c
            self.count[rows] = _block_totals(counts, self.b)[0]
            planes = np.zeros((SUMS - 1, rb * self.b, self.wb * self.b), dtype)
            off = ~c
            for i, (arr, o) in enumerate(((target, offsets[0]), (rep, offsets[1]))):
                v = planes[2 * i, :ch, :w]
                np.subtract(arr[y:y + step], o, out=v, dtype=dtype, casting="unsafe")
                np.copyto(v, 0, where=off)
                np.multiply(v, v, out=planes[1 + 2 * i, :ch, :w])
            np.multiply(planes[0, :ch, :w], planes[2, :ch, :w], out=planes[4, :ch, :w])
            self.sums[:, rows] = _block_totals(planes, self.b)

    def add(self, rows, cols, tvals, rvals):
        """Add pixels that became known (their target and replacement values) to their blocks."""
        if rows.size == 0:
            return
        flat = (rows // self.b).astype(np.int64) * self.wb + cols // self.b
        cells, inverse = np.unique(flat, return_inverse=True)
        t = np.asarray(tvals, np.float64) - self.offsets[0]
        r = np.asarray(rvals, np.float64) - self.offsets[1]
        count = self.count.reshape(-1)
        count[cells] += np.bincount(inverse, minlength=cells.size).astype(count.dtype)
        view = self.sums.reshape(SUMS - 1, -1)
        for i, weights in enumerate((t, t * t, r, r * r, t * r)):
            view[i, cells] += np.bincount(inverse, weights=weights, minlength=cells.size)

    def window(self, rows, cols, half):
        """(SUMS, n) sums over the blocks touching each pixel's (2 half + 1)^2 window: n, sum t, sum t^2, sum r,
        sum r^2, sum t r (minus the offsets), like slra.window_sums."""
        span = max(int(rows.max()) - int(rows.min()), int(cols.max()) - int(cols.min())) // self.b + 1
        if span > TILE_BLOCKS:  # scattered pixels (widened windows of a scene-wide ring): tile by tile, so the
            return by_tiles(lambda r, c: self.window(r, c, half), rows, cols, self.wb * self.b,  # tables stay small
                            TILE_BLOCKS * self.b)
        if half % self.b == 0:
            return self._centred(rows, cols, half // self.b)
        b = self.b
        i0 = np.maximum((rows - half) // b, 0)
        i1 = np.minimum((rows + half) // b + 1, self.hb)
        j0 = np.maximum((cols - half) // b, 0)
        j1 = np.minimum((cols + half) // b + 1, self.wb)
        y0, y1, x0, x1 = int(i0.min()), int(i1.max()), int(j0.min()), int(j1.max())
        sat = np.empty((SUMS, y1 - y0 + 1, x1 - x0 + 1))
        sat[:, 0] = 0.0
        sat[:, 1:, 0] = 0.0
        np.cumsum(self.count[y0:y1, x0:x1], axis=0, dtype=np.float64, out=sat[0, 1:, 1:])
        np.cumsum(self.sums[:, y0:y1, x0:x1], axis=1, dtype=np.float64, out=sat[1:, 1:, 1:])
        np.cumsum(sat[:, 1:, 1:], axis=2, out=sat[:, 1:, 1:])
        i0, i1, j0, j1 = i0 - y0, i1 - y0, j0 - x0, j1 - x0
        return sat[:, i1, j1] - sat[:, i0, j1] - sat[:, i1, j0] + sat[:, i0, j0]

    def _centred(self, rows, cols, q):
        """`window` when b divides half: each window then covers exactly the blocks within q = half / b of the
        pixel's own block (clipped to the array), the same for every pixel of a block. So the sums are a box filter
        of side 2 q + 1 over the blocks (scipy's running sums: one pass along x over the query blocks' bounding box
        plus q, one along y over the query columns only), read at each pixel's block: about half the work of a
        summed-area table over the same box and one read per pixel instead of four."""
        bi, bj = rows // self.b, cols // self.b
        qy0, qy1, qx0, qx1 = int(bi.min()), int(bi.max()) + 1, int(bj.min()), int(bj.max()) + 1
        y0, y1 = max(qy0 - q, 0), min(qy1 + q, self.hb)
        x0, x1 = max(qx0 - q, 0), min(qx1 + q, self.wb)
        size = 2 * q + 1
        along_x = np.empty((SUMS, y1 - y0, x1 - x0))
        ndimage.uniform_filter1d(self.count[y0:y1, x0:x1], size, axis=1, output=along_x[0], mode="constant")
        ndimage.uniform_filter1d(self.sums[:, y0:y1, x0:x1], size, axis=2, output=along_x[1:], mode="constant")
        box = np.empty((SUMS, y1 - y0, qx1 - qx0))
        ndimage.uniform_filter1d(along_x[:, :, qx0 - x0:qx1 - x0], size, axis=1, output=box, mode="constant")
        out = box[:, bi - y0, bj - qx0]
        out *= float(size * size)  # the filter gives means of 2 q + 1 values per axis, zeros outside the array
        np.rint(out[0], out=out[0])  # counts are whole numbers (the running means leave ~1e-12 of rounding)
        return out


def _block_totals(planes, b):
    """(k, H / b, W / b) sums of b x b blocks of (k, H, W) planes, H and W multiples of b: b - 1 additions of row
    slices, then of column slices (several times faster than numpy's reduction over the strided block axes)."""
    k, h, w = planes.shape
    q = planes.reshape(k, h // b, b, w)
    rows = q[:, :, 0].copy()
    for i in range(1, b):
        rows += q[:, :, i]
    cols = rows.reshape(k, h // b, w // b, b)
    out = cols[..., 0].copy()
    for j in range(1, b):
        out += cols[..., j]
    return out
