"""The packaged zip, installed the way Plugins > Install from ZIP does (extracted into a clean profile's plugin
folder, then enabled), lists its algorithms in qgis_process and runs the shipped model from the installed copy."""

import os
import subprocess
import zipfile
from pathlib import Path

from osgeo import gdal

from conftest import ROOT

T37 = "s2_t37mem_timeseries"


def test_installed_zip_runs_the_shipped_model(tmp_path, data_dir):
    made = subprocess.run(["make", "-s", "package", f"DIST={tmp_path / 'dist'}"], cwd=ROOT, capture_output=True,
                          text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    home = tmp_path / "home"
    plugins = home / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(tmp_path / "dist" / "cloud_removal.zip") as zf:
        zf.extractall(plugins)
    env = {k: v for k, v in os.environ.items() if k != "QGIS_PLUGINPATH"}  # only the installed copy is found
    env.update({"HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
                "PYTHONUSERBASE": os.environ.get("PYTHONUSERBASE", str(Path.home() / ".local")),
                "PYTHONWARNINGS": "ignore::DeprecationWarning"})
    binary = os.environ.get("QGIS_PROCESS", "/usr/bin/qgis_process.bin")

    def qgis_process(*args):
        return subprocess.run([binary, *map(str, args)], env=env, capture_output=True, text=True, timeout=600)

    enabled = qgis_process("plugins", "enable", "cloud_removal")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    listed = qgis_process("list")
    for alg in ("generatecloudmask", "reclassifycloudtypes", "stepwiselocalradiometricadjustment",
                "multidatecloudfill", "removeclouds"):
        assert f"cloudremoval:{alg}" in listed.stdout, listed.stdout[-2000:] + listed.stderr[-2000:]
    out = tmp_path / "out"
    run = qgis_process("run", "cloudremoval:removeclouds", "--",
                       f"cloudy_image={data_dir / T37 / 'S2_T37MEM_20200101_sref20m.tif'}",
                       f"replacement_image={data_dir / T37 / 'S2_T37MEM_20190615_sref20m.tif'}", "product_level=1",
                       "reflectance_scale=0.001", "window_size=40", f"fill:cloud_free={out / 'free.tif'}")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert gdal.Open(str(out / "free.tif")).RasterCount == 10
    (plugins / "cloud_removal").rename(tmp_path / "moved_away")  # the algorithms came from the installed copy
    assert "cloudremoval:" not in qgis_process("list").stdout
