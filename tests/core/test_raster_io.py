"""Block windows, halo reads and the atomic GeoTIFF writer (options, metadata, failure, other formats)."""

import numpy as np
import pytest
from osgeo import gdal

from cloud_removal.algorithms.core.progress import Cancelled, InputError, Progress
from cloud_removal.algorithms.core.raster_io import (
    Window,
    block_windows,
    check_band,
    nodata_mask,
    open_raster,
    read_window,
)
from cloud_removal.algorithms.core.raster_writer import RasterWriter, gtiff_options

gdal.UseExceptions()


@pytest.mark.parametrize("width, height, bw, bh, target", [
    (1000, 700, 256, 256, 512 * 512), (1000, 700, 1000, 1, 300 * 1000), (17, 5, 16, 16, 10), (5, 3, 5, 3, 1)])
def test_block_windows_tile_the_raster_exactly_once(width, height, bw, bh, target):
    cover = np.zeros((height, width), int)
    windows = list(block_windows(width, height, bw, bh, target))
    for w in windows:
        cover[w.y:w.y + w.h, w.x:w.x + w.w] += 1
        if w.x + w.w < width:
            assert w.w % bw == 0  # whole source blocks, except at the edge
        if w.y + w.h < height:
            assert w.h % bh == 0
    assert (cover == 1).all()


def test_window_halo_is_clipped_and_inner_slices_recover_the_window():
    win = Window(10, 0, 20, 5)
    outer = win.grow(3, width=25, height=100)
    assert outer == Window(7, 0, 18, 8)
    data = np.arange(100 * 25).reshape(100, 25)
    block = data[outer.y:outer.y + outer.h, outer.x:outer.x + outer.w]
    rows, cols = win.inner_slices(outer)
    assert np.array_equal(block[rows, cols], data[0:5, 10:25])


def test_nodata_mask_handles_nan_and_none():
    a = np.array([1.0, np.nan, -9999.0])
    assert nodata_mask(a, None).tolist() == [False, True, False]
    assert nodata_mask(a, -9999).tolist() == [False, True, True]
    assert nodata_mask(np.array([0, 3]), 3).tolist() == [False, True]


def test_open_and_check_band_messages(tmp_path):
    with pytest.raises(InputError, match="Cannot open the input raster"):
        open_raster(tmp_path / "missing.tif")
    ds = gdal.GetDriverByName("MEM").Create("", 4, 4, 2, gdal.GDT_Byte)
    with pytest.raises(InputError, match="has 2 band"):
        check_band(ds, 3)
    assert read_window(ds, 2, Window(1, 1, 2, 3)).shape == (3, 2)


@pytest.mark.parametrize("dtype, predictor", [(np.uint8, None), (np.uint16, "2"), (np.int16, "2"),
                                              (np.float32, "3")])
def test_written_geotiff_follows_gdal_conventions(tmp_path, dtype, predictor):
    path = tmp_path / "out.tif"
    data = (np.arange(600 * 700) % 200).reshape(600, 700).astype(dtype)
    with RasterWriter(path, 700, 600, 1, dtype, (0, 10, 0, 0, 0, -10), "EPSG:32633", nodata=0,
                      band_descriptions=["B02"]) as w:
        w.write(data[:300], 0, 0)
        w.write(data[300:], 0, 300)
    info = gdal.Info(str(path), format="json")
    band = info["bands"][0]
    assert band["block"] == [512, 512] and band["noDataValue"] == 0 and band["description"] == "B02"
    structure = info["metadata"]["IMAGE_STRUCTURE"]
    assert structure["COMPRESSION"] == "DEFLATE"
    assert structure.get("PREDICTOR") == predictor
    assert "32633" in info["coordinateSystem"]["wkt"]
    assert np.array_equal(gdal.Open(str(path)).ReadAsArray(), data)
    assert "BIGTIFF=IF_SAFER" in gtiff_options(dtype)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]


def test_colour_table_and_category_names(tmp_path):
    path = tmp_path / "classes.tif"
    with RasterWriter(path, 8, 8, 1, np.uint8, nodata=255, color_table={0: (0, 0, 0), 1: (255, 0, 255)},
                      category_names=["clear", "cloud"]) as w:
        w.write(np.eye(8, dtype=np.uint8), 0, 0)
    band = gdal.Info(str(path), format="json")["bands"][0]
    assert band["categories"] == ["clear", "cloud"]
    assert band["colorTable"]["entries"][1][:3] == [255, 0, 255]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), Cancelled("stop")])
def test_failure_or_cancel_leaves_no_output_and_keeps_the_previous_file(tmp_path, error):
    path = tmp_path / "out.tif"
    path.write_bytes(b"earlier result")
    with pytest.raises(type(error)):
        with RasterWriter(path, 16, 16, 1, np.uint8) as w:
            w.write(np.ones((8, 16), np.uint8), 0, 0)
            raise error
    assert path.read_bytes() == b"earlier result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_progress_cancel_raises_inside_update():
    stop = Progress(is_cancelled=lambda: True)
    with pytest.raises(Cancelled):
        stop.update(0.5)
    seen = []
    Progress(on_progress=seen.append).sub(0.5, 1.0).update(0.5)
    assert seen == [75.0]


def test_other_formats_by_extension(tmp_path):
    path = tmp_path / "out.img"
    with RasterWriter(path, 10, 10, 2, np.int16, nodata=-1) as w:
        w.write(np.full((2, 10, 10), 7, np.int16), 0, 0)
    ds = gdal.Open(str(path))
    assert ds.GetDriver().ShortName == "HFA" and ds.RasterCount == 2
    assert ds.ReadAsArray().max() == 7
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".aux.xml")) == ["out.img"]
    with pytest.raises(InputError, match="not one of the formats"):
        RasterWriter(tmp_path / "out.nope", 2, 2, 1, np.uint8)
