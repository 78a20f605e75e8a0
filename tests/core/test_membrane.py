"""Multigrid membrane correction against a slow, obvious sparse direct solve of the same system (Li et al. 2019)."""

import numpy as np
import pytest
from scipy import ndimage, sparse
from scipy.sparse import linalg

from cloud_removal.algorithms.core.membrane import membrane_correction
from cloud_removal.algorithms.core.membrane_bounded import bounded_membrane_correction

STEPS = ((-1, 0), (1, 0), (0, -1), (0, 1))


def reference(domain, b_rows, b_cols, b_vals):
    """Per-pixel assembly of deg * u - sum(domain neighbours) = sum(boundary neighbours), solved by spsolve.

    Boundary values: the last of repeated pixels counts; NaN, outside-array and in-domain pixels are ignored.
    Components of the domain without a boundary neighbour are 0.
    """
    h, w = domain.shape
    bval = {}
    for y, x, v in zip(b_rows, b_cols, b_vals):
        if 0 <= y < h and 0 <= x < w and np.isfinite(v) and not domain[y, x]:
            bval[(int(y), int(x))] = float(v)
    lab, _ = ndimage.label(domain)
    ys, xs = np.nonzero(domain)
    seeded = {lab[y, x] for y, x in zip(ys, xs)
              if any((y + dy, x + dx) in bval for dy, dx in STEPS)}
    pix = [(y, x) for y, x in zip(ys, xs) if lab[y, x] in seeded]
    index = {p: i for i, p in enumerate(pix)}
    rows, cols, vals, rhs = [], [], [], np.zeros(len(pix))
    for i, (y, x) in enumerate(pix):
        deg = 0
        for dy, dx in STEPS:
            q = (y + dy, x + dx)
            if q in index:
                rows.append(i), cols.append(index[q]), vals.append(-1.0)
                deg += 1
            elif q in bval:
                rhs[i] += bval[q]
                deg += 1
        rows.append(i), cols.append(i), vals.append(float(deg))
    out = np.zeros(domain.shape)
    if pix:
        a = sparse.csc_matrix((vals, (rows, cols)), shape=(len(pix),) * 2)
        u = np.atleast_1d(linalg.spsolve(a, rhs))
        for (y, x), v in zip(pix, u):
            out[y, x] = v
    return out[ys, xs]


def ring(domain):
    """Non-domain pixels 4-adjacent to the domain."""
    return np.nonzero(ndimage.binary_dilation(domain) & ~domain)


def smooth_blob(rng, h, w, level=0.4, sigma=None):
    f = ndimage.gaussian_filter(rng.standard_normal((h, w)), sigma or max(h, w) / 12)
    return f > level * f.std()


def check(domain, by, bx, bv, rel=1e-3, **kw):
    """Solve, compare with the reference; the max error must be within rel * (spread of the values)."""
    ys, xs, v = membrane_correction(domain, by, bx, bv, **kw)
    ry, rx = np.nonzero(domain)
    assert np.array_equal(ys, ry) and np.array_equal(xs, rx)
    assert v.dtype == np.float64 and v.shape == ys.shape
    ref = reference(domain, by, bx, bv)
    bv = np.asarray(bv, float)
    err = np.abs(v - ref).max() if v.size else 0.0
    assert err <= rel * (np.nanmax(bv) - np.nanmin(bv)) + 1e-12, err
    return v, ref


@pytest.mark.parametrize("size,seed", [(12, 0), (40, 1), (90, 2), (160, 3)])
def test_random_blobs(size, seed):
    rng = np.random.default_rng(seed)
    dom = smooth_blob(rng, size, size + 7)
    by, bx = ring(dom)
    bv = np.sin(by / 9.0) + np.cos(bx / 13.0) + 0.1 * rng.standard_normal(by.size) + 50
    check(dom, by, bx, bv)


def test_matches_the_direct_solve_with_noisy_values():
    rng = np.random.default_rng(4)
    dom = smooth_blob(rng, 260, 240, 0.0)
    by, bx = ring(dom)
    bv = rng.normal(0, 3, by.size) + by / 20.0
    ys, xs, v = membrane_correction(dom, by, bx, bv)
    ref = reference(dom, by, bx, bv)
    assert np.abs(v - ref).max() <= 1e-3 * np.ptp(bv)


