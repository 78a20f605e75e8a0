"""Atomic raster output: written in a private working folder beside the destination and moved into place only
when the run succeeds (see staging.py).

GeoTIFF (the default) is written directly, tiled and DEFLATE-compressed; other formats (raster_formats.FORMATS) are
converted from a working GeoTIFF into the same folder, so all their side files get their final names. A failed,
cancelled or killed run leaves no output and does not touch an existing file at the destination.
"""

import os
from dataclasses import dataclass

import numpy as np
from osgeo import gdal, gdal_array

from .progress import InputError
from .raster_formats import check_writable, output_driver
from .staging import Staging

TILE = 512


def gtiff_options(dtype, categorical=False):
    """Creation options following GDAL conventions: tiled, DEFLATE, predictor by type, BIGTIFF if needed.

    DEFLATE level 1: on a full S2 tile it compresses 3x faster than the default level 6 for files ~10 % larger.
    """
    dtype = np.dtype(dtype)
    opts = ["TILED=YES", f"BLOCKXSIZE={TILE}", f"BLOCKYSIZE={TILE}", "COMPRESS=DEFLATE", "ZLEVEL=1",
            "BIGTIFF=IF_SAFER", "NUM_THREADS=ALL_CPUS"]
    if not categorical:
        if dtype.kind == "f":
            opts.append("PREDICTOR=3")
        elif dtype.kind in "iu" and dtype.itemsize > 1:
            opts.append("PREDICTOR=2")
    return opts


@dataclass
class Layout:
    """What an output holds besides its pixels: nodata (one value, or one per band); color_table {value: (r, g, b[,
    a])} and category_names (a list indexed by value) for class rasters; band descriptions; dataset metadata."""

    nodata: object = None
    color_table: dict = None
    category_names: list = None
    band_descriptions: list = None
    metadata: dict = None


