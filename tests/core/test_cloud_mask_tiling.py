"""Tile grid, mirror padding, blending window and the streaming accumulators, against whole-array references."""

import numpy as np
import pytest

from cloud_removal.algorithms.core.tiling import (
    BilinearRowUpsampler,
    RowBlender,
    blend_window,
    class_argmax,
    index_runs,
    mirror_index,
    softmax,
    take_mirrored,
    tile_geometry,
    tile_origins,
)


@pytest.mark.parametrize("size, pad", [(5, 2), (5, 12), (1, 3), (7, 0), (3, 40)])
def test_mirror_index_is_numpy_symmetric(size, pad):
    a = np.arange(size)
    expected = np.pad(a, (pad, pad), mode="symmetric")
    assert np.array_equal(a[mirror_index(np.arange(-pad, size + pad), size)], expected)


def test_index_runs_of_a_mirrored_index():
    runs = index_runs(mirror_index(np.arange(-3, 8), 5))  # 2 1 0 | 0 1 2 3 4 | 4 3 2
    assert [(p, (s.start, s.stop, s.step)) for p, s in runs] == [
        (0, (2, None, -1)), (3, (0, 1, None)), (4, (1, 5, None)), (8, (4, 5, None)), (9, (3, 1, -1))]
    assert index_runs([7]) == [(0, slice(7, 8))]
    assert index_runs([]) == []


@pytest.mark.parametrize("seed", range(6))
def test_take_mirrored_equals_fancy_indexing(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        h, w = rng.integers(1, 30, 2)
        a = rng.random((2, h, w)).astype(np.float32)
        r0, c0 = rng.integers(-50, 50, 2)
        nr, nc = rng.integers(1, 80, 2)
        rows = mirror_index(np.arange(r0, r0 + nr), h)
        cols = mirror_index(np.arange(c0, c0 + nc), w)
        assert np.array_equal(take_mirrored(a, rows, cols), a[:, rows[:, None], cols[None, :]])
        any_rows = rng.integers(0, h, rng.integers(1, 12))  # any index, not only mirrored ones
        assert np.array_equal(take_mirrored(a, any_rows, cols), a[:, any_rows[:, None], cols[None, :]])


@pytest.mark.parametrize("classes", [1, 2, 3, 5])
def test_class_argmax_equals_numpy_argmax_with_ties_to_the_first(classes):
    rng = np.random.default_rng(classes)
    p = rng.integers(0, 4, size=(classes, 7, 9)).astype(np.float32)  # few values: many ties
    out = class_argmax(p)
    assert out.dtype == np.uint8 and np.array_equal(out, np.argmax(p, axis=0))
    assert np.array_equal(class_argmax(np.zeros((3, 2, 2), np.float32)), np.zeros((2, 2)))


def test_geometry_like_ukis_csmask():
    assert tile_geometry(256, 0.2) == (51, 204)
    assert tile_origins(512, 256, 0.2) == [-51, 153, 357]
    assert tile_origins(100, 256, 0.2) == [-51]
    assert tile_origins(10, 4, 0.0) == [0, 4, 8]


@pytest.mark.parametrize("tile, overlap", [(256, 0.2), (32, 0.25), (16, 0.01), (8, 0.0)])
def test_blend_window_positive_and_origins_cover(tile, overlap):
    w = blend_window(tile, overlap)
    assert w.shape == (tile, tile) and (w > 0).all() and np.allclose(w, w.T)
    pad, step = tile_geometry(tile, overlap)
    for size in (1, tile - 1, tile, 3 * tile + 5):
        covered = np.zeros(size, int)
        for o in tile_origins(size, tile, overlap):
            covered[max(o, 0):min(o + tile, size)] += 1
        assert (covered >= 1).all()


def test_softmax_rows_sum_to_one():
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 4)).astype(np.float32) * 50
    p = softmax(x.copy(), axis=1)
    assert p.dtype == np.float32 and np.allclose(p.sum(axis=1), 1, atol=1e-6)
    assert np.array_equal(p.argmax(axis=1), x.argmax(axis=1))


@pytest.mark.parametrize("height, width, tile, overlap", [(37, 23, 8, 0.25), (8, 8, 8, 0.25), (3, 50, 16, 0.2),
                                                          (64, 9, 16, 0.0)])
def test_row_blender_equals_whole_array_blend(height, width, tile, overlap):
    rng = np.random.default_rng(1)
    ys, xs = tile_origins(height, tile, overlap), tile_origins(width, tile, overlap)
    tiles = {(y, x): rng.random((2, tile, tile)).astype(np.float32) for y in ys for x in xs}
    pad = tile
    acc = np.zeros((2, height + 2 * pad, width + 2 * pad))
    wsum = np.zeros((height + 2 * pad, width + 2 * pad))
    win = blend_window(tile, overlap)
    for (y, x), t in tiles.items():
        acc[:, y + pad:y + pad + tile, x + pad:x + pad + tile] += t * win
        wsum[y + pad:y + pad + tile, x + pad:x + pad + tile] += win
    expected = acc[:, pad:pad + height, pad:pad + width] / wsum[pad:pad + height, pad:pad + width]
    blender = RowBlender(height, width, 2, tile, overlap)
    got = np.full((2, height, width), np.nan)
    for i, y in enumerate(ys):
        for x in xs:
            blender.add(y, x, tiles[(y, x)])
        done = blender.finish_rows(last=i == len(ys) - 1)
        if done:
            r0, rows = done
            assert np.isnan(got[:, r0:r0 + rows.shape[1]]).all()  # every row is handed out once
            got[:, r0:r0 + rows.shape[1]] = rows
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize("fine_h, fine_w, factor, chunks", [(10, 7, 2, [1, 2, 2]), (9, 9, 3, [3]),
                                                            (31, 5, 3, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])])
def test_upsampler_streams_like_whole_bilinear(fine_h, fine_w, factor, chunks):
    ch, cw = -(-fine_h // factor), -(-fine_w // factor)
    assert sum(chunks) == ch
    coarse = np.random.default_rng(2).random((2, ch, cw)).astype(np.float32)

    def axis(n, c):
        pos = (np.arange(n) + 0.5) / factor - 0.5
        i0 = np.floor(pos).astype(int)
        return np.clip(i0, 0, c - 1), np.clip(i0 + 1, 0, c - 1), pos - i0
    y0, y1, wy = axis(fine_h, ch)
    x0, x1, wx = axis(fine_w, cw)
    rows = coarse[:, y0] * (1 - wy)[None, :, None] + coarse[:, y1] * wy[None, :, None]
    expected = rows[:, :, x0] * (1 - wx) + rows[:, :, x1] * wx
    up = BilinearRowUpsampler(fine_h, fine_w, ch, cw, factor)
    got, start = [], 0
    for n in chunks:
        out = up.push(start, coarse[:, start:start + n])
        start += n
        if out is not None:
            assert out[0] == sum(g.shape[1] for g in got)
            got.append(out[1])
    np.testing.assert_allclose(np.concatenate(got, axis=1), expected, rtol=1e-5)