def test_tighter_tolerance_is_more_accurate():
    rng = np.random.default_rng(5)
    dom = smooth_blob(rng, 80, 80)
    by, bx = ring(dom)
    bv = rng.normal(0, 1, by.size)
    check(dom, by, bx, bv, rel=1e-7, tol=1e-9)


def test_domain_touching_image_edge():
    rng = np.random.default_rng(6)
    dom = np.zeros((50, 60), bool)
    dom[:30, 20:] = True  # touches top and right edges: free (Neumann) there
    dom[0, :] = True
    by, bx = ring(dom)
    bv = by * 0.3 - bx * 0.1 + rng.normal(0, 0.2, by.size)
    v, _ = check(dom, by, bx, bv)
    ref = reference(dom, by, bx, bv)
    assert np.abs(v - ref).max() <= 1e-3 * np.ptp(bv)


def test_several_regions_do_not_influence_each_other():
    rng = np.random.default_rng(7)
    dom = np.zeros((60, 70), bool)
    dom[5:25, 5:30] = True
    dom[5:25, 31:60] = True  # one free (Neumann) column from the first: coarse grids bridge it
    dom[30:55, 10:40] = smooth_blob(rng, 25, 30, 0.0)
    by, bx = ring(dom)
    lab, n = ndimage.label(dom)
    assert n >= 3
    # Offsets far apart, and no boundary value between the first two regions.
    offset = np.array([0.0, 1000.0, -500.0, 7.0, 3.0, 2.0, 1.0] + [0.0] * n)
    near = np.array([lab[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2].max() for y, x in zip(by, bx)])
    keep = bx != 30
    by, bx, near = by[keep], bx[keep], near[keep]
    bv = offset[near] + rng.normal(0, 1, by.size)
    ys, xs, v = membrane_correction(dom, by, bx, bv)
    ref = reference(dom, by, bx, bv)
    comp = lab[ys, xs]
    for c in np.unique(comp):
        near_c = bv[near == c]
        assert np.abs(v - ref)[comp == c].max() <= 1e-3 * np.ptp(near_c), c


def test_far_apart_regions_on_large_array():
    rng = np.random.default_rng(8)
    dom = np.zeros((700, 900), bool)
    dom[10:40, 20:45] = smooth_blob(rng, 30, 25, 0.0, 4)
    dom[650:690, 850:890] = True
    dom[300, 400] = True
    by, bx = ring(dom)
    bv = np.where(by < 350, 0.0, 100.0) + rng.normal(0, 1, by.size)
    bv[(by == 299) & (bx == 400)] = 42.0
    ys, xs, v = membrane_correction(dom, by, bx, bv)
    ref = reference(dom, by, bx, bv)
    top = ys < 350
    assert np.abs(v - ref)[top].max() <= 1e-3 * np.ptp(bv[by < 350])
    assert np.abs(v - ref)[~top].max() <= 1e-3 * np.ptp(bv[by >= 350])


def test_region_without_boundary_neighbour_is_zero():
    dom = np.zeros((30, 30), bool)
    dom[2:10, 2:10] = True
    dom[15:25, 15:25] = True
    by, bx = ring(dom)
    inner = by < 12
    by, bx = by[inner], bx[inner]
    bv = 5.0 + np.arange(by.size) % 3
    ys, xs, v = membrane_correction(dom, by, bx, bv)
    assert np.all(v[ys >= 15] == 0.0)
    assert np.all(v[ys < 12] >= 5.0 - 1e-9)
    check(dom, by, bx, bv)
    # A value inside the domain is no boundary value: the region stays 0.
    ys, xs, v = membrane_correction(dom, [20], [20], [3.0])
    assert np.all(v == 0.0)


