"""Full-width rows of several bands, read a whole row of source blocks at a time and kept while later requests
still need them, so that a stream of overlapping row windows (the tile rows of Generate Cloud Mask) decodes each
compressed block once.

Reading overlapping windows band by band with GDAL's cache dropped in between (memory must stay per tile row)
decodes the blocks on a window's edges twice, and every block of a pixel-interleaved file once per band. Here the
bands are read together (one decode per block whatever the interleave) in chunks that end on a block boundary,
and the rows a later window shares are kept in memory instead of in GDAL's cache.
"""

import numpy as np

from .raster_io import Window, _read_or_fail, numpy_dtype


class RowCache:
    """Rows y0..y1 of `bands` (1-based) of a GDAL dataset, for requests moving down the raster.

    Memory: the rows of the last request plus less than one block row. A request above the rows kept (a mirrored
    edge reaching back) is read directly, without changing what is kept.
    """

    def __init__(self, ds, bands):
        self.ds, self.bands = ds, [int(b) for b in bands]
        self.width, self.height = ds.RasterXSize, ds.RasterYSize
        self.block_h = max(1, min(ds.GetRasterBand(b).GetBlockSize()[1] for b in self.bands))
        dtypes = {numpy_dtype(ds, b) for b in self.bands}
        self.together = len(dtypes) == 1  # one read for all bands needs one data type
        self.top, self.kept = 0, None  # raster row of the first kept row; list of (rows, width) arrays per band

    def rows(self, y0, y1):
        """The raw values of rows y0..y1 as a list of (y1 - y0, width) arrays, one per band (views: do not
        modify)."""
        if self.kept is not None and y0 < self.top:
            return self.read(y0, y1)
        have = self.top + (0 if self.kept is None else self.kept[0].shape[0])
        if self.kept is None or y0 >= have:
            self.top, self.kept, have = y0, None, y0
        if y1 > have:
            end = y1
            if self.block_h <= max(y1 - y0, 256):  # whole block rows; taller blocks (one strip) are read as asked
                end = min(self.height, -(-y1 // self.block_h) * self.block_h)
            new = self.read(have, end)
            if self.kept is not None:
                new = [np.concatenate([k[y0 - self.top:], n]) for k, n in zip(self.kept, new)]
            self.top, self.kept = y0, new
        if y0 > self.top:  # drop the rows no later request needs
            self.kept = [k[y0 - self.top:] for k in self.kept]
            self.top = y0
        return [k[:y1 - y0] for k in self.kept]

    def read(self, y0, y1):
        """Rows y0..y1 of every band read from the file (nothing kept), GDAL's cache dropped after."""
        win = Window(0, y0, self.width, y1 - y0)
        try:
            if self.together:
                arr = _read_or_fail(self.ds.ReadAsArray, self.ds, f"bands {self.bands}", win,
                                    band_list=self.bands)
                return list(arr.reshape(len(self.bands), win.h, win.w))
            return [_read_or_fail(self.ds.GetRasterBand(b).ReadAsArray, self.ds, f"band {b}", win)
                    for b in self.bands]
        finally:
            self.ds.FlushCache()
