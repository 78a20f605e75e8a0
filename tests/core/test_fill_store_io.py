"""The fill's scratch store and multi-band reads: strip by strip they give exactly what one whole-window step gives."""

import numpy as np
import pytest
from osgeo import gdal

from cloud_removal.algorithms.core import slra
from cloud_removal.algorithms.core.fill_store import Scratch
from cloud_removal.algorithms.core.raster_io import Window, read_window, read_window_bands

gdal.UseExceptions()


@pytest.mark.parametrize("slots", [1, 3])
def test_scratch_put_in_strips_equals_one_put(tmp_path, slots):
    rng = np.random.default_rng(4)
    width, height = 300, 700
    win = Window(20, 30, 260, 640)
    stores = [Scratch(width, height, 2, np.float32, folder=str(tmp_path), slots=slots) for _ in range(2)]
    try:
        for k in (1, 2):  # two passes (or two values per pixel) over overlapping pixel sets
            n = 5000
            rows = rng.integers(100, 600, n).astype(np.int32)  # spans three strips of 256 rows
            cols = rng.integers(5, 250, n).astype(np.int32)
            _, first = np.unique(rows * win.w + cols, return_index=True)
            rows, cols = rows[first], cols[first]
            values = rng.normal(size=rows.size).astype(np.float32)
            for b in (1, 2):
                stores[0].put(b, win, rows, cols, values + b, k)                    # one strip
                stores[1].put(b, win, rows, cols, values + b, k, strip_pixels=1)    # strips of 256 rows
        full = Window(0, 0, width, height)
        (v0, f0), (v1, f1) = stores[0].get(full), stores[1].get(full)
        np.testing.assert_array_equal(f0, f1)
        np.testing.assert_array_equal(v0, v1)
        assert f0.max() == 2 and f0[:, :win.y + 100].max() == 0  # pass 2 (or two values); nothing above the pixels
    finally:
        for s in stores:
            s.close()


@pytest.mark.parametrize("interleave", ["PIXEL", "BAND"])
def test_read_window_bands_in_strips_equals_band_reads(tmp_path, interleave):
    rng = np.random.default_rng(5)
    data = rng.integers(0, 60000, (3, 333, 290)).astype(np.uint16)
    path = str(tmp_path / f"{interleave}.tif")
    ds = gdal.GetDriverByName("GTiff").Create(path, 290, 333, 3, gdal.GDT_UInt16,
                                              ["TILED=YES", "COMPRESS=DEFLATE", f"INTERLEAVE={interleave}"])
    for b in range(3):
        ds.GetRasterBand(b + 1).WriteArray(data[b])
    ds = None
    ds = gdal.Open(path)
    win = Window(7, 11, 270, 300)
    expect = np.stack([read_window(ds, b, win) for b in (3, 1)])
    for values in (1 << 22, 1000):  # one read, or strips of 256 rows
        got = read_window_bands(ds, (3, 1), win, values=values)
        assert got.dtype == np.uint16
        np.testing.assert_array_equal(got, expect)
        buffer = np.zeros((2, 310, 270), np.uint16)  # straight into a view of a larger array
        view = buffer[:, 5:305]
        assert read_window_bands(ds, (3, 1), win, values=values, out=view) is view
        np.testing.assert_array_equal(view, expect)
        assert not buffer[:, :5].any() and not buffer[:, 305:].any()
    np.testing.assert_array_equal(read_window_bands(ds, [2], win, dtype=np.float32)[0], data[1, 11:311, 7:277])


@pytest.mark.parametrize("window", [20, 80])  # pixel windows, block sums
def test_fill_band_reads_an_integer_target_without_changing_it(window):
    rng = np.random.default_rng(6)
    t = rng.integers(900, 1100, (90, 110)).astype(np.uint16)
    r = (0.7 * t + rng.integers(0, 40, t.shape)).astype(np.uint16)
    fill = np.zeros(t.shape, bool)
    fill[30:70, 40:95] = True
    valid = np.ones(t.shape, bool)
    plan = slra.RingPlan(fill, ring_width=2, depth=2 * (window // 2))
    before = t.copy()
    vi, si = slra.fill_band(plan, t, r, valid, valid, window // 2)
    vf, sf = slra.fill_band(plan, t.astype(np.float32), r, valid, valid, window // 2)
    np.testing.assert_array_equal(t, before)
    np.testing.assert_array_equal(si, sf)
    assert vi.dtype == np.float32
    np.testing.assert_allclose(vi, vf, rtol=1e-6)


@pytest.mark.parametrize("slots", [1, 2])
def test_scratch_reads_leave_no_blocks_in_gdal_cache(tmp_path, slots):
    """The merge reads every scratch block once: get, band, filled and missing drop them from GDAL's process-wide
    cache (5 % of RAM by default), which would otherwise fill on top of the fill's own memory."""
    store = Scratch(1024, 1024, 2, np.float32, folder=str(tmp_path), slots=slots)
    try:
        win = Window(0, 0, 1024, 1024)
        rows, cols = np.nonzero(np.ones((1024, 1024), bool))
        for b in (1, 2):
            store.put(b, win, rows.astype(np.int32), cols.astype(np.int32), np.full(rows.size, b, np.float32))
        before = gdal.GetCacheUsed()
        values, flags = store.get(win)
        assert (flags > 0).all() and values[1].min() == 2
        store.band(2, win)
        assert store.filled(win).all() == (slots == 1) and not store.missing(win).any()
        assert gdal.GetCacheUsed() <= before  # 8 MB of values and 2 MB of flags were read
    finally:
        store.close()