def test_single_pixel_regions():
    dom = np.zeros((9, 9), bool)
    dom[4, 4] = True
    ys, xs, v = membrane_correction(dom, [3, 5, 4], [4, 4, 3], [1.0, 2.0, 6.0])
    assert ys.tolist() == [4] and xs.tolist() == [4]
    assert v[0] == pytest.approx(3.0, abs=1e-12)
    dom[0, 0] = True  # corner pixel, one neighbour with a value: that value
    ys, xs, v = membrane_correction(dom, [3, 5, 4, 0], [4, 4, 3, 1], [1.0, 2.0, 6.0, -4.0])
    assert v.tolist() == pytest.approx([-4.0, 3.0], abs=1e-12)


def test_one_pixel_wide_lines():
    dom = np.zeros((5, 300), bool)
    dom[2, 1:-1] = True
    v, _ = check(dom, [2, 2], [0, 299], [0.0, 1.0], rel=1e-4)
    assert np.abs(v - np.arange(1, 299) / 299.0).max() <= 1e-4  # linear along a Neumann-bounded line
    stairs = np.eye(60, dtype=bool) | np.eye(60, k=1, dtype=bool)
    by, bx = ring(stairs)
    check(stairs, by, bx, np.cos(by / 7.0) * 10)


def test_speckle_many_components():
    rng = np.random.default_rng(9)
    dom = rng.random((70, 80)) < 0.6
    by, bx = ring(dom)
    check(dom, by, bx, rng.normal(20, 5, by.size))


def test_constant_boundary_gives_that_constant():
    rng = np.random.default_rng(10)
    dom = smooth_blob(rng, 100, 100)
    dom[:5] = True
    by, bx = ring(dom)
    ys, xs, v = membrane_correction(dom, by, bx, np.full(by.size, 1234.5))
    assert np.abs(v - 1234.5).max() <= 1e-6


def test_linear_boundary_on_rectangle_gives_linear_field():
    dom = np.zeros((90, 130), bool)
    dom[3:80, 4:120] = True
    by, bx = ring(dom)
    lin = lambda y, x: 2.5 * y - 1.25 * x + 10.0  # noqa: E731 - discrete harmonic
    ys, xs, v = membrane_correction(dom, by, bx, lin(by, bx))
    assert np.abs(v - lin(ys, xs)).max() <= 1e-3 * np.ptp(lin(by, bx))
    ys, xs, v = membrane_correction(dom, by, bx, lin(by, bx), tol=1e-9)
    assert np.abs(v - lin(ys, xs)).max() <= 1e-6 * np.ptp(lin(by, bx))


def test_ignored_boundary_values():
    rng = np.random.default_rng(11)
    dom = smooth_blob(rng, 40, 40)
    dom[:, :3] = False
    by, bx = ring(dom)
    bv = rng.normal(0, 1, by.size)
    base = membrane_correction(dom, by, bx, bv)[2]
    ys, xs = np.nonzero(dom)
    far = ~ndimage.binary_dilation(dom, iterations=2)
    fy, fx = np.nonzero(far)
    extra_y = np.r_[by, fy, ys[:5], -1, 40, 3]
    extra_x = np.r_[bx, fx, xs[:5], 2, 5, 400]
    extra_v = np.r_[bv, np.full(fy.size, 1e6), np.full(5, -1e6), 9e9, 9e9, 9e9]
    assert np.array_equal(membrane_correction(dom, extra_y, extra_x, extra_v)[2], base)
    # NaN values are no values; of repeated pixels the last counts.
    nan_v = bv.copy()
    nan_v[::4] = np.nan
    check(dom, by, bx, nan_v)
    dup_y, dup_x = np.r_[by, by[:20]], np.r_[bx, bx[:20]]
    dup_v = np.r_[bv, bv[:20] + 5.0]
    check(dom, dup_y, dup_x, dup_v)


def test_empty_inputs():
    dom = np.zeros((10, 10), bool)
    ys, xs, v = membrane_correction(dom, [1], [1], [1.0])
    assert ys.size == xs.size == v.size == 0
    dom[3:6, 3:6] = True
    ys, xs, v = membrane_correction(dom, [], [], [])
    assert v.shape == (9,) and np.all(v == 0.0) and v.dtype == np.float64
    ys, xs, v = membrane_correction(dom, [0], [0], [5.0])  # not adjacent
    assert np.all(v == 0.0)


