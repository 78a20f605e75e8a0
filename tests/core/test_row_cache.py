"""RowCache: the rows asked for, whatever the file's block layout, interleave and band types, in bounded memory."""

import numpy as np
import pytest
from osgeo import gdal

from cloud_removal.algorithms.core.gdal_env import gdal_scope, open_with_decode_threads
from cloud_removal.algorithms.core.row_cache import RowCache

HEIGHT, WIDTH = 97, 23
# the requests of a stream of overlapping strips, with a jump forward and mirrored edges reaching back
REQUESTS = [(0, 20), (14, 40), (14, 40), (35, 61), (30, 50), (56, 82), (60, 70), (71, 97), (52, 97), (90, 97), (0, 5)]


def _values(bands):
    rng = np.random.default_rng(bands)
    return rng.integers(0, 60000, size=(bands, HEIGHT, WIDTH)).astype(np.uint16)


def _gtiff(path, values, options):
    ds = gdal.GetDriverByName("GTiff").Create(str(path), WIDTH, HEIGHT, len(values), gdal.GDT_UInt16,
                                              options=options)
    for i, v in enumerate(values):
        ds.GetRasterBand(i + 1).WriteArray(v)
    ds = None
    return gdal.Open(str(path))


LAYOUTS = {
    "tiled band interleave": ["TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16", "COMPRESS=DEFLATE", "INTERLEAVE=BAND"],
    "tiled pixel interleave": ["TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16", "COMPRESS=DEFLATE",
                               "INTERLEAVE=PIXEL"],
    "one-row strips": ["BLOCKYSIZE=1"],
    "strips of 10 rows": ["BLOCKYSIZE=10", "COMPRESS=LZW"],
    "one strip for the whole raster": [f"BLOCKYSIZE={HEIGHT}"],
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("bands", [[1], [3, 1, 2]])
def test_rows_are_the_file_values_in_any_layout(tmp_path, layout, bands):
    values = _values(3)
    ds = _gtiff(tmp_path / "r.tif", values, LAYOUTS[layout])
    cache = RowCache(ds, bands)
    tallest = 0
    for y0, y1 in REQUESTS:
        tallest = max(tallest, y1 - y0)
        got = cache.rows(y0, y1)
        assert len(got) == len(bands)
        for b, arr in zip(bands, got):
            assert arr.dtype == np.uint16 and np.array_equal(arr, values[b - 1, y0:y1]), (layout, y0, y1)
        # memory: the tallest request and less than a block row (whole-raster strips are read as asked)
        assert cache.buf[0].shape[0] < tallest + cache.block_h
    assert [a.tolist() for a in cache.read(5, 9)] == [values[b - 1, 5:9].tolist() for b in bands]


def test_whole_block_rows_are_read_once(tmp_path, monkeypatch):
    ds = _gtiff(tmp_path / "r.tif", _values(2), LAYOUTS["tiled band interleave"])
    cache = RowCache(ds, [1, 2])
    reads = []
    real = cache._fill
    monkeypatch.setattr(cache, "_fill", lambda stack, bands, at, y0, y1: reads.append((y0, y1)) or
                        real(stack, bands, at, y0, y1))
    for y0, y1 in [(0, 20), (14, 40), (35, 61), (56, 82), (71, 97)]:
        cache.rows(y0, y1)
    # each read ends on a block boundary (16 rows) or at the raster's end, and no row is read twice
    assert reads == [(0, 32), (32, 48), (48, 64), (64, 96), (96, 97)]


def test_bands_of_different_types_are_read_one_by_one():
    ds = gdal.GetDriverByName("MEM").Create("", WIDTH, HEIGHT, 1, gdal.GDT_UInt16)
    ds.AddBand(gdal.GDT_Float32)
    a = np.arange(HEIGHT * WIDTH, dtype=np.uint16).reshape(HEIGHT, WIDTH)
    ds.GetRasterBand(1).WriteArray(a)
    ds.GetRasterBand(2).WriteArray(a / 7.0)
    cache = RowCache(ds, [1, 2])
    assert not cache.together
    first, second = cache.rows(3, 30)
    assert first.dtype == np.uint16 and np.array_equal(first, a[3:30])
    assert second.dtype == np.float32 and np.allclose(second, a[3:30] / 7.0)


def test_decode_threads_only_where_the_scope_chose_them():
    seen = []

    def opened():
        seen.append(gdal.GetConfigOption("GDAL_NUM_THREADS"))

    open_with_decode_threads(opened, 1)  # outside a scope: nothing set
    with gdal_scope():
        open_with_decode_threads(opened, 1)
        assert gdal.GetConfigOption("GDAL_NUM_THREADS") == "ALL_CPUS"  # restored
    gdal.SetConfigOption("GDAL_NUM_THREADS", "3")  # the user's own value is kept
    try:
        with gdal_scope():
            open_with_decode_threads(opened, 1)
    finally:
        gdal.SetConfigOption("GDAL_NUM_THREADS", None)
    assert seen == [None, "1", "3"]
    assert gdal.GetConfigOption("GDAL_NUM_THREADS") is None
