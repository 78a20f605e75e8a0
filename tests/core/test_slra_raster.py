"""SLRA on raster files: equal to the array core, block-size independent, bit-exact outside, checks before output."""

import numpy as np
import pytest
from osgeo import gdal

from cloud_removal.algorithms.core import slra, slra_raster
from cloud_removal.algorithms.core.progress import InputError, Progress
from conftest import read_stack as read
from conftest import write_raster

GT = (500000.0, 20.0, 0.0, 9100000.0, 0.0, -20.0)


def write(path, arr, gt=GT, epsg=32737, nodata=None, dtype=None):
    return write_raster(path, np.asarray(arr if dtype is None else np.asarray(arr).astype(dtype)), gt=gt, epsg=epsg,
                        nodata=nodata)



def blobs(rng, h, w, n, rmax):
    yy, xx = np.mgrid[:h, :w]
    m = np.zeros((h, w), np.uint8)
    for _ in range(n):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(2, rmax + 1)
        m[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1
    return m


def scene(rng, h, w, nb=3):
    base = rng.normal(0, 30, (nb, h, w)).cumsum(axis=2).cumsum(axis=1) / 40 + 1000
    return base + rng.normal(0, 5, (nb, h, w)), 0.7 * base + 100 + rng.normal(0, 5, (nb, h, w))


@pytest.fixture()
def case(tmp_path):
    rng = np.random.default_rng(1)
    h, w = 260, 330
    t, r = scene(rng, h, w)
    m = blobs(rng, h, w, 6, 9)
    return (write(tmp_path / "t.tif", t), write(tmp_path / "r.tif", r), write(tmp_path / "m.tif", m), t, r, m)


def test_equals_array_core_with_several_groups_and_block_sizes(case, tmp_path):
    tp, rp, mp, t, r, m = case
    logs = []
    s = slra_raster.run_slra(tp, rp, mp, tmp_path / "o1.tif", window_size=20, buffer=0,
                             progress=Progress(on_log=logs.append))
    assert s["groups"] > 1, s
    ref, _ = slra.slra_fill(t, r, m.astype(bool), window_size=20)
    out = read(tmp_path / "o1.tif")
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-8)
    np.testing.assert_array_equal(out[:, m == 0], t[:, m == 0])     # outside: bit for bit
    slra_raster.run_slra(tp, rp, mp, tmp_path / "o2.tif", window_size=20, buffer=0, block_pixels=32 * 32)
    np.testing.assert_array_equal(read(tmp_path / "o2.tif"), out)
    assert any("independent group" in line for line in logs)


@pytest.mark.parametrize("window, dtype", [(20, None), (80, np.uint16)])  # pixel windows; block sums, int target
def test_band_by_band_reads_give_the_same_output(case, tmp_path, monkeypatch, window, dtype):
    """Small group windows are read with one read of all bands; larger ones band by band: same output."""
    from cloud_removal.algorithms.core import fill_runner

    _, _, mp, t, r, _ = case
    tp, rp = write(tmp_path / "ti.tif", t, dtype=dtype), write(tmp_path / "ri.tif", r, dtype=dtype)
    slra_raster.run_slra(tp, rp, mp, tmp_path / "all.tif", window_size=window)
    monkeypatch.setattr(fill_runner, "READ_ALL_BYTES", 0)
    slra_raster.run_slra(tp, rp, mp, tmp_path / "each.tif", window_size=window)
    np.testing.assert_array_equal(read(tmp_path / "each.tif"), read(tmp_path / "all.tif"))


