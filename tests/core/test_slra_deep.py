"""Deep inside large regions: gain and offset interpolated from the last stepwise ring (slra.fill_band)."""

import numpy as np
from scipy import ndimage

from cloud_removal.algorithms.core import slra, slra_raster
from conftest import read_stack as read
from conftest import write_raster

GT = (500000.0, 20.0, 0.0, 9100000.0, 0.0, -20.0)


def linear_scene(h=120, w=140, seed=0):
    """A replacement with texture and a target that is exactly 2 x replacement + 5: every window's statistics
    give gain 2 and offset 5, so the fill must reproduce the target everywhere."""
    rng = np.random.default_rng(seed)
    rep = rng.normal(0, 20, (h, w)).cumsum(axis=1) / 10 + 300 + rng.normal(0, 3, (h, w))
    return 2.0 * rep + 5.0, rep


def square(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_deep_pixels_interpolate_gain_and_offset_exactly_for_a_linear_relation():
    target, rep = linear_scene()
    fill = square(*target.shape, 20, 100, 20, 120)          # 80 x 100: deeper than 2 half-windows of 10 px
    out, st = slra.slra_fill(target, rep, fill, window_size=10)
    depth = ndimage.distance_transform_cdt(fill, metric="chessboard")
    deep = depth > slra.STEPWISE_DEPTH * 5 + 2
    assert (st[0][deep] == slra.INTERPOLATED).all()
    assert (st[0][fill & (depth <= 10)] != slra.INTERPOLATED).all()
    np.testing.assert_allclose(out[0], target, rtol=0, atol=1e-3)


def test_plain_stepwise_adjustment_has_no_interpolated_pixels():
    target, rep = linear_scene()
    fill = square(*target.shape, 20, 100, 20, 120)
    _, st = slra.slra_fill(target, rep, fill, window_size=10, residual_correction=False)
    assert not (st == slra.INTERPOLATED).any()


def test_deep_part_cut_off_by_replacement_gaps_uses_the_surroundings_statistics():
    target, rep = linear_scene(seed=1)
    fill = square(*target.shape, 10, 110, 10, 130)
    depth = ndimage.distance_transform_cdt(fill, metric="chessboard")
    rvalid = ~((depth >= 7) & (depth <= 12))     # no replacement around the last stepwise ring (distances 9-10)
    out, st = slra.slra_fill(target, rep, fill, rvalid=rvalid, window_size=10)
    deep = (depth > 12)
    assert (st[0][deep] == slra.FALLBACK).all()       # nothing to interpolate from: never zeros
    np.testing.assert_allclose(out[0][deep], target[deep], rtol=0, atol=1e-3)
    assert (st[0][fill & ~rvalid] == slra.NO_REPLACEMENT).all()


def test_deep_fill_is_smooth_where_the_stepwise_chain_adds_noise():
    """Target and replacement with independent noise: the stepwise chain carries the replacement's noise with a
    drifting gain deep inside; the interpolated gain keeps the result's high frequencies at the replacement's."""
    rng = np.random.default_rng(3)
    h = w = 160
    base = ndimage.gaussian_filter(rng.normal(0, 50, (h, w)), 6) + 500
    target = base + rng.normal(0, 4, (h, w))
    rep = 0.8 * base + 40 + rng.normal(0, 4, (h, w))
    fill = square(h, w, 20, 140, 20, 140)
    plain, _ = slra.slra_fill(target, rep, fill, window_size=10, residual_correction=False)
    new, st = slra.slra_fill(target, rep, fill, window_size=10)
    deep = st[0] == slra.INTERPOLATED
    assert deep.sum() > 2000
    err_plain = np.sqrt(((plain[0] - target)[deep] ** 2).mean())
    err_new = np.sqrt(((new[0] - target)[deep] ** 2).mean())
    assert err_new < err_plain


def test_raster_runner_equals_array_core_on_a_large_region(tmp_path):
    target, rep = linear_scene(seed=2)
    rng = np.random.default_rng(5)
    target = target + rng.normal(0, 2, target.shape)
    fill = square(*target.shape, 15, 105, 25, 125)
    t = write_raster(tmp_path / "t.tif", target[None], gt=GT, epsg=32737)
    r = write_raster(tmp_path / "r.tif", rep[None], gt=GT, epsg=32737)
    m = write_raster(tmp_path / "m.tif", fill[None].astype(np.uint8), gt=GT, epsg=32737)
    s = slra_raster.run_slra(t, r, m, tmp_path / "o.tif", window_size=20, buffer=0)
    assert s["interpolated"] > 0
    ref, _ = slra.slra_fill(target, rep, fill, window_size=20)
    np.testing.assert_allclose(read(tmp_path / "o.tif")[0], ref[0], rtol=1e-9, atol=1e-6)
    slra_raster.run_slra(t, r, m, tmp_path / "o2.tif", window_size=20, buffer=0, block_pixels=32 * 32)
    np.testing.assert_array_equal(read(tmp_path / "o2.tif"), read(tmp_path / "o.tif"))
