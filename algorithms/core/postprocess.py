"""Post-processing of a per-pixel cloud probability described by a model card ("postprocess"): average over a disk,
threshold, grow the cloud by a disk (s2cloudless's published post-processing, in generic form), streamed row by
row with a halo so that the result does not depend on how rows are split."""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .morphology import grow_disk


@dataclass(frozen=True)
class PostProcess:
    """Card post-processing: cloud where the disk mean of the cloud probability exceeds `threshold`, then grown."""

    average_over: int = 0   # disk radius in pixels of the processing grid (0: no averaging)
    dilation_size: int = 0  # disk radius in pixels of the processing grid (0: no growing)
    threshold: float = 0.5

    @property
    def halo(self):
        """Rows above and below a block that its result depends on."""
        return self.average_over + self.dilation_size


def parse_postprocess(value, n_classes, cloud_classes):
    """The card's "postprocess" object as a PostProcess (None when absent); ValueError names what is wrong."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("'postprocess' must be an object with 'threshold', 'average_over' and 'dilation_size'")
    unknown = sorted(set(value) - {"threshold", "average_over", "dilation_size"})
    if unknown:
        raise ValueError(f"unknown key(s) {unknown} in 'postprocess'")
    for key in ("average_over", "dilation_size"):
        v = value.get(key, 0)
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 256:
            raise ValueError(f"'postprocess.{key}' must be an integer radius in pixels from 0 to 256")
    thr = value.get("threshold")
    if not isinstance(thr, (int, float)) or isinstance(thr, bool) or not 0 < thr < 1:
        raise ValueError("'postprocess.threshold' must be a number between 0 and 1 (cloud probability)")
    if n_classes != 2 or len(cloud_classes) != 1:
        raise ValueError("'postprocess' needs exactly two classes (clear and cloud) and one of them in "
                         "'cloud_classes'")
    return PostProcess(int(value.get("average_over", 0)), int(value.get("dilation_size", 0)), float(thr))


def disk(radius):
    """Boolean (2r+1, 2r+1) disk: offsets with dx^2 + dy^2 <= r^2 (the same set as skimage's and s2cloudless's
    OpenCV disk).

    Parameters
    ----------
    radius : int
        Radius in pixels, >= 0.

    Returns
    -------
    numpy.ndarray
        bool array of shape (2 * radius + 1, 2 * radius + 1).
    """
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return x * x + y * y <= radius * radius


def disk_mean(prob, radius):
    """Mean of `prob` over a disk around each pixel, with the image mirrored at its edges (edge pixel repeated:
    'dcba|abcd', OpenCV's BORDER_REFLECT, as s2cloudless uses).

    Parameters
    ----------
    prob : numpy.ndarray
        2-D float array.
    radius : int
        Disk radius in pixels; 0 returns a float32 copy.

    Returns
    -------
    numpy.ndarray
        float32 array of the shape of `prob`.
    """
    prob = np.asarray(prob, np.float32)
    if radius <= 0:
        return prob.copy()
    kernel = disk(radius).astype(np.float64)
    return ndimage.correlate(prob, kernel / kernel.sum(), mode="reflect").astype(np.float32)


def cloud_mask(prob, post):
    """Cloud (True) where the disk mean of the cloud probability exceeds the threshold, grown by a disk.

    Parameters
    ----------
    prob : numpy.ndarray
        2-D cloud probability, 0 to 1.
    post : PostProcess
        Radii and threshold.

    Returns
    -------
    numpy.ndarray
        bool array of the shape of `prob`: outside the image counts as clear for the growing.
    """
    mask = disk_mean(prob, post.average_over) > np.float32(post.threshold)
    return grow_disk(mask, post.dilation_size) if post.dilation_size > 0 else mask


class PostProcessRows:
    """Applies a PostProcess to (classes, rows, width) probabilities that arrive in row order, returning rows with
    one more channel (the cloud decision, 0 or 1) once the halo below them has arrived.

    Memory: the rows of one push plus 2 x halo rows, whatever the height. The result equals `cloud_mask` on the
    whole image.
    """

    def __init__(self, height, post, cloud_classes):
        self.height, self.post, self.cloud = height, post, list(cloud_classes)
        self.buf, self.buf_row0 = None, 0  # raw rows kept, and the raster row of buf[:, 0]
        self.next_row = 0  # first row not yet returned

    def push(self, row0=None, rows=None, last=False):
        """Add rows starting at `row0` (or nothing); return (first row, (classes + 1, n, width)) or None."""
        if rows is not None:
            if self.buf is None:
                self.buf, self.buf_row0 = rows, row0
            else:
                self.buf = np.concatenate([self.buf, rows], axis=1)
        if self.buf is None:
            return None
        have = self.buf_row0 + self.buf.shape[1]
        halo = self.post.halo
        e0, e1 = self.next_row, (self.height if last else have - halo)
        if e1 <= e0:
            return None
        w0, w1 = max(0, e0 - halo), min(self.height, e1 + halo)
        window = self.buf[:, w0 - self.buf_row0:w1 - self.buf_row0]
        mask = cloud_mask(window[self.cloud].sum(axis=0), self.post)[e0 - w0:e1 - w0]
        out = np.concatenate([window[:, e0 - w0:e1 - w0], mask[None].astype(np.float32)])
        self.next_row = e1
        drop = max(0, e1 - halo) - self.buf_row0
        if drop > 0:
            self.buf, self.buf_row0 = self.buf[:, drop:], self.buf_row0 + drop
        return e0, out
