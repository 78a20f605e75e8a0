"""The geometry of a fill shared by all bands: the rings of the region (chessboard distance to the nearest known
pixel, in steps of the ring width) and its pixels sorted by ring and tile."""

import numpy as np
from scipy import ndimage

from .slra_stats import _row_chunks


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
    computed tile by tile over small bounding boxes only.

    `depth` (pixels, or None for no limit): rings whose pixels are all farther than this from the nearest known
    pixel are not filled stepwise; fill_band interpolates the gain and offset there (see fill_band). The plan
    pixels of those rings come last, from index `deep_start`.
    """

    def __init__(self, fill, own=None, ring_width=2, tile=256, depth=None):
        self.fill = np.asarray(fill, bool)
        own = self.fill if own is None else (np.asarray(own, bool) & self.fill)
        self._own_is_fill = own is self.fill
        self.shape = self.fill.shape
        ring = ring_index(self.fill, ring_width)
        ys, xs = [], []
        for sl in _row_chunks(self.shape):
            y, x = np.nonzero(own[sl])
            ys.append((y + sl.start).astype(np.int32))
            xs.append(x.astype(np.int32))
        ys, xs = np.concatenate(ys), np.concatenate(xs)
        rk = ring[ys, xs]
        del ring
        ntx = -(-self.shape[1] // tile)
        nty = -(-self.shape[0] // tile)
        key = rk.astype(np.int64) * (ntx * nty) + (ys // tile).astype(np.int64) * ntx + xs // tile
        order = np.argsort(key, kind="stable")
        self.rows, self.cols = ys[order], xs[order]
        del ys, xs
        key = key[order]
        rk = rk[order]
        del order
        cut = np.flatnonzero(np.diff(key)) + 1
        self.seg_start = np.concatenate(([0], cut)).astype(np.int64)
        self.seg_end = np.concatenate((cut, [key.size])).astype(np.int64)
        seg_ring = rk[self.seg_start] if key.size else np.zeros(0, np.int64)
        del rk
        # Segments of one ring are consecutive: ring k spans segments ring_first[k] to ring_last[k] (exclusive).
        rcut = np.flatnonzero(np.diff(seg_ring)) + 1
        self.ring_first = np.concatenate(([0], rcut)) if seg_ring.size else np.zeros(0, np.int64)
        self.ring_last = np.concatenate((rcut, [seg_ring.size])) if seg_ring.size else np.zeros(0, np.int64)
        self.n = int(key.size)
        del own  # rebuilt by own_mask when needed: one scene-sized array less while the bands are filled
        ring_number = seg_ring[self.ring_first] if seg_ring.size else np.zeros(0, np.int64)
        self.ring_number = ring_number  # of each ring in plan order (1: next to a pixel outside the region)
        # Ring r holds the distances ((r - 1) w, r w]: it is deep when (r - 1) w >= depth.
        self.n_stepwise = (len(ring_number) if depth is None
                           else int(np.count_nonzero((ring_number.astype(np.int64) - 1) * ring_width < depth)))
        self.deep_start = (int(self.seg_start[self.ring_first[self.n_stepwise]])
                           if self.n_stepwise < len(ring_number) else self.n)
        self.has_known = bool((~self.fill).any())

    def own_mask(self):
        """The owned part of the fill region as an (h, w) boolean array."""
        if self._own_is_fill:
            return self.fill
        own = np.zeros(self.shape, bool)
        own[self.rows, self.cols] = True
        return own