class RasterWriter:
    """Context manager writing a raster by windows; the output appears only if the block exits cleanly.

    `layout`: the fields of Layout (nodata, color_table, category_names, band_descriptions, metadata).
    """

    def __init__(self, path, width, height, bands, dtype, geotransform=None, projection=None, **layout):
        layout = Layout(**layout)
        self.path = str(path)
        self.dtype = np.dtype(dtype)
        self.width, self.height, self.bands = int(width), int(height), int(bands)
        categorical = layout.color_table is not None or layout.category_names is not None
        self.driver = output_driver(self.path, self.bands, self.dtype)
        check_writable(self.path)
        self._written = False
        self._late_classes = None
        self.ds = self._staging = None
        gdal_type = gdal_array.NumericTypeCodeToGDALTypeCode(self.dtype)
        if gdal_type is None:
            raise InputError(f"Cannot write data type {self.dtype} to a raster.")
        self._staging = Staging(self.path)
        self._work = (self._staging.staged if self.driver == "GTiff"
                      else os.path.join(self._staging.dir, ".work.tif"))
        try:
            self._create(gdal_type, categorical, geotransform, projection, layout)
        except BaseException:
            self.abort()
            raise

    def _create(self, gdal_type, categorical, geotransform, projection, layout):
        nodata, metadata, band_descriptions = layout.nodata, layout.metadata, layout.band_descriptions
        self.ds = gdal.GetDriverByName("GTiff").Create(
            self._work, self.width, self.height, self.bands, gdal_type,
            options=gtiff_options(self.dtype, categorical))
        if geotransform is not None:
            self.ds.SetGeoTransform(geotransform)
        if projection:
            self.ds.SetProjection(projection)
        if metadata:
            self.ds.SetMetadata({str(k): str(v) for k, v in metadata.items()})
        for b in range(1, self.bands + 1):
            band = self.ds.GetRasterBand(b)
            nd = nodata[b - 1] if isinstance(nodata, (list, tuple)) else nodata
            if nd is not None:
                band.SetNoDataValue(float(nd))
            if band_descriptions and b <= len(band_descriptions) and band_descriptions[b - 1]:
                band.SetDescription(str(band_descriptions[b - 1]))
        if categorical:
            self.set_classes(layout.color_table, layout.category_names)

    def set_classes(self, color_table=None, category_names=None):
        """Give every band a colour table {value: (r, g, b[, a])} and/or category names (index = value).

        May be called after writing: GDAL 3.10 (unlike 3.6) writes complete tiles at once, after which libtiff
        refuses to change the photometric tag ("Cannot modify tag ... while writing"), so the classes are then
        applied at commit, on the closed temporary file reopened for update.
        """
        if self._written:
            self._late_classes = (color_table, category_names)
            return
        self._apply_classes(self.ds, color_table, category_names)

    def _apply_classes(self, ds, color_table, category_names):
        for b in range(1, self.bands + 1):
            band = ds.GetRasterBand(b)
            if color_table:
                ct = gdal.ColorTable()
                for value, rgba in color_table.items():
                    ct.SetColorEntry(int(value), tuple(int(c) for c in (tuple(rgba) + (255,))[:4]))
                band.SetColorTable(ct)
                band.SetColorInterpretation(gdal.GCI_PaletteIndex)
            if category_names:
                band.SetCategoryNames([str(n) for n in category_names])

    def write(self, array, x, y, band=None):
        """Write a (h, w) array to `band` (1-based) or a (bands, h, w) array to all bands at column x, row y.

        A write that reaches the right edge flushes GDAL's cache, so tiles are compressed as rows complete and
        memory stays bounded by a row of blocks rather than growing with the scene.
        """
        array = np.asarray(array)
        self._written = True
        if band is not None:
            self.ds.GetRasterBand(band).WriteArray(array.astype(self.dtype, copy=False), int(x), int(y))
        else:
            if array.ndim == 2:
                array = array[None]
            for i in range(array.shape[0]):
                self.ds.GetRasterBand(i + 1).WriteArray(array[i].astype(self.dtype, copy=False), int(x), int(y))
        if int(x) + array.shape[-1] >= self.width:
            self.ds.FlushCache()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False

    def abort(self):
        """Discard everything written so far."""
        self.ds = None
        if self._staging is not None:
            self._staging.abort()
            self._staging = None

    def prepare(self):
        """Close the working file and convert it to the output format, still in the working folder."""
        if self.ds is None:
            return
        self.ds.FlushCache()
        self.ds = None
        if self._late_classes is not None:
            ds = gdal.Open(self._work, gdal.GA_Update)
            self._apply_classes(ds, *self._late_classes)
            ds = None
        if self.driver != "GTiff":
            out = gdal.Translate(self._staging.staged, self._work, format=self.driver)
            if out is None:
                raise RuntimeError(f"GDAL could not write {self.driver} file '{self.path}'")
            out = None
            for p in (self._work, self._work + ".aux.xml"):
                if os.path.exists(p):
                    os.remove(p)

    def publish(self):
        """Move the prepared output and its side files into place."""
        self._staging.commit()
        self._staging = None

    def commit(self):
        """Close, convert if needed and move the output into place; on any error nothing is left behind."""
        try:
            self.prepare()
            self.publish()
        except BaseException:
            self.abort()
            raise


def commit_together(*writers):
    """Commit several outputs of one run: all are converted first, so a failure leaves none of them."""
    writers = [w for w in writers if w is not None]
    try:
        for w in writers:
            w.prepare()
        for w in writers:
            w.publish()
    except BaseException:
        for w in writers:
            w.abort()
        raise


def writer_like(ds, path, bands=None, dtype=None, **kwargs):
    """A RasterWriter on the same grid (size, geotransform, CRS) as dataset `ds`."""
    return RasterWriter(path, ds.RasterXSize, ds.RasterYSize, bands or ds.RasterCount,
                        dtype, ds.GetGeoTransform(can_return_null=True), ds.GetProjection(), **kwargs)
