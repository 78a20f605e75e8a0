"""SLRA core on arrays against a slow, obvious per-pixel reference of the formula (Li et al. 2019), with both gain
rules: the paper's std_t / std_r and the default sqrt(rho) std_t / std_r."""

import numpy as np
import pytest

from cloud_removal.algorithms.core import slra


def reference(target, rep, fill, tvalid, rvalid, window, width=2, min_common=slra.MIN_COMMON, own=None,
              rule="correlation"):
    """Per-pixel loops: rings by brute-force chessboard distance, windows by slicing, numpy mean/std/correlation."""
    nb, h, w = target.shape
    own = fill if own is None else own & fill
    clear = np.argwhere(~fill)
    ring = np.zeros((h, w), int)
    for y, x in np.argwhere(fill):
        d = np.max(np.abs(clear - [y, x]), axis=1).min()
        ring[y, x] = -(-d // width)
    half = window // 2
    out = target.astype(np.float64).copy()
    status = np.zeros((nb, h, w), np.uint8)
    for b in range(nb):
        t, r = out[b], rep[b].astype(np.float64)
        known = ~fill & tvalid[b]
        c0 = known & rvalid[b]
        scale = np.abs(r[c0]).mean()
        for k in range(1, ring.max() + 1):
            new = {}
            for y, x in np.argwhere(own & (ring == k)):
                if not rvalid[b, y, x]:
                    status[b, y, x] = slra.NO_REPLACEMENT
                    continue
                for mult in slra.WIDEN:
                    hh = half * mult
                    sl = (slice(max(y - hh, 0), y + hh + 1), slice(max(x - hh, 0), x + hh + 1))
                    c = (known & rvalid[b])[sl]
                    if c.sum() >= min_common:
                        tv, rv = t[sl][c], r[sl][c]
                        code = slra.FILLED if mult == 1 else slra.WIDENED
                        break
                else:
                    tv, rv, code = t[c0], r[c0], slra.FALLBACK
                mt, st, mr, sr = tv.mean(), tv.std(), rv.mean(), rv.std()
                if sr * sr <= slra.ZERO_VAR_REL * (mr * mr + scale * scale):
                    g = 1.0
                else:
                    g = st / sr
                    if rule == "correlation" and st > 0:
                        rho = ((tv - mt) * (rv - mr)).mean() / (st * sr)
                        g *= np.sqrt(min(max(rho, 0.0), 1.0))
                    g = min(max(g, 1 / 3), 3.0)
                new[(y, x)] = mt + g * (r[y, x] - mr)
                status[b, y, x] = code
            for (y, x), v in new.items():
                t[y, x] = v
                known[y, x] = True
    return out, status


def blobs(rng, h, w, n, rmax):
    yy, xx = np.mgrid[:h, :w]
    m = np.zeros((h, w), bool)
    for _ in range(n):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(1, rmax + 1)
        m |= np.maximum(abs(yy - cy), abs(xx - cx) * 0.7) <= r
    return m


def scene(rng, h=36, w=40, nb=2, zeros=False):
    base = rng.normal(500, 120, (nb, h, w)).cumsum(axis=2) / 5
    target = base + rng.normal(0, 10, (nb, h, w))
    rep = 0.8 * base + 40 + rng.normal(0, 10, (nb, h, w))
    if zeros:
        target[:, ::5, ::3] = 0.0
        rep[:, ::4, ::7] = 0.0
    return target, rep


def compare(target, rep, fill, tvalid=None, rvalid=None, window=10, width=2, min_common=slra.MIN_COMMON,
            own=None, tile=256):
    """The fast fill equals the reference with each gain rule; returns the default rule's (filled, status)."""
    tv = np.ones(target.shape, bool) if tvalid is None else tvalid
    rv = np.ones(target.shape, bool) if rvalid is None else rvalid
    for rule in reversed(slra.GAIN_RULES):
        ref, ref_st = reference(target, rep, fill, tv, rv, window, width, min_common, own, rule)
        fast, st = slra.slra_fill(target, rep, fill, tv, rv, window_size=window, ring_width=width,
                                  residual_correction=False, min_common=min_common, own=own, tile=tile,
                                  gain_rule=rule)
        np.testing.assert_array_equal(st, ref_st)
        np.testing.assert_allclose(fast, ref, rtol=1e-9, atol=1e-7)
    return fast, st


@pytest.mark.parametrize("seed", range(4))
def test_random_blobs_match_reference(seed):
    rng = np.random.default_rng(seed)
    target, rep = scene(rng)
    fill = blobs(rng, 36, 40, 4, 6)
    fast, st = compare(target, rep, fill, window=10, tile=16)
    assert (st[:, fill] != 0).all() and (st[:, ~fill] == 0).all()
    np.testing.assert_array_equal(fast[:, ~fill], target[:, ~fill])  # outside the region: untouched


def test_nodata_and_zero_values():
    rng = np.random.default_rng(7)
    target, rep = scene(rng, zeros=True)
    fill = blobs(rng, 36, 40, 3, 7)
    tvalid = rng.random(target.shape) > 0.15
    rvalid = rng.random(target.shape) > 0.1
    fast, st = compare(target, rep, fill, tvalid, rvalid, window=10, tile=8)
    assert (st == slra.NO_REPLACEMENT).any()
    assert (fast == 0).any()  # zero is a value: zeros outside the region stay, zeros inside windows count


def test_tiny_regions_and_image_edges():
    rng = np.random.default_rng(3)
    target, rep = scene(rng, 20, 24)
    fill = np.zeros((20, 24), bool)
    fill[0, 0] = fill[10, 10] = True           # single pixels, one in a corner
    fill[15:, 20:] = True                       # touching two edges
    fill[:3, 8:12] = True                       # touching the top edge
    compare(target, rep, fill, window=6)


def test_regions_sharing_windows_and_ownership():
    """Two regions close enough to share windows; filling only one ('own') leaves the other unknown."""
    rng = np.random.default_rng(11)
    target, rep = scene(rng, 30, 30, 1)
    fill = np.zeros((30, 30), bool)
    fill[5:15, 5:12] = True
    fill[8:20, 16:25] = True
    compare(target, rep, fill, window=12)
    own = np.zeros_like(fill)
    own[:, :14] = True
    fast, st = compare(target, rep, fill, window=12, own=own)
    assert (st[0][fill & ~own] == 0).all()


def test_constant_windows_gain_one():
    rng = np.random.default_rng(5)
    target, _ = scene(rng, 20, 20, 1)
    rep = np.full_like(target, 7.0)
    rep[0, 8:12, 8:12] = 9.0
    fill = np.zeros((20, 20), bool)
    fill[7:13, 7:13] = True
    fast, _ = compare(target, rep, fill, window=8)
    # constant target window: gain 1/3 clamp (std_t = 0 < std_r)
    flat = np.full_like(target, 100.0)
    rep2 = rng.normal(50, 5, target.shape)
    compare(flat, rep2, fill, window=8)
    zero_rep = np.zeros_like(target)
    compare(target, zero_rep, fill, window=8)


def test_widening_and_fallback():
    rng = np.random.default_rng(2)
    target, rep = scene(rng, 40, 40, 1)
    fill = np.zeros((40, 40), bool)
    fill[10:30, 10:30] = True
    rvalid = np.ones_like(target, bool)
    rvalid[0, :, :25] = False       # the replacement is missing on the left: windows there must widen
    fast, st = compare(target, rep, fill, rvalid=rvalid, window=6, min_common=12)
    assert (st == slra.WIDENED).any()
    rvalid[0, :, :36] = False
    rvalid[0, 20:30, 20:30] = True
    fast, st = compare(target, rep, fill, rvalid=rvalid, window=4, min_common=40)
    assert (st == slra.FALLBACK).any()


def test_fully_clouded_terminates_without_stats():
    target = np.ones((1, 8, 8))
    fill = np.ones((8, 8), bool)
    out, st = slra.slra_fill(target, target, fill, window_size=4)
    assert (st == slra.NO_STATS).all()


def test_exact_on_noise_free_linear_relation():
    """Replacement = a * target + b locally: SLRA recovers the target almost exactly."""
    rng = np.random.default_rng(9)
    target = rng.normal(300, 50, (1, 50, 50)).cumsum(axis=1) / 4
    rep = 1.7 * target + 25
    fill = blobs(rng, 50, 50, 3, 8)
    out, _ = slra.slra_fill(target, rep, fill, window_size=20)
    np.testing.assert_allclose(out, target, rtol=1e-9, atol=1e-6)


def test_residual_correction_removes_constant_seam():
    """A smooth offset the local statistics cannot see is removed by the harmonic correction."""
    rng = np.random.default_rng(4)
    h = w = 40
    target = rng.normal(0, 1, (1, h, w)) + 100
    rep = target.copy()
    fill = np.zeros((h, w), bool)
    fill[12:28, 12:28] = True
    plain, _ = slra.slra_fill(target, rep, fill, window_size=10, residual_correction=False)
    corr, _ = slra.slra_fill(target, rep, fill, window_size=10, residual_correction=True)
    np.testing.assert_allclose(plain[:, fill], target[:, fill], atol=1e-8)
    np.testing.assert_allclose(corr[:, fill], target[:, fill], atol=1e-6)
    # A smooth trend the replacement lacks leaves a seam; the correction at least halves the error.
    yy, xx = np.mgrid[:h, :w]
    t2 = target + (5 * ((xx - 20) / 20) ** 2)[None]
    corr2, _ = slra.slra_fill(t2, rep, fill, window_size=10, residual_correction=True)
    plain2, _ = slra.slra_fill(t2, rep, fill, window_size=10, residual_correction=False)
    err_c = np.abs(corr2 - t2)[:, fill].mean()
    err_p = np.abs(plain2 - t2)[:, fill].mean()
    assert err_c < 0.5 * err_p


def test_gain_rules_on_exact_moments():
    """std ratio 2 in every window; the correlation rule scales it by sqrt(rho), clamped like the paper's."""
    vt, mr, vr = np.full(6, 4.0), np.full(6, 10.0), np.full(6, 1.0)
    cov = np.array([2.0, 0.5, 0.0, -1.0, 2.0, 2.0])     # rho = cov / (2 x 1): 1, 0.25, 0, -0.5, 1, 1
    vt[5] = 0.0                                           # constant target window
    np.testing.assert_allclose(slra.gain(vt, mr, vr), [2, 2, 2, 2, 2, 1 / 3])
    np.testing.assert_allclose(slra.gain(vt, mr, vr, cov=cov), [2, 1, 1 / 3, 1 / 3, 2, 1 / 3])
    # A constant replacement window keeps gain 1 under both rules.
    assert slra.gain(4.0, 10.0, 0.0) == 1.0 and slra.gain(4.0, 10.0, 0.0, cov=0.0) == 1.0


def test_unknown_gain_rule_is_refused():
    target = np.ones((1, 8, 8))
    fill = np.zeros((8, 8), bool)
    fill[3:5, 3:5] = True
    with pytest.raises(ValueError, match="gain_rule must be one of correlation, std_ratio"):
        slra.slra_fill(target, target, fill, window_size=4, gain_rule="variance")


def test_correlation_gain_trusts_a_loosely_related_replacement_less():
    """Target = s + 100, replacement = s + n + 50 with var(s) = 100, var(n) = 400 (rho = 0.447). The expected
    error variance of a fill with gain g is (1 - g)^2 100 + g^2 400: the paper's g = std_t / std_r = 0.447 gives
    RMSE 10.5, sqrt(rho) 0.447 = 0.299 gives 9.2 (the least-squares g = 0.2 would give 8.9)."""
    rng = np.random.default_rng(1)
    base = rng.normal(0, 10, (1, 60, 60))
    target, rep = base + 100, base + rng.normal(0, 20, base.shape) + 50
    fill = np.zeros((60, 60), bool)
    fill[20:40, 20:40] = True
    err = {}
    for rule in slra.GAIN_RULES:
        out, _ = slra.slra_fill(target, rep, fill, window_size=20, gain_rule=rule)
        err[rule] = np.sqrt(((out - target)[:, fill] ** 2).mean())
    assert err["std_ratio"] == pytest.approx(10.52, rel=0.12)
    assert err["correlation"] == pytest.approx(9.21, rel=0.12)
    assert err["correlation"] < 0.93 * err["std_ratio"]
