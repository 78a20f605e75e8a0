"""Window statistics over b x b blocks: exactly the sums over the blocks each window touches, kept up to date."""

import numpy as np
import pytest

from cloud_removal.algorithms.core.block_sums import BlockSums, block_size
from cloud_removal.algorithms.core.slra import window_sums


def brute(common, t, r, rows, cols, half, b, offsets):
    """Sums over the pixels of the b x b blocks touched by each (2 half + 1)^2 window."""
    h, w = common.shape
    out = np.zeros((6, rows.size))
    for k, (y, x) in enumerate(zip(rows, cols)):
        y0, y1 = max((y - half) // b, 0) * b, min(((y + half) // b + 1) * b, h)
        x0, x1 = max((x - half) // b, 0) * b, min(((x + half) // b + 1) * b, w)
        c = common[y0:y1, x0:x1]
        tt, rr = t[y0:y1, x0:x1][c] - offsets[0], r[y0:y1, x0:x1][c] - offsets[1]
        out[:, k] = (c.sum(), tt.sum(), (tt * tt).sum(), rr.sum(), (rr * rr).sum(), (tt * rr).sum())
    return out


@pytest.mark.parametrize("b", [1, 2, 3])
def test_block_windows_and_updates(b):
    rng = np.random.default_rng(b)
    common = rng.random((37, 41)) > 0.4
    t, r = rng.normal(100, 10, (37, 41)), rng.normal(50, 5, (37, 41))
    offsets = (100.0, 50.0)
    sums = BlockSums(common, t, r, offsets, b)
    rows, cols = rng.integers(0, 37, 60), rng.integers(0, 41, 60)
    np.testing.assert_allclose(sums.window(rows, cols, 6), brute(common, t, r, rows, cols, 6, b, offsets), atol=1e-8)
    if b == 1:  # one-pixel blocks are the pixel windows themselves
        np.testing.assert_allclose(sums.window(rows, cols, 6), window_sums(common, t, r, rows, cols, 6, offsets),
                                   atol=1e-8)
    new_r, new_c = np.nonzero(~common)
    new_r, new_c = new_r[:25], new_c[:25]
    t[new_r, new_c] = rng.normal(100, 10, 25)
    common[new_r, new_c] = True
    sums.add(new_r, new_c, t[new_r, new_c], r[new_r, new_c])
    np.testing.assert_allclose(sums.window(rows, cols, 6), brute(common, t, r, rows, cols, 6, b, offsets), atol=1e-8)


@pytest.mark.parametrize("half", [4, 5])
def test_scattered_queries_are_answered_tile_by_tile(monkeypatch, half):
    """Pixels spread wider than TILE_BLOCKS blocks (a scene-wide ring's widened windows) are answered tile by tile,
    so no table spans their whole spread; the sums are the same."""
    from cloud_removal.algorithms.core import block_sums

    rng = np.random.default_rng(half)
    common = rng.random((90, 97)) > 0.3
    t, r = rng.normal(100, 10, (90, 97)), rng.normal(50, 5, (90, 97))
    sums = BlockSums(common, t, r, (100.0, 50.0), 2)
    rows, cols = rng.integers(0, 90, 50), rng.integers(0, 97, 50)
    whole = sums.window(rows, cols, half)
    monkeypatch.setattr(block_sums, "TILE_BLOCKS", 8)
    widths = []
    real = sums._centred if half % 2 == 0 else None
    if real is not None:
        monkeypatch.setattr(sums, "_centred", lambda rr, cc, q: widths.append(np.ptp(cc) // 2 + 1) or real(rr, cc, q))
    tiled = sums.window(rows, cols, half)
    np.testing.assert_allclose(tiled, whole, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(tiled, brute(common, t, r, rows, cols, half, 2, (100.0, 50.0)), atol=1e-8)
    assert real is None or (len(widths) > 4 and max(widths) <= 8)


def test_block_size_keeps_small_windows_exact():
    assert [block_size(h) for h in (5, 20, 39, 40, 80, 100)] == [1, 1, 1, 4, 8, 10]
    # blocks divide the half-width, so every window covers the same blocks around its pixel's block
    assert [block_size(h) for h in (70, 90, 130, 41, 45)] == [7, 9, 13, 1, 3]


@pytest.mark.parametrize("b, half", [(2, 4), (3, 9), (4, 8), (2, 3), (3, 7)])
def test_centred_and_summed_area_windows_agree(b, half):
    """Windows whose half-width b divides take the box-filter path, the others the summed-area table; both give
    the sums over the blocks each window touches, at the array's edges too, counts exactly."""
    rng = np.random.default_rng(b * 10 + half)
    common = rng.random((53, 47)) > 0.3
    t, r = rng.normal(1000, 300, (53, 47)), rng.normal(500, 100, (53, 47))
    sums = BlockSums(common, t, r, (1000.0, 500.0), b, np.float32)
    rows = np.r_[0, 52, rng.integers(0, 53, 80)]
    cols = np.r_[46, 0, rng.integers(0, 47, 80)]
    got = sums.window(rows, cols, half)
    want = brute(common, t.astype(np.float32).astype(float), r.astype(np.float32).astype(float), rows, cols, half,
                 b, (1000.0, 500.0))
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-5, atol=1e-2)


@pytest.mark.parametrize("b, dtype", [(2, np.uint8), (15, np.uint8), (16, np.uint16)])
def test_block_counts_are_exact_in_the_smallest_integer_type(b, dtype):
    """Counts are kept apart from the float sums, in one byte per block up to b = 15 (b^2 <= 255)."""
    rng = np.random.default_rng(b)
    common = rng.random((70, 75)) > 0.3
    t, r = rng.normal(100, 10, (70, 75)), rng.normal(50, 5, (70, 75))
    sums = BlockSums(common, t, r, (100.0, 50.0), b, np.float32)
    assert sums.count.dtype == dtype
    rows, cols = rng.integers(0, 70, 40), rng.integers(0, 75, 40)
    new_r, new_c = np.nonzero(~common)
    sums.add(new_r, new_c, t[new_r, new_c], r[new_r, new_c])   # every pixel known: full blocks hold b^2
    assert sums.count.max() == min(b * b, 70 * 75)
    np.testing.assert_array_equal(sums.window(rows, cols, 2 * b)[0],
                                  brute(np.ones_like(common), t, r, rows, cols, 2 * b, b, (100.0, 50.0))[0])


@pytest.mark.parametrize("b", [1, 2, 3])
@pytest.mark.parametrize("rule", ["correlation", "std_ratio"])
def test_boundary_residuals_from_block_windows(b, rule):
    """The residual correction's boundary residuals use the fill's block windows (before any ring is added): each
    one is target - (mean_t + gain (rep - mean_r)) over the blocks its window touches; with 1-pixel blocks they
    are the pixel windows' own."""
    from cloud_removal.algorithms.core import residuals, slra
    from cloud_removal.algorithms.core.slra_stats import local_gain

    rng = np.random.default_rng(10 + b)
    h, w, half = 48, 52, 7
    t, r = rng.normal(100, 10, (h, w)), rng.normal(50, 5, (h, w))
    t += 0.8 * (r - 50)
    fill = np.zeros((h, w), bool)
    fill[10:25, 12:30] = True
    fill[35:44, 3:9] = True
    valid = rng.random((h, w)) > 0.05
    plan = slra.RingPlan(fill)
    summary = slra.band_statistics(plan, t, r, valid, valid, half)[0]
    blocks = BlockSums(~fill & valid, t, r, summary[0], b)
    ys, xs, res = residuals.boundary_residuals(plan, t, r, valid, valid, half, summary=summary, gain_rule=rule,
                                               blocks=blocks)
    assert ys.size > 50
    s = brute(~fill & valid, t, r, ys, xs, half, b, summary[0])
    assert (s[0] >= slra.MIN_COMMON).all()
    mt, mr, g = local_gain(s, summary[0], summary[1], rule == "correlation")
    np.testing.assert_allclose(res, t[ys, xs] - (mt + g * (r[ys, xs] - mr)), rtol=1e-9, atol=1e-9)
    if b == 1:
        pixel = residuals.boundary_residuals(plan, t, r, valid, valid, half, summary=summary, gain_rule=rule)
        for got, want in zip((ys, xs, res), pixel):
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_fill_and_correct_empties_the_band_list():
    """The per-band pipeline takes its arrays from a list it empties, so a caller holding no other reference lets
    them go before the membrane solve."""
    from cloud_removal.algorithms.core import slra

    rng = np.random.default_rng(3)
    t, r = rng.normal(100, 10, (40, 40)), rng.normal(50, 5, (40, 40))
    fill = np.zeros((40, 40), bool)
    fill[10:20, 10:22] = True
    valid = np.ones((40, 40), bool)
    arrays = [t.copy(), valid, r, valid]
    values, status = slra.fill_and_correct(slra.RingPlan(fill), arrays, 5)
    assert arrays == [] and values.shape == status.shape == (120,)
    out, _ = slra.slra_fill(t, r, fill, window_size=10)
    plan = slra.RingPlan(fill)
    np.testing.assert_array_equal(out[0][plan.rows, plan.cols], values)


@pytest.mark.parametrize("seed", range(4))
def test_boundary_pixels_are_the_known_neighbours_of_the_owned_region(seed):
    """From the first ring's neighbours only, the same pixels (row-major) as growing the owned mask by a cross and
    keeping the known ones: regions at the image edge, an owned part, nodata in either image."""
    from scipy import ndimage

    from cloud_removal.algorithms.core import residuals, slra

    rng = np.random.default_rng(seed)
    h, w = 61, 47
    fill = ndimage.binary_dilation(rng.random((h, w)) > 0.985, iterations=int(rng.integers(2, 6)))
    fill[:, :3] |= rng.random((h, 3)) > 0.5          # touching the image edge
    own = fill & (rng.random((h, w)) > 0.3) if seed % 2 else None
    tvalid, rvalid = rng.random((h, w)) > 0.1, rng.random((h, w)) > 0.1
    plan = slra.RingPlan(fill, own, ring_width=int(rng.integers(1, 4)))
    mask = plan.own_mask()
    near = ndimage.binary_dilation(mask, structure=ndimage.generate_binary_structure(2, 1))
    want = np.nonzero(near & ~fill & tvalid & rvalid)
    got = residuals.boundary_pixels(plan, tvalid, rvalid, chunk=50)
    assert want[0].size > 20
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
