"""Generate Cloud Mask's shadow check and execution provider through the streamed runner (a per-pixel fake model
on a small georeferenced raster) and the plan."""

import os

import numpy as np
import pytest
from osgeo import gdal
from test_cloud_mask import make_plan, write

from cloud_removal.algorithms.core import model_card
from cloud_removal.algorithms.core.cloud_mask import plan_cloud_mask, provider_line, run_cloud_mask
from cloud_removal.algorithms.core.onnx_model import OnnxModel, choose_providers
from cloud_removal.algorithms.core.progress import InputError, Progress
from cloud_removal.algorithms.core.shadow_check import plan_shadow_check

CLEAR, CLOUD, SHADOW = 1000, 5000, 100  # band-1 DN the fake model reads as each class


def pixel_model(batch):
    """Per-pixel logits from band 0 (normalised): bright = cloud, dark = shadow, else clear."""
    x = batch[:, 0]
    return np.stack([np.zeros_like(x), (x > 0.4) * 10.0, (x < -0.1) * 10.0], axis=1).astype(np.float32)


def scene(h=64, w=48):
    """Cloud in rows 40-44; a shadow 8-12 rows north of it (a southern sun casts it), one 8 rows south."""
    dn = np.full((4, h, w), CLEAR, np.uint16)
    dn[0, 40:45, 10:20] = CLOUD
    dn[0, 28:33, 10:20] = SHADOW
    dn[0, 52:56, 10:20] = SHADOW
    return dn


def run(tmp_path, shadow, name="mask.tif"):
    src = write(tmp_path / "in.tif", scene())
    plan = make_plan(src)
    plan.shadow = shadow(gdal.Open(src), plan.card) if shadow else None
    lines = []
    out = str(tmp_path / name)
    counts = run_cloud_mask(plan, out, model=pixel_model, progress=Progress(on_log=lines.append))
    return gdal.Open(out).ReadAsArray(), counts, lines


def test_off_gives_the_model_classes(tmp_path):
    got, counts, lines = run(tmp_path, None)
    assert (got[28:33, 10:20] == 2).all() and (got[52:56, 10:20] == 2).all() and (got[40:45, 10:20] == 1).all()
    assert counts["cloud shadow"] == 90


def test_sun_angles_keep_the_cast_shadow_only(tmp_path):
    def shadow(ds, card):  # sun in the south at 45 deg, clouds up to 100 m: shadows up to 10 px north
        return plan_shadow_check(ds, card, 10.0, max_cloud_height=100, sun_azimuth=180, sun_zenith=45)[0]

    got, counts, lines = run(tmp_path, shadow)
    off, _, _ = run(tmp_path, None, "off.tif")
    expected = off.copy()
    expected[52:56, 10:20] = 0
    np.testing.assert_array_equal(got, expected)
    assert counts["cloud shadow"] == 50 and counts["clear"] == 64 * 48 - 50 - 50
    assert any("40 of 90 shadow pixels" in line and "1 of 2 regions" in line for line in lines)


def test_isotropic_keeps_both_within_reach(tmp_path):
    def shadow(ds, card):
        return plan_shadow_check(ds, card, 10.0, max_cloud_height=100 / np.tan(np.radians(60)))[0]

    got, _, _ = run(tmp_path, shadow)
    assert (got[28:33, 10:20] == 2).all() and (got[52:56, 10:20] == 2).all()


def test_shadow_plan_from_metadata_and_checks(tmp_path):
    src = write(tmp_path / "in.tif", scene())
    ds = gdal.Open(src, gdal.GA_Update)
    card = make_plan(src).card
    plan, note = plan_shadow_check(ds, card, 10.0)
    assert plan.direction is None and "any direction" in note and plan.reach_px == pytest.approx(2078.46, 0.01)
    ds.SetMetadata({"MEAN_SUN_AZIMUTH_ANGLE": "180", "MEAN_SUN_ZENITH_ANGLE": "45"})
    plan, note = plan_shadow_check(ds, card, 10.0)
    assert plan.direction == pytest.approx((0, -1)) and plan.reach_px == pytest.approx(1200) and "zenith 45" in note
    assert plan_shadow_check(ds, card, None)[0] is None
    with pytest.raises(InputError, match="MAX_CLOUD_HEIGHT"):
        plan_shadow_check(ds, card, 10.0, max_cloud_height=0)
    with pytest.raises(InputError, match="both SUN_AZIMUTH and SUN_ZENITH"):
        plan_shadow_check(ds, card, 10.0, sun_azimuth=10)
    with pytest.raises(InputError, match="SUN_ZENITH must be 0-85"):
        plan_shadow_check(ds, card, 10.0, sun_azimuth=10, sun_zenith=88)