def test_one_read_per_pass_for_overlapping_group_windows(case, tmp_path, monkeypatch):
    """Groups whose windows overlap on a small raster take them from one read of the whole raster per pass; a
    chained second pass writes the first pass's values into its own copy only: the same output as band reads."""
    from cloud_removal.algorithms.core import fill_runner
    from cloud_removal.algorithms.core.multi_date import run_multi_date_fill

    tp, rp, _, t, r, m = case
    m = np.zeros(m.shape, np.uint8)
    for y in (5, 133):  # six groups, 8 grouping cells apart: their windows (margin 80) overlap by 48 pixels
        for x in (5, 133, 261):
            m[y:y + 6, x:x + 6] = 1
    mp = write(tmp_path / "m6.tif", m)
    half = np.zeros(m.shape, np.uint8)
    half[:, np.arange(m.shape[1]) % 128 >= 8] = 1   # replacement 1 is cloudy over each cloud's right part: pass 2
    r1m = write(tmp_path / "r1m.tif", half)         # fills the rest of all six, pass 1's values known
    r2 = write(tmp_path / "r2.tif", 0.9 * r + 50)
    whole = []
    read_whole = fill_runner.PassFiller.read_whole

    def spy(self, groups):
        read_whole(self, groups)
        whole.append(self.whole is not None)

    monkeypatch.setattr(fill_runner.PassFiller, "read_whole", spy)
    kw = dict(input_mask=mp, replacement_masks=[r1m, None], auto_mask=False, window_size=40, buffer=0,
              order="given", combine=1)
    s = run_multi_date_fill(tp, [rp, r2], tmp_path / "whole.tif", **kw)
    assert s["groups"] == 6 and s["per_pass"][1] > 0 and whole == [True, True], (s, whole)
    monkeypatch.setattr(fill_runner, "READ_ALL_BYTES", 0)
    run_multi_date_fill(tp, [rp, r2], tmp_path / "each.tif", **kw)
    assert whole[2:] == [False, False]
    np.testing.assert_array_equal(read(tmp_path / "each.tif"), read(tmp_path / "whole.tif"))
    np.testing.assert_array_equal(read(tp), t)


def test_same_output_for_any_thread_count_and_block_size(case, tmp_path):
    """Bands filled one at a time or two in parallel threads, big or small I/O blocks: the same bits (the membrane
    solves' sums do not depend on BLAS threads either)."""
    tp, rp, mp, _, _, _ = case
    outs = []
    for i, (threads, block_pixels) in enumerate([(1, 1 << 22), (2, 1 << 22), (0, 64 * 64)]):
        slra_raster.run_slra(tp, rp, mp, tmp_path / f"o{i}.tif", window_size=80, threads=threads,
                             block_pixels=block_pixels)
        outs.append(read(tmp_path / f"o{i}.tif"))
    np.testing.assert_array_equal(outs[1], outs[0])
    np.testing.assert_array_equal(outs[2], outs[0])


@pytest.mark.parametrize("window", [20, 80])
def test_same_output_for_any_statistics_tile(case, tmp_path, monkeypatch, window):
    """The rings' statistics are computed tile by tile (slra.statistics_tile: PIXEL_TILE for pixel windows,
    BLOCK_TILE for windows on blocks, chosen for speed only): any tile size gives the same values, to the rounding
    of the window sums' order of addition (1e-15 relative here, float64 output)."""
    tp, rp, mp, _, _, _ = case
    outs = []
    for i, tile in enumerate((32, 96, 512)):
        monkeypatch.setattr(slra, "PIXEL_TILE", tile)
        monkeypatch.setattr(slra, "BLOCK_TILE", tile)
        slra_raster.run_slra(tp, rp, mp, tmp_path / f"o{i}.tif", window_size=window)
        outs.append(read(tmp_path / f"o{i}.tif"))
    for out in outs[1:]:
        np.testing.assert_allclose(out, outs[0], rtol=1e-12, atol=0)


