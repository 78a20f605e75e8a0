"""Running the algorithms leaves GDAL's process-wide state (exception mode, block cache size) as it found it, so
QGIS and other plugins in the same process are not affected."""

import numpy as np
import pytest
from osgeo import gdal

from conftest import write_raster


@pytest.mark.parametrize("exceptions", [0, 1])
def test_gdal_state_is_unchanged_by_runs(run_alg, tmp_path, exceptions):
    rng = np.random.default_rng(0)
    img = write_raster(tmp_path / "t.tif", rng.integers(100, 3000, (2, 64, 64)).astype(np.uint16))
    rep = write_raster(tmp_path / "r.tif", rng.integers(100, 3000, (2, 64, 64)).astype(np.uint16))
    classes = np.zeros((64, 64), np.uint8)
    classes[20:40, 20:40] = 1
    cls = write_raster(tmp_path / "c.tif", classes)
    saved_exceptions, saved_cache = gdal.GetUseExceptions(), gdal.GetCacheMax()
    try:
        (gdal.UseExceptions if exceptions else gdal.DontUseExceptions)()
        cache = gdal.GetCacheMax()
        run_alg("cloudremoval:reclassifycloudtypes", {"INPUT": cls, "OUTPUT": str(tmp_path / "m.tif")})
        run_alg("cloudremoval:stepwiselocalradiometricadjustment", {
            "INPUT": img, "REPLACEMENT": rep, "MASK": str(tmp_path / "m.tif"), "WINDOW_SIZE": 20,
            "OUTPUT": str(tmp_path / "f.tif")})
        assert gdal.GetUseExceptions() == exceptions
        assert gdal.GetCacheMax() == cache
    finally:
        (gdal.UseExceptions if saved_exceptions else gdal.DontUseExceptions)()
        gdal.SetCacheMax(saved_cache)


def test_importing_the_plugin_changes_nothing():
    import subprocess
    import sys

    from conftest import PLUGINS

    code = ("import sys; sys.path.insert(0, sys.argv[1]); from osgeo import gdal; before = gdal.GetUseExceptions(); "
            "import cloud_removal.algorithms.provider, cloud_removal.algorithms.core.slra_raster, "
            "cloud_removal.algorithms.core.cloud_mask; print(before, gdal.GetUseExceptions())")
    out = subprocess.run([sys.executable, "-c", code, str(PLUGINS)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    before, after = out.stdout.split()
    assert before == after