def test_warns_when_cycles_run_out():
    rng = np.random.default_rng(12)
    dom = smooth_blob(rng, 60, 60)
    by, bx = ring(dom)
    with pytest.warns(RuntimeWarning, match="no convergence"):
        membrane_correction(dom, by, bx, rng.normal(0, 1, by.size), max_cycles=1)


def test_bounded_version_is_exact_below_its_budget_and_close_above():
    rng = np.random.default_rng(7)
    dom = smooth_blob(rng, 300, 280, 0.0)
    by, bx = ring(dom)
    bv = 10 * np.sin(by / 40.0) + 5 * np.cos(bx / 30.0)
    ys, xs, exact = membrane_correction(dom, by, bx, bv)
    assert np.array_equal(bounded_membrane_correction(dom, by, bx, bv, max_pixels=10 ** 6)[2], exact)
    ys2, xs2, coarse = bounded_membrane_correction(dom, by, bx, bv, max_pixels=5000)  # about 4x coarser
    assert np.array_equal(ys, ys2) and np.array_equal(xs, xs2)
    inner = ndimage.distance_transform_cdt(dom, metric="chessboard")[ys, xs] > 8
    assert np.abs(coarse - exact)[inner].max() <= 0.03 * np.ptp(bv)  # the coarse border sits up to s / 2 px off
    assert np.abs(coarse - exact).max() <= 0.2 * np.ptp(bv)


@pytest.mark.parametrize("split", [False, True])
def test_several_fields_together_equal_each_solved_alone(split):
    """(m, k) boundary values solve m fields over one domain in one pass; each field has the same bits as solved
    alone, whichever field stops first (different spreads and iteration counts), on one box or component by
    component."""
    rng = np.random.default_rng(11)
    if split:  # a few components far apart: solved each on its own box
        dom = np.zeros((200, 220), bool)
        dom[10:40, 12:50] = dom[150:190, 160:210] = dom[100:104, 5:9] = True
    else:
        dom = smooth_blob(rng, 120, 110, 0.0)
    by, bx = ring(dom)
    vals = np.stack([rng.normal(0, 1, by.size), 500 + 200 * np.sin(by / 9.0), np.full(by.size, 3.0),
                     np.zeros(by.size)])
    ys, xs, together = membrane_correction(dom, by, bx, vals)
    assert together.shape == (4, ys.size)
    for v, got in zip(vals, together):
        assert np.array_equal(membrane_correction(dom, by, bx, v)[2], got)
    np.testing.assert_allclose(together[2], 3.0)
    assert not together[3].any()
    vals[1, ::7] = np.nan  # a value missing in one field only: that field ignores the pixel, the others do not
    _, _, mixed = membrane_correction(dom, by, bx, vals)
    for v, got in zip(vals, mixed):
        assert np.array_equal(membrane_correction(dom, by, bx, v)[2], got)


def test_bounded_fields_together_or_one_by_one_give_the_same_bits():
    """membrane_at solves fields together while all fit in its budget, else one by one (same memory as one):
    the results do not depend on which."""
    from cloud_removal.algorithms.core.membrane_bounded import membrane_at

    rng = np.random.default_rng(12)
    dom = smooth_blob(rng, 90, 100, 0.0)
    by, bx = ring(dom)
    ys, xs = np.nonzero(dom)
    vals = np.stack([rng.normal(0, 1, by.size), 50 * np.cos(bx / 7.0)])
    for budget in (10 ** 6, 95 * 105, 3000):  # all together; one at a time (each exact); each on a coarser grid
        alone = [membrane_at(ys, xs, by, bx, v, max_pixels=budget) for v in vals]  # (one field fits the first two)
        both = membrane_at(ys, xs, by, bx, vals, max_pixels=budget)
        assert both.shape == (2, ys.size)
        for a, b in zip(alone, both):
            assert np.array_equal(a, b)
    assert membrane_at(ys[:0], xs[:0], by, bx, vals).shape == (2, 0)
