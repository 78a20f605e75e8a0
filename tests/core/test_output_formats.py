"""Every output format the writer accepts is written exactly, with its side files under their final names; the
others are refused before anything is written."""

import numpy as np
import pytest
from osgeo import gdal, osr

from cloud_removal.algorithms.core.gdal_env import gdal_scope
from cloud_removal.algorithms.core.progress import InputError
from cloud_removal.algorithms.core.raster_formats import FORMATS
from cloud_removal.algorithms.core.raster_writer import RasterWriter
from conftest import leftovers

GT = (300000.0, 10.0, 0.0, 5000000.0, 0.0, -10.0)


def _srs():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32633)
    return srs


def _write(path, data, nodata, classes=False):
    with gdal_scope():
        kwargs = {}
        if classes:
            kwargs = {"color_table": {0: (0, 0, 0), 1: (255, 0, 0)}, "category_names": ["clear", "cloud"]}
        with RasterWriter(path, data.shape[2], data.shape[1], data.shape[0], data.dtype, GT, _srs().ExportToWkt(),
                          nodata=nodata, **kwargs) as w:
            w.write(data[:, :8], 0, 0)
            w.write(data[:, 8:], 0, 8)


@pytest.mark.parametrize("ext", sorted(FORMATS))
@pytest.mark.parametrize("kind", ["class raster", "image"])
def test_each_supported_format_round_trips(tmp_path, ext, kind):
    driver, max_bands = FORMATS[ext]
    rng = np.random.default_rng(1)
    if kind == "class raster":
        data, nodata = rng.integers(0, 3, (1, 16, 20)).astype(np.uint8), 255
        data[0, 0, 0] = 255
    else:
        bands = 3 if max_bands is None or max_bands >= 3 else 1
        data, nodata = rng.integers(0, 10000, (bands, 16, 20)).astype(np.uint16), 0
        if ext == "asc":
            data = data.astype(np.int16)
    out = tmp_path / f"out.{ext}"
    _write(out, data, nodata, classes=kind == "class raster")
    assert leftovers(tmp_path) == []
    names = {p.name for p in tmp_path.iterdir()}
    assert all(n.startswith("out.") for n in names), names  # side files carry the final name
    ds = gdal.Open(str(out))
    assert ds.GetDriver().ShortName == driver
    got = ds.ReadAsArray().reshape(data.shape)
    assert np.array_equal(got, data)
    assert np.allclose(ds.GetGeoTransform(), GT)
    srs = osr.SpatialReference(wkt=ds.GetProjection())
    assert srs.GetAuthorityCode(None) == "32633" or srs.IsSame(_srs())
    if ext not in ("png",):
        assert ds.GetRasterBand(1).GetNoDataValue() == nodata


@pytest.mark.parametrize("name, bands, dtype, why", [
    ("out.vrt", 1, np.uint8, "VRT"), ("out.jpg", 1, np.uint8, "lossy"), ("out.jp2", 1, np.uint8, "lossy"),
    ("out.webp", 3, np.uint8, "lossy"), ("out.gpkg", 1, np.uint8, "not one of the formats"),
    ("out.png", 10, np.uint8, "at most 4 band"), ("out.sdat", 4, np.uint16, "at most 1 band"),
    ("out.asc", 2, np.int16, "at most 1 band"), ("out.bil", 1, np.float64, "cannot store Float64"),
    ("out.png", 1, np.int16, "cannot store Int16")])
def test_unsupported_outputs_are_refused_before_writing(tmp_path, name, bands, dtype, why):
    with pytest.raises(InputError, match=why) as err:
        RasterWriter(tmp_path / name, 4, 4, bands, dtype)
    assert ".tif" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_in_another_format_leaves_nothing_and_keeps_an_earlier_file(tmp_path):
    out = tmp_path / "out.bil"
    out.write_bytes(b"earlier")
    with pytest.raises(ZeroDivisionError):
        with gdal_scope(), RasterWriter(out, 4, 4, 2, np.uint16) as w:
            w.write(np.ones((2, 4, 4), np.uint16), 0, 0)
            raise ZeroDivisionError
    assert out.read_bytes() == b"earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bil"]


def test_output_folder_that_cannot_be_created_is_refused(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(InputError, match="not writable"):
        RasterWriter(blocker / "out.tif", 4, 4, 1, np.uint8)
