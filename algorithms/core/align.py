"""Put a raster on another raster's grid through a GDAL warped VRT (nothing is resampled to disk)."""

import numpy as np
from osgeo import gdal, osr

from .progress import InputError


def _srs(ds):
    wkt = ds.GetProjection()
    if not wkt:
        return None
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return srs


def _has_geotransform(ds):
    return ds.GetGeoTransform(can_return_null=True) is not None


def same_grid(ref, ds, rel_tol=1e-6):
    """True when ds has ref's size and, within a millionth of a pixel, its geotransform, and the same CRS."""
    if (ref.RasterXSize, ref.RasterYSize) != (ds.RasterXSize, ds.RasterYSize):
        return False
    ga, gb = ref.GetGeoTransform(can_return_null=True), ds.GetGeoTransform(can_return_null=True)
    if (ga is None) != (gb is None):
        return False
    if ga is not None:
        px = max(abs(ga[1]), abs(ga[5]), 1e-12)
        tol = [rel_tol * px if i in (0, 3) else rel_tol * px / max(ref.RasterXSize, ref.RasterYSize)
               for i in range(6)]
        if any(abs(a - b) > t for a, b, t in zip(ga, gb, tol)):
            return False
    sa, sb = _srs(ref), _srs(ds)
    if sa is None or sb is None:
        return True  # one side has no CRS: the pixel grid alone decides
    return bool(sa.IsSame(sb))


def extent(ds):
    """(xmin, ymin, xmax, ymax) of a north-up dataset."""
    gt = ds.GetGeoTransform()
    x0, x1 = gt[0], gt[0] + gt[1] * ds.RasterXSize
    y0, y1 = gt[3], gt[3] + gt[5] * ds.RasterYSize
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _extent_in(ds, srs_to):
    """ds's extent transformed into srs_to (densified edges), or None if it cannot be transformed."""
    xmin, ymin, xmax, ymax = extent(ds)
    s = np.linspace(0, 1, 21)
    xs = np.concatenate([xmin + s * (xmax - xmin), np.full(21, xmax), xmin + s * (xmax - xmin), np.full(21, xmin)])
    ys = np.concatenate([np.full(21, ymin), ymin + s * (ymax - ymin), np.full(21, ymax), ymin + s * (ymax - ymin)])
    src = _srs(ds)
    if src is not None and srs_to is not None and not src.IsSame(srs_to):
        ct = osr.CoordinateTransformation(src, srs_to)
        pts = [ct.TransformPoint(float(x), float(y)) for x, y in zip(xs, ys)]
        pts = np.array([p[:2] for p in pts], float)
        pts = pts[np.isfinite(pts).all(axis=1)]
        if pts.size == 0:
            return None
        xs, ys = pts[:, 0], pts[:, 1]
    return xs.min(), ys.min(), xs.max(), ys.max()


def align_to(ref, ds, resample, what, progress=None):
    """ds itself when it is on ref's grid, else a warped VRT of ds on ref's grid with an alpha band last.

    Returns (dataset, alpha band number or None). Raises InputError when ds cannot be placed on ref's grid
    (no georeferencing, rotated grid) or does not overlap it.
    """
    if same_grid(ref, ds):
        return ds, None
    if not (_has_geotransform(ref) and _has_geotransform(ds)):
        raise InputError(f"The {what} ({ds.RasterXSize} x {ds.RasterYSize} pixels) is not on the input's grid "
                         f"({ref.RasterXSize} x {ref.RasterYSize}) and one of them has no georeferencing, so it "
                         "cannot be aligned; give rasters on the same grid or georeferenced ones.")
    for d in (ref, ds):
        gt = d.GetGeoTransform()
        if gt[2] != 0 or gt[4] != 0:
            raise InputError(f"'{d.GetDescription()}' has a rotated grid; warp it to a north-up grid first.")
    rx = extent(ref)
    ox = _extent_in(ds, _srs(ref))
    if ox is None or ox[0] >= rx[2] or ox[2] <= rx[0] or ox[1] >= rx[3] or ox[3] <= rx[1]:
        raise InputError(f"The {what} does not overlap the input raster: nothing to take from it. "
                         "Check that both cover the same area (and their CRS).")
    gt = ref.GetGeoTransform()
    opts = gdal.WarpOptions(format="VRT", outputBounds=rx, width=ref.RasterXSize, height=ref.RasterYSize,
                            dstSRS=ref.GetProjection() or None, resampleAlg=resample, dstAlpha=True,
                            outputType=gdal.GDT_Float64 if resample != "near" else gdal.GDT_Unknown)
    if gt[5] > 0:
        raise InputError("The input raster is south-up (positive pixel height); warp it to north-up first.")
    vrt = gdal.Warp("", ds, options=opts)
    if vrt is None:
        raise InputError(f"GDAL could not align the {what} to the input's grid.")
    if progress is not None:
        progress.log(f"The {what} is on another grid ({ds.RasterXSize} x {ds.RasterYSize}); aligned to the "
                     f"input's grid on the fly (GDAL warped VRT, {resample} resampling).")
    return vrt, vrt.RasterCount
