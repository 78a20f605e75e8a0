"""Full-width rows of several bands, read a whole row of source blocks at a time and kept while later requests
still need them, so that a stream of overlapping row windows (the tile rows of Generate Cloud Mask) decodes each
compressed block once.

Reading overlapping windows band by band with GDAL's cache dropped in between (memory must stay per tile row)
decodes the blocks on a window's edges twice, and every block of a pixel-interleaved file once per band. Here the
bands are read together (one decode per block whatever the interleave) in chunks that end on a block boundary,
straight into one buffer that also holds the rows a later window shares, instead of GDAL's cache.
"""

import numpy as np

from .raster_io import Window, numpy_dtype, read_window_bands


class RowCache:
    """Rows y0..y1 of `bands` (1-based) of a GDAL dataset, for requests moving down the raster.

    Memory: one buffer of the tallest request plus less than one block row (blocks taller than the request and
    256 rows, such as one strip for the whole file, are read as asked). A request above the rows kept (a mirrored
    edge reaching back) is read directly, without changing what is kept.
    """

    def __init__(self, ds, bands):
        self.ds, self.bands = ds, [int(b) for b in bands]
        self.width, self.height = ds.RasterXSize, ds.RasterYSize
        self.block_h = max(1, min(ds.GetRasterBand(b).GetBlockSize()[1] for b in self.bands))
        self.dtypes = [numpy_dtype(ds, b) for b in self.bands]
        self.together = len(set(self.dtypes)) == 1  # one read for all bands needs one data type
        self.stack, self.buf = None, None  # (bands, capacity, width) when together; per band (capacity, width)
        self.top = self.count = 0  # self.buf holds raster rows top..top + count

    def rows(self, y0, y1):
        """The raw values of rows y0..y1 as a list of (y1 - y0, width) arrays, one per band: views valid until
        the next call (do not modify)."""
        if self.buf is not None and y0 < self.top:
            return self.read(y0, y1)
        have = self.top + self.count
        if self.buf is None or y0 >= have:
            self.top, self.count, have = y0, 0, y0  # nothing kept is needed again
        if y1 > have:
            end = y1
            if self.block_h <= max(y1 - y0, 256):  # whole block rows
                end = min(self.height, -(-y1 // self.block_h) * self.block_h)
            keep, skip = have - y0, y0 - self.top
            if self.buf is None or end - y0 > self.buf[0].shape[0]:
                old = self.buf
                self.stack, self.buf = self._alloc(end - y0)
                for new, kept in zip(self.buf, old or ()):
                    new[:keep] = kept[skip:skip + keep]
            elif keep and skip:
                for band in self.buf:
                    band[:keep] = band[skip:skip + keep]  # numpy copies overlapping slices correctly
            self._fill(self.stack, self.buf, keep, have, end)
            self.top, self.count = y0, end - y0
        return [band[y0 - self.top:y1 - self.top] for band in self.buf]

    def read(self, y0, y1):
        """Rows y0..y1 of every band read from the file into new arrays (nothing kept)."""
        stack, bands = self._alloc(y1 - y0)
        self._fill(stack, bands, 0, y0, y1)
        return bands

    def _alloc(self, rows):
        """(one (bands, rows, width) array or None, the per-band (rows, width) arrays)."""
        if self.together:
            stack = np.empty((len(self.bands), rows, self.width), self.dtypes[0])
            return stack, list(stack)
        return None, [np.empty((rows, self.width), dt) for dt in self.dtypes]

    def _fill(self, stack, bands, at, y0, y1):
        """Read raster rows y0..y1 into rows at.. of the arrays, in one read of all bands where they share a type
        (read_window_bands: GDAL's cache is dropped after)."""
        win = Window(0, y0, self.width, y1 - y0)
        one_read = win.w * win.h * len(self.bands)  # no strips: a strip's edge inside a block would decode it twice
        if stack is not None:
            read_window_bands(self.ds, self.bands, win, values=one_read, out=stack[:, at:at + win.h])
        else:
            for b, out in zip(self.bands, bands):
                read_window_bands(self.ds, [b], win, values=one_read, out=out[None, at:at + win.h])
