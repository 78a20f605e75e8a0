"""Atomic GeoTIFF output: tiled, DEFLATE-compressed, written to a temporary file and renamed on success.

A failed or cancelled run leaves no output and does not clobber an existing file.
"""

import os
import uuid

import numpy as np
from osgeo import gdal, gdal_array

from .progress import InputError

gdal.UseExceptions()

TILE = 512


def _driver_for(path):
    """The GDAL raster driver short name for an output path's extension (GTiff when unknown)."""
    ext = os.path.splitext(str(path))[1].lower().lstrip(".")
    if ext in ("", "tif", "tiff"):
        return "GTiff"
    for i in range(gdal.GetDriverCount()):
        drv = gdal.GetDriver(i)
        md = drv.GetMetadata() or {}
        if md.get("DCAP_RASTER") != "YES":
            continue
        if ext in (md.get("DMD_EXTENSIONS") or "").lower().split():
            if md.get("DCAP_CREATE") == "YES" or md.get("DCAP_CREATECOPY") == "YES":
                return drv.ShortName
    raise InputError(f"No GDAL driver writes rasters with the extension '.{ext}' of '{path}'; "
                     "use .tif for GeoTIFF.")


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


class RasterWriter:
    """Context manager writing a raster by windows; the output appears only if the block exits cleanly.

    color_table: {value: (r, g, b[, a])}; category_names: list indexed by value (class rasters).
    """

    def __init__(self, path, width, height, bands, dtype, geotransform=None, projection=None,
                 nodata=None, color_table=None, category_names=None, band_descriptions=None,
                 metadata=None):
        self.path = str(path)
        self.driver = _driver_for(self.path)
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        base = os.path.basename(self.path)
        self._tmp = os.path.join(folder, f".{base}.{uuid.uuid4().hex[:8]}.partial.tif")
        self.dtype = np.dtype(dtype)
        self.width, self.height, self.bands = int(width), int(height), int(bands)
        self._written = False
        self._late_classes = None
        gdal_type = gdal_array.NumericTypeCodeToGDALTypeCode(self.dtype)
        if gdal_type is None:
            raise InputError(f"Cannot write data type {self.dtype} to a raster.")
        categorical = color_table is not None or category_names is not None
        self.ds = gdal.GetDriverByName("GTiff").Create(
            self._tmp, self.width, self.height, self.bands, gdal_type,
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
            self.set_classes(color_table, category_names)

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
        for p in (self._tmp, self._tmp + ".aux.xml"):
            if os.path.exists(p):
                os.remove(p)

    def commit(self):
        """Close the temporary file and move it to the final path (converting if not GeoTIFF)."""
        try:
            self.ds.FlushCache()
            self.ds = None
            if self._late_classes is not None:
                ds = gdal.Open(self._tmp, gdal.GA_Update)
                self._apply_classes(ds, *self._late_classes)
                ds = None
            if self.driver != "GTiff":
                conv = self._tmp + "." + self.driver
                gdal.Translate(conv, self._tmp, format=self.driver)
                os.replace(conv, self.path)
                if os.path.exists(conv + ".aux.xml"):
                    os.replace(conv + ".aux.xml", self.path + ".aux.xml")
                self.abort()
                return
            os.replace(self._tmp, self.path)
            if os.path.exists(self._tmp + ".aux.xml"):
                os.replace(self._tmp + ".aux.xml", self.path + ".aux.xml")
            elif os.path.exists(self.path + ".aux.xml"):
                os.remove(self.path + ".aux.xml")  # stale side-car of an earlier output
        except Exception:
            self.abort()
            raise



def writer_like(ds, path, bands=None, dtype=None, **kwargs):
    """A RasterWriter on the same grid (size, geotransform, CRS) as dataset `ds`."""
    return RasterWriter(path, ds.RasterXSize, ds.RasterYSize, bands or ds.RasterCount,
                        dtype, ds.GetGeoTransform(can_return_null=True), ds.GetProjection(), **kwargs)
