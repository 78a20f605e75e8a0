"""Block-exact binary morphology for masks: grow by a disk, and drop small 8-connected regions.

Both give the same result whatever the block size: growing reads a halo of `radius` pixels, and region sizes
are merged across block edges with a union of per-block labels before any pixel is written.
"""

import math

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

EIGHT = np.ones((3, 3), dtype=bool)


def grow_disk(binary, radius):
    """Cells within Euclidean distance `radius` of a True cell become True (a disk structuring element).

    The disk is a union of horizontal runs, so growth is one 1-D maximum filter per run width plus
    row shifts: O(pixels x radius), much faster than a distance transform for the radii used on masks.
    """
    radius = int(radius)
    if radius <= 0 or not binary.any() or binary.all():
        return binary.copy()
    src = binary.view(np.uint8)
    runs = {}
    out = np.zeros_like(binary)
    height = binary.shape[0]
    for dy in range(-radius, radius + 1):
        if abs(dy) >= height:
            continue
        half = math.isqrt(radius * radius - dy * dy)
        if half not in runs:
            runs[half] = ndimage.maximum_filter1d(src, 2 * half + 1, axis=1, mode="constant").view(bool)
        row = runs[half]
        if dy >= 0:
            out[:height - dy] |= row[dy:]
        else:
            out[-dy:] |= row[:height + dy]
    return out


def label_block(binary):
    """8-connected labels of one block (0 = background) and the number of labels."""
    labels, count = ndimage.label(binary, structure=EIGHT)
    return labels, count


class RegionSizes:
    """Collects per-block labels and their edges, then merges them into global 8-connected region sizes.

    Blocks must come from one regular grid (row index, column index). Call add() for every block, then
    finish(min_size); afterwards keep(block_key, labels) says which local labels to keep.
    """

    def __init__(self):
        self._offset = {}
        self._edges = {}
        self._sizes = []
        self._total = 0
        self._keep = None

    def add(self, key, labels, count, weights=None):
        """Record block `key` = (row, col) with its local labels (0 = background); `weights` (one per label)
        replace the pixel counts as what a region's size adds up."""
        self._offset[key] = (self._total, count)
        sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:] if weights is None else np.asarray(weights)
        self._sizes.append(sizes.astype(np.int64))
        glob = lambda a: np.where(a > 0, a.astype(np.int64) + self._total - 1, -1)  # noqa: E731
        self._edges[key] = {"top": glob(labels[0]), "bottom": glob(labels[-1]),
                            "left": glob(labels[:, 0]), "right": glob(labels[:, -1])}
        self._total += count

    @staticmethod
    def _pairs_along(a, b):
        """Label pairs of two facing edges of equal length touching 8-connectedly (offset -1, 0 or +1)."""
        out = []
        for x, y in ((a, b), (a[:-1], b[1:]), (a[1:], b[:-1])):
            hit = (x >= 0) & (y >= 0)
            out.append(np.stack([x[hit], y[hit]]))
        return out

    def _links(self):
        pairs = []
        for (r, c), e in self._edges.items():
            right = self._edges.get((r, c + 1))
            if right is not None:
                pairs += self._pairs_along(e["right"], right["left"])
            below = self._edges.get((r + 1, c))
            if below is not None:
                pairs += self._pairs_along(e["bottom"], below["top"])
            for dc, mine, theirs in ((1, -1, 0), (-1, 0, -1)):  # diagonal corners
                diag = self._edges.get((r + 1, c + dc))
                if diag is not None and e["bottom"][mine] >= 0 and diag["top"][theirs] >= 0:
                    pairs.append(np.array([[e["bottom"][mine]], [diag["top"][theirs]]]))
        return np.concatenate(pairs, axis=1) if pairs else np.zeros((2, 0), dtype=np.int64)

    def finish(self, min_size):
        """Merge regions across blocks and decide, per global label, whether its region has >= min_size cells."""
        n = self._total
        sizes = np.concatenate(self._sizes) if self._sizes else np.zeros(0, np.int64)
        links = self._links()
        if n == 0:
            self._keep = np.zeros(0, dtype=bool)
            self.count = self.kept = 0
            return
        graph = coo_matrix((np.ones(links.shape[1], dtype=np.int8), (links[0], links[1])), shape=(n, n))
        self.count, component = connected_components(graph, directed=False)
        region_size = np.bincount(component, weights=sizes)
        self.kept = int((region_size >= min_size).sum())
        self._keep = region_size[component] >= min_size
        self._edges.clear()

    def keep(self, key, labels):
        """Boolean array: True where a labelled cell of block `key` lies in a region large enough to keep."""
        start, count = self._offset[key]
        table = np.concatenate([[False], self._keep[start:start + count]])
        return table[labels]
