"""Block-wise reclassification equals a whole-array reference for any block size, across block edges."""

import numpy as np
import pytest
from osgeo import gdal
from scipy import ndimage

from cloud_removal.algorithms.core.morphology import grow_disk
from cloud_removal.algorithms.core.progress import Cancelled, InputError, Progress
from cloud_removal.algorithms.core.reclassify import reclassify_raster
from cloud_removal.algorithms.core.remap import Remap, parse_remap
from conftest import read_raster as read

gdal.UseExceptions()


def write(path, array, nodata=None, tile=None):
    opts = ["TILED=YES", f"BLOCKXSIZE={tile}", f"BLOCKYSIZE={tile}"] if tile else []
    gtype = {np.dtype(np.uint8): gdal.GDT_Byte, np.dtype(np.int16): gdal.GDT_Int16,
             np.dtype(np.float32): gdal.GDT_Float32}[array.dtype]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), array.shape[1], array.shape[0], 1, gtype, opts)
    ds.SetGeoTransform((500000, 10, 0, 4000000, 0, -10))
    ds.GetRasterBand(1).WriteArray(array)
    if nodata is not None:
        ds.GetRasterBand(1).SetNoDataValue(nodata)
    ds = None
    return str(path)



def reference(values, remap_text, nodata, grow, min_region):
    """Whole-array result of remap (DATA), min-region drop, then disk growth, nodata untouched."""
    remap = Remap(tuple(parse_remap(remap_text)), True)
    is_nd = values == nodata if nodata is not None else np.zeros(values.shape, bool)
    out = remap.apply(values, is_nd, np.uint8, 255)
    if min_region:
        labels, n = ndimage.label(out == 1, structure=np.ones((3, 3)))
        sizes = np.bincount(labels.ravel())
        small = (sizes < min_region)[labels] & (labels > 0)
        out[small] = 0
    if grow:
        grown = ndimage.distance_transform_edt(out != 1) <= grow
        out[grown & (out != 255)] = 1
    return out


@pytest.fixture()
def speckled(tmp_path):
    """Cloud classes 0-3 in blobs and specks, with nodata 255 in a corner and a snake crossing blocks."""
    rng = np.random.default_rng(42)
    base = ndimage.zoom(rng.random((12, 16)), 10, order=1)[:117, :149]
    values = np.digitize(base, [0.45, 0.6, 0.75]).astype(np.uint8)
    values[rng.random(values.shape) < 0.01] = 2  # isolated specks
    values[50, 3:140] = 3  # a one-pixel line spanning many blocks
    for i in range(100):  # a diagonal line: 8-connected only through corners
        values[i + 10, i + 20] = 1
    values[:9, :9] = 255
    return values


@pytest.mark.parametrize("grow, min_region", [(0, 0), (3, 0), (0, 25), (2, 40), (7, 3)])
@pytest.mark.parametrize("tile, block_pixels", [(16, 16 * 16), (16, 48 * 48), (32, 10 ** 7), (None, 37 * 149)])
def test_blockwise_equals_whole_array(tmp_path, speckled, grow, min_region, tile, block_pixels):
    src = write(tmp_path / "classes.tif", speckled, nodata=255, tile=tile)
    out = tmp_path / "mask.tif"
    reclassify_raster(src, 1, Remap(tuple(parse_remap("1 1;2 1;3 1")), True), out, grow=grow,
                      min_region=min_region, block_pixels=block_pixels)
    assert np.array_equal(read(out), reference(speckled, "1 1;2 1;3 1", 255, grow, min_region))


def test_region_merged_across_diagonal_block_corner(tmp_path):
    values = np.zeros((32, 32), np.uint8)
    values[15, 15] = values[16, 16] = 1  # two cells touching only at the corner of four 16x16 blocks
    src = write(tmp_path / "corner.tif", values, tile=16)
    remap = Remap(tuple(parse_remap("1 1")), True)
    reclassify_raster(src, 1, remap, tmp_path / "keep.tif", min_region=2, block_pixels=256)
    assert read(tmp_path / "keep.tif").sum() == 2
    reclassify_raster(src, 1, remap, tmp_path / "drop.tif", min_region=3, block_pixels=256)
    assert read(tmp_path / "drop.tif").sum() == 0


