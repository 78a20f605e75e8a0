"""Alignment of REPLACEMENT and MASK to INPUT's grid through a GDAL warped VRT."""

import numpy as np
import pytest
from osgeo import gdal
from test_slra_raster import GT, read, scene, write

from cloud_removal.algorithms.core import align, slra_raster
from cloud_removal.algorithms.core.progress import InputError, Progress


def test_same_grid_is_used_directly(tmp_path):
    a = gdal.Open(write(tmp_path / "a.tif", np.zeros((5, 6))))
    b = gdal.Open(write(tmp_path / "b.tif", np.ones((5, 6))))
    assert align.same_grid(a, b)
    ds, alpha = align.align_to(a, b, "bilinear", "replacement raster")
    assert ds is b and alpha is None
    c = gdal.Open(write(tmp_path / "c.tif", np.ones((5, 6)), gt=(GT[0] + 20,) + GT[1:]))
    assert not align.same_grid(a, c)
    d = gdal.Open(write(tmp_path / "d.tif", np.ones((5, 6)), epsg=32637))
    assert not align.same_grid(a, d)


def test_larger_replacement_and_finer_mask_are_aligned(tmp_path):
    rng = np.random.default_rng(3)
    t, r = scene(rng, 100, 120, 2)
    m = np.zeros((100, 120), np.uint8)
    m[30:70, 40:90] = 1
    tp, rp, mp = write(tmp_path / "t.tif", t), write(tmp_path / "r.tif", r), write(tmp_path / "m.tif", m)
    slra_raster.run_slra(tp, rp, mp, tmp_path / "same.tif", window_size=20, buffer=0)
    # replacement: a bigger extent (10 pixels more on each side), same resolution, other values around
    big = np.full((2, 120, 140), 5.0)
    big[:, 10:110, 10:130] = r
    rbig = write(tmp_path / "rbig.tif", big, gt=(GT[0] - 200, 20.0, 0.0, GT[3] + 200, 0.0, -20.0))
    # mask: at 10 m (2 x 2 pixels per input pixel)
    mfine = write(tmp_path / "mfine.tif", np.kron(m, np.ones((2, 2), np.uint8)),
                  gt=(GT[0], 10.0, 0.0, GT[3], 0.0, -10.0))
    logs = []
    slra_raster.run_slra(tp, rbig, mfine, tmp_path / "al.tif", window_size=20, buffer=0,
                         progress=Progress(on_log=logs.append))
    np.testing.assert_allclose(read(tmp_path / "al.tif"), read(tmp_path / "same.tif"), rtol=1e-9)
    assert sum("aligned" in line for line in logs) == 2


def test_partial_replacement_gives_nodata_only_where_missing(tmp_path):
    rng = np.random.default_rng(4)
    t, r = scene(rng, 60, 60, 1)
    m = np.zeros((60, 60), np.uint8)
    m[20:40, 20:50] = 1
    # replacement covers only the left 40 columns
    rp = write(tmp_path / "r.tif", r[:, :, :40])
    out = tmp_path / "o.tif"
    s = slra_raster.run_slra(write(tmp_path / "t.tif", t, nodata=-1.0), rp, write(tmp_path / "m.tif", m), out,
                             window_size=20, buffer=0)
    o = read(out)
    assert (o[0, 20:40, 40:50] == -1).all() and (o[0, 20:40, 20:39] != -1).all()
    assert s["no_replacement"] == 200


def test_no_overlap_and_ungeoreferenced(tmp_path):
    rng = np.random.default_rng(5)
    t, r = scene(rng, 30, 30, 1)
    m = np.ones((30, 30), np.uint8)
    m[:5] = 0
    tp, mp = write(tmp_path / "t.tif", t), write(tmp_path / "m.tif", m)
    far = write(tmp_path / "far.tif", r, gt=(GT[0] + 1e5,) + GT[1:])
    with pytest.raises(InputError, match="does not overlap"):
        slra_raster.run_slra(tp, far, mp, tmp_path / "o.tif", window_size=20, buffer=0)
    plain = tmp_path / "plain.tif"
    gdal.GetDriverByName("GTiff").Create(str(plain), 20, 20, 1, gdal.GDT_Float64).FlushCache()
    with pytest.raises(InputError, match="no georeferencing"):
        slra_raster.run_slra(tp, str(plain), mp, tmp_path / "o.tif", window_size=20, buffer=0)
    assert not (tmp_path / "o.tif").exists()