def test_bands_corrected_together_or_one_by_one_give_the_same_bits(case, tmp_path, monkeypatch):
    """Groups of moderate size solve the residual corrections of all bands at once (in one solve per worker when
    large), bands with the same filled and boundary pixels sharing one solve (here a band whose replacement has a
    gap differs); large ones correct band by band. The output does not depend on which."""
    from cloud_removal.algorithms.core import fill_runner, membrane_bounded, residuals

    tp, rp, mp, t, r, m = case
    r = r.copy()
    ys, xs = np.nonzero(m)
    r[1, :, xs[0]:xs[0] + 2] = -9999  # a gap in band 2's replacement across a cloud: other filled and boundary pixels
    rp = write(tmp_path / "r_gap.tif", r, nodata=-9999)
    calls, fields = [], []
    real, solve = residuals.add_membranes, membrane_bounded.membrane_at
    monkeypatch.setattr(residuals, "add_membranes", lambda plan, bands: calls.append(len(bands)) or real(plan, bands))
    monkeypatch.setattr(membrane_bounded, "membrane_at",
                        lambda *a: fields.append(len(np.atleast_2d(a[4]))) or solve(*a))
    slra_raster.run_slra(tp, rp, mp, tmp_path / "together.tif", window_size=80)
    assert calls == [3]
    assert sorted(fields) == [1, 2]  # one group: bands 1 and 3 in one solve, band 2 on its own
    monkeypatch.setattr(fill_runner, "SPLIT_PIXELS", 0)  # one solve per worker thread: bands 1 and 3, band 2
    slra_raster.run_slra(tp, rp, mp, tmp_path / "split.tif", window_size=80, threads=2)
    assert sorted(calls[1:]) == [1, 2] and sorted(fields[2:]) == [1, 2]  # (in either order)
    monkeypatch.setattr(fill_runner, "TOGETHER_BYTES", 0)
    slra_raster.run_slra(tp, rp, mp, tmp_path / "each.tif", window_size=80)
    assert calls[3:] == [1, 1, 1]
    np.testing.assert_array_equal(read(tmp_path / "together.tif"), read(tmp_path / "each.tif"))
    np.testing.assert_array_equal(read(tmp_path / "together.tif"), read(tmp_path / "split.tif"))


def test_groups_of_a_pass_do_not_see_each_others_cloud(tmp_path):
    """Each group sees the region as at the start of the pass: the cloud of a group filled earlier stays unknown in
    a later group's window (its cloudy values used to enter that group's whole-window statistics once stored),
    so a group's fill does not depend on another cloud's values or on the order groups are filled in."""
    rng = np.random.default_rng(3)
    t, r = scene(rng, 200, 200, nb=2)
    m = np.zeros((200, 200), np.uint8)
    m[20:41, 20:41] = 1                        # A: filled first (first in scan order)
    m[150:160, 20:190] = m[20:160, 180:190] = 1  # B: an L around A, more than the margin away; its box holds A
    b = (m == 1) & ~((np.arange(200)[:, None] < 41) & (np.arange(200)[None, :] < 41))
    outs = []
    for cloudy in (5000.0, 9000.0):
        tc = t.copy()
        tc[:, 20:41, 20:41] = cloudy
        tp = write(tmp_path / f"t{cloudy:.0f}.tif", tc)
        # min_common above any window's count: every pixel takes the whole-window (fallback) statistics
        s = slra_raster.run_slra(tp, write(tmp_path / "r.tif", r), write(tmp_path / "m.tif", m),
                                 tmp_path / f"o{cloudy:.0f}.tif", window_size=20, buffer=0, min_common=10 ** 6,
                                 residual_correction=False)
        assert s["groups"] == 2 and s["fallback"] == 2 * int(m.sum()), s
        outs.append(read(tmp_path / f"o{cloudy:.0f}.tif"))
    np.testing.assert_array_equal(outs[0][:, b], outs[1][:, b])


def test_buffer_grows_region(case, tmp_path):
    tp, rp, mp, t, r, m = case
    s = slra_raster.run_slra(tp, rp, mp, tmp_path / "o.tif", window_size=20, buffer=3)
    from scipy import ndimage

    grown = ndimage.maximum_filter(m, size=7).astype(bool)
    assert s["fill_pixels"] == grown.sum()
    ref, _ = slra.slra_fill(t, r, grown, window_size=20)
    np.testing.assert_allclose(read(tmp_path / "o.tif"), ref, rtol=1e-6, atol=1e-6)  # iterative correction