def test_output_metadata_binary_mask(tmp_path, speckled):
    src = write(tmp_path / "classes.tif", speckled, nodata=255, tile=16)
    out = tmp_path / "mask.tif"
    summary = reclassify_raster(src, 1, Remap(tuple(parse_remap("1 1;2 1;3 1")), True), out)
    assert summary == {"dtype": "uint8", "nodata": 255, "binary": True}
    info = gdal.Info(str(out), format="json")
    band = info["bands"][0]
    assert band["noDataValue"] == 255
    assert band["categories"] == ["clear", "cloud"]
    assert band["colorInterpretation"] == "Palette"
    assert info["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"] == "DEFLATE"
    assert band["block"] == [512, 512] or band["block"][0] == speckled.shape[1]
    assert info["geoTransform"] == [500000, 10, 0, 4000000, 0, -10]


def test_non_binary_result_has_no_colour_table(tmp_path):
    src = write(tmp_path / "c.tif", np.array([[0, 1, 5]], np.uint8))
    summary = reclassify_raster(src, 1, Remap(tuple(parse_remap("1 1")), True), tmp_path / "o.tif")
    assert summary["binary"] is False
    assert gdal.Open(str(tmp_path / "o.tif")).GetRasterBand(1).GetColorTable() is None


def test_float_and_signed_input(tmp_path):
    f = np.array([[0.1, 0.9, np.nan, 0.5]], np.float32)
    src = write(tmp_path / "f.tif", f)
    reclassify_raster(src, 1, Remap(tuple(parse_remap("0 0.5 0;0.5 1 1")), False), tmp_path / "f_out.tif")
    assert read(tmp_path / "f_out.tif").tolist() == [[0, 1, 255, 0]]
    s = np.array([[-9999, -3, 4, 2]], np.int16)
    src = write(tmp_path / "s.tif", s, nodata=-9999)
    reclassify_raster(src, 1, Remap(tuple(parse_remap("2 4 1")), True), tmp_path / "s_out.tif")
    out = gdal.Open(str(tmp_path / "s_out.tif"))
    assert out.ReadAsArray().tolist() == [[-9999, -3, 1, 1]]
    assert out.GetRasterBand(1).GetNoDataValue() == -9999


def test_bad_band_is_reported_before_output(tmp_path):
    src = write(tmp_path / "c.tif", np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError, match="Band 2 does not exist"):
        reclassify_raster(src, 2, Remap(tuple(parse_remap("1 1")), True), tmp_path / "o.tif")
    assert not (tmp_path / "o.tif").exists()


def test_cancel_leaves_no_output_and_keeps_existing_file(tmp_path, speckled):
    src = write(tmp_path / "classes.tif", speckled, nodata=255, tile=16)
    out = tmp_path / "mask.tif"
    out.write_bytes(b"previous result")
    calls = []

    def cancel_after_three():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        reclassify_raster(src, 1, Remap(tuple(parse_remap("1 1")), True), out, grow=2, min_region=5,
                          progress=Progress(is_cancelled=cancel_after_three), block_pixels=256)
    assert out.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classes.tif", "mask.tif"]


def test_progress_reaches_100(tmp_path, speckled):
    src = write(tmp_path / "classes.tif", speckled, nodata=255, tile=16)
    seen = []
    reclassify_raster(src, 1, Remap(tuple(parse_remap("1 1")), True), tmp_path / "o.tif", grow=1,
                      min_region=2, progress=Progress(on_progress=seen.append), block_pixels=256)
    assert seen == sorted(seen) and seen[-1] == pytest.approx(100)


@pytest.mark.parametrize("radius", [1, 2, 5, 13])
def test_grow_disk_equals_distance_transform(radius):
    rng = np.random.default_rng(radius)
    binary = rng.random((60, 45)) < 0.01
    binary[0, 0] = binary[-1, 20] = True
    expected = ndimage.distance_transform_edt(~binary) <= radius
    assert np.array_equal(grow_disk(binary, radius), expected)