def test_choose_providers():
    assert choose_providers("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    both = ["AzureExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers("auto", both) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers("auto", ["DmlExecutionProvider", "CoreMLExecutionProvider", "CPUExecutionProvider"]) \
        == ["DmlExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers("cpu", both) == ["CPUExecutionProvider"]
    with pytest.raises(InputError, match=r"CUDA \(CUDAExecutionProvider\) is not available.*has "
                                         r"AzureExecutionProvider, CPUExecutionProvider.*onnxruntime-gpu"):
        choose_providers("CUDA", ["AzureExecutionProvider", "CPUExecutionProvider"])
    with pytest.raises(InputError, match="onnxruntime-directml"):
        choose_providers("DirectML", ["CPUExecutionProvider"])
    with pytest.raises(InputError, match="EXECUTION_PROVIDER must be one of"):
        choose_providers("TPU", ["CPUExecutionProvider"])


def test_this_machines_providers():
    import onnxruntime

    available = onnxruntime.get_available_providers()
    chosen = choose_providers("auto")
    assert chosen[0] in available and chosen[-1] == "CPUExecutionProvider"


@pytest.mark.skipif(not all(c.onnx_path for c in model_card.builtin_cards()), reason="make models first")
def test_provider_in_plan_and_log(tmp_path):
    import onnxruntime

    src = write(tmp_path / "in.tif", scene())
    plan = plan_cloud_mask(src, str(tmp_path / "o.tif"), level="L1C")
    assert plan.providers == choose_providers("auto") and plan.shadow is not None
    assert plan_cloud_mask(src, str(tmp_path / "o.tif"), shadow_check=False).shadow is None
    ort_names = {"CUDA": "CUDAExecutionProvider", "DirectML": "DmlExecutionProvider",
                 "CoreML": "CoreMLExecutionProvider"}
    for name in [n for n, ort in ort_names.items() if ort not in onnxruntime.get_available_providers()]:
        with pytest.raises(InputError, match=f"execution provider {name} .*is not available"):
            plan_cloud_mask(src, str(tmp_path / "o.tif"), provider=name)
    model = OnnxModel(plan.card, plan.card.onnx_path, 1, plan.providers)
    assert model.providers[0] == plan.providers[0]
    line = provider_line(model, "auto")
    assert line.startswith(f"execution provider: {plan.providers[0]} (automatic choice")
    assert provider_line(lambda b: b).startswith("execution provider: none")
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


def test_error_in_the_blending_thread_leaves_no_output(tmp_path):
    src = write(tmp_path / "in.tif", scene())

    def two_classes(batch):  # the card has three classes: blending fails in the blending thread
        return pixel_model(batch)[:, :2]

    with pytest.raises(ValueError):
        run_cloud_mask(make_plan(src), str(tmp_path / "m.tif"), str(tmp_path / "p.tif"), model=two_classes)
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


def test_model_output_sharing_the_batch_is_copied(tmp_path):
    src = write(tmp_path / "in.tif", scene())
    plan = make_plan(src)
    plan.card.output_kind = "probabilities"

    def in_place(batch):  # returns a view of its input, as a careless Python model might
        batch[:, :3] = pixel_model(batch)
        return batch[:, :3]

    expected, _, _ = run(tmp_path, None, "ref.tif")
    run_cloud_mask(plan, str(tmp_path / "m.tif"), model=in_place)
    np.testing.assert_array_equal(gdal.Open(str(tmp_path / "m.tif")).ReadAsArray(), expected)