def test_integer_nodata_zero_values_and_replacement_gaps(tmp_path):
    rng = np.random.default_rng(2)
    h, w = 80, 90
    t, r = scene(rng, h, w, 2)
    t, r = np.rint(t - 1000).astype(np.int16), np.rint(r - 800).astype(np.int16)
    t[:, 0:3, :] = -9999                       # target nodata strip
    t[:, 40:42, 10:20] = 0                      # zero is a value
    r[:, :, 60:63] = -9999                      # replacement gap crossing the region
    m = np.zeros((h, w), np.uint8)
    m[20:60, 45:75] = 255                       # a 0/255 mask
    m[0:5, 0:5] = 7                             # region in the nodata corner
    msk = write(tmp_path / "m.tif", m, nodata=7)  # ... declared mask nodata: not filled
    out_p = tmp_path / "o.tif"
    s = slra_raster.run_slra(write(tmp_path / "t.tif", t, nodata=-9999), write(tmp_path / "r.tif", r, nodata=-9999),
                             msk, out_p, window_size=20, buffer=0)
    out = read(out_p)
    ds = gdal.Open(str(out_p))
    assert ds.GetRasterBand(1).GetNoDataValue() == -9999 and out.dtype == np.int16
    fill = m == 255
    np.testing.assert_array_equal(out[:, ~fill], t[:, ~fill])
    gap = fill & (np.arange(w)[None, :] >= 60) & (np.arange(w)[None, :] < 63)
    assert (out[:, gap] == -9999).all() and s["no_replacement"] == 2 * gap.sum()
    assert (out[:, fill & ~gap] != -9999).all()
    ref, _ = slra.slra_fill(t.astype(float), r.astype(float), fill, t != -9999, r != -9999, window_size=20)
    np.testing.assert_allclose(out[:, fill & ~gap], np.rint(ref[:, fill & ~gap]), atol=1)


def test_empty_mask_copies_and_warns(case, tmp_path):
    tp, rp, _, t, _, m = case
    mp = write(tmp_path / "empty.tif", np.zeros_like(m))
    logs = []
    s = slra_raster.run_slra(tp, rp, mp, tmp_path / "o.tif", progress=Progress(on_log=logs.append))
    assert s["fill_pixels"] == 0
    np.testing.assert_array_equal(read(tmp_path / "o.tif"), t)
    assert any("Warning" in line for line in logs)


@pytest.mark.parametrize("kwargs, text", [
    ({"window_size": 50}, "multiple of 20"),
    ({"window_size": 0}, "multiple of 20"),
    ({"buffer": 16}, "BUFFER"),
    ({"buffer": -1}, "BUFFER"),
    ({"mask_band": 3}, "Band 3"),
])
def test_bad_parameters_write_nothing(case, tmp_path, kwargs, text):
    tp, rp, mp, *_ = case
    out = tmp_path / "sub" / "o.tif"
    with pytest.raises(InputError, match=text):
        slra_raster.run_slra(tp, rp, mp, out, **kwargs)
    assert not out.exists()


def test_band_mismatch_full_mask_and_overwrite(case, tmp_path):
    tp, rp, mp, t, r, m = case
    r2 = write(tmp_path / "r2.tif", r[:2])
    with pytest.raises(InputError, match="2 band"):
        slra_raster.run_slra(tp, r2, mp, tmp_path / "o.tif")
    full = write(tmp_path / "full.tif", np.ones_like(m))
    with pytest.raises(InputError, match="covers every pixel"):
        slra_raster.run_slra(tp, rp, full, tmp_path / "o.tif")
    with pytest.raises(InputError, match="overwrite"):
        slra_raster.run_slra(tp, rp, mp, tp)
    assert not (tmp_path / "o.tif").exists()
    assert not list(tmp_path.glob("*.partial*"))


def test_cancel_leaves_nothing(case, tmp_path):
    tp, rp, mp, *_ = case
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3

    from cloud_removal.algorithms.core.progress import Cancelled

    with pytest.raises(Cancelled):
        slra_raster.run_slra(tp, rp, mp, tmp_path / "o.tif", window_size=20, buffer=0,
                             progress=Progress(is_cancelled=cancelled))
    assert not list(tmp_path.glob("o*")) and not list(tmp_path.glob(".o*"))


def test_float_nan_bits_preserved_outside(tmp_path):
    rng = np.random.default_rng(5)
    t, r = scene(rng, 60, 60, 1)
    t = t.astype(np.float32)
    t[0, 5, 5] = np.nan
    t[0, 6, 6] = -0.0
    m = np.zeros((60, 60), np.uint8)
    m[20:40, 20:40] = 1
    out = tmp_path / "o.tif"
    slra_raster.run_slra(write(tmp_path / "t.tif", t), write(tmp_path / "r.tif", r.astype(np.float32)),
                         write(tmp_path / "m.tif", m), out, window_size=20, buffer=0)
    o = read(out)
    assert o.dtype == np.float32
    outside = m == 0
    assert o[:, outside].tobytes() == t[:, outside].tobytes()
