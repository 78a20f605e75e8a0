"""The Python API (algorithms/core/api.py) writes byte for byte what processing.run of each algorithm writes."""

import subprocess
import sys

import pytest

from conftest import PLUGINS, leftovers

TS = "s2_t37mem_timeseries/S2_T37MEM_{}_sref20m.tif"


def ts(data_dir, date):
    return str(data_dir / TS.format(date))


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def test_api_imports_without_qgis():
    code = ("import sys; from cloud_removal.algorithms.core import api; "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('qgis', 'processing')]; "
            "print(sorted(api.__all__))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(PLUGINS))
    assert proc.returncode == 0, proc.stderr
    assert "remove_clouds" in proc.stdout


def test_remove_clouds_equals_the_shipped_model(run_alg, data_dir, tmp_path):
    from cloud_removal.algorithms.core import api

    cloudy, clear = ts(data_dir, "20200101"), ts(data_dir, "20190615")
    (tmp_path / "alg").mkdir()
    (tmp_path / "api").mkdir()
    run_alg("cloudremoval:removeclouds", {
        "cloudy_image": cloudy, "replacement_image": clear, "product_level": 1, "reflectance_scale": 0.001,
        "classes_to_remove": 0, "fill_nodata": True, "window_size": 40, "buffer": 3,
        "mask:cloud_classes": str(tmp_path / "alg" / "classes.tif"),
        "reclassify:cloud_mask": str(tmp_path / "alg" / "mask.tif"),
        "fill:cloud_free": str(tmp_path / "alg" / "free.tif")})
    percents = []
    api.remove_clouds(cloudy, clear, str(tmp_path / "api" / "free.tif"), product_level="L2A", reflectance_scale=0.001,
                      classes_to_remove=0, fill_nodata=True, window_size=40, buffer=3,
                      cloud_classes=str(tmp_path / "api" / "classes.tif"),
                      cloud_mask=str(tmp_path / "api" / "mask.tif"), progress=percents.append)
    for name in ("classes.tif", "mask.tif", "free.tif"):
        assert same_bytes(tmp_path / "alg" / name, tmp_path / "api" / name), name
    assert percents and max(percents) == pytest.approx(100.0) and percents == sorted(percents)
    assert leftovers(tmp_path / "api") == []


def test_remove_clouds_bad_input_writes_nothing(data_dir, tmp_path):
    from cloud_removal.algorithms.core import api

    one_band = str(data_dir / "s2_ukis_csmask_labelled" / "ukis_sentinel2_labels.tif")
    with pytest.raises(api.InputError, match="band"):
        api.remove_clouds(ts(data_dir, "20200101"), one_band, str(tmp_path / "free.tif"),
                          cloud_classes=str(tmp_path / "classes.tif"))
    assert list(tmp_path.iterdir()) == []


def test_cloud_mask_and_reclassify_equal_the_algorithms(run_alg, data_dir, tmp_path):
    from cloud_removal.algorithms.core import api

    src = ts(data_dir, "20180819")
    run_alg("cloudremoval:generatecloudmask", {"INPUT": src, "PRODUCT_LEVEL": 1, "SCALE": 0.001, "BATCH_SIZE": 2,
                                               "OUTPUT": str(tmp_path / "a.tif"),
                                               "OUTPUT_PROBABILITY": str(tmp_path / "ap.tif")})
    api.cloud_mask(src, str(tmp_path / "b.tif"), product_level=1, scale=0.001, batch_size=2,
                   output_probability=str(tmp_path / "bp.tif"))
    assert same_bytes(tmp_path / "a.tif", tmp_path / "b.tif")
    assert same_bytes(tmp_path / "ap.tif", tmp_path / "bp.tif")
    run_alg("cloudremoval:reclassifycloudtypes", {"INPUT": str(tmp_path / "a.tif"), "REMAP": "1 1;2 1",
                                                  "MISSING_VALUES": "NODATA", "GROW": 2, "MIN_REGION": 4,
                                                  "OUTPUT": str(tmp_path / "ra.tif")})
    api.reclassify(str(tmp_path / "a.tif"), str(tmp_path / "rb.tif"), remap="1 1;2 1", missing_values="NODATA",
                   grow=2, min_region=4)
    assert same_bytes(tmp_path / "ra.tif", tmp_path / "rb.tif")


def test_slra_and_multi_date_equal_the_algorithms(run_alg, data_dir, tmp_path):
    from cloud_removal.algorithms.core import api

    target, masks = ts(data_dir, "20200101"), str(data_dir / "s2_t37mem_timeseries" / "S2_T37MEM_masked_pixels.tif")
    run_alg("cloudremoval:stepwiselocalradiometricadjustment", {
        "INPUT": target, "REPLACEMENT": ts(data_dir, "20190610"), "MASK": masks, "MASK_BAND": 21, "WINDOW_SIZE": 40,
        "RESIDUAL_CORRECTION": False, "GAIN": "std_ratio", "OUTPUT": str(tmp_path / "sa.tif")})
    api.slra_fill(target, ts(data_dir, "20190610"), masks, str(tmp_path / "sb.tif"), mask_band=21, window_size=40,
                  residual_correction=False, gain="std_ratio")
    assert same_bytes(tmp_path / "sa.tif", tmp_path / "sb.tif")
    reps = [ts(data_dir, "20190610"), ts(data_dir, "20180819")]
    run_alg("cloudremoval:multidatecloudfill", {
        "INPUT": target, "REPLACEMENTS": reps, "ORDER": "nearest", "PRODUCT_LEVEL": 1, "SCALE": 0.001,
        "WINDOW_SIZE": 40, "OUTPUT": str(tmp_path / "ma.tif"), "OUTPUT_SOURCE": str(tmp_path / "msa.tif"),
        "OUTPUT_REMAINING": str(tmp_path / "mra.tif")})
    api.multi_date_fill(target, reps, str(tmp_path / "mb.tif"), order="nearest", product_level="L2A", scale=0.001,
                        window_size=40, output_source=str(tmp_path / "msb.tif"),
                        output_remaining=str(tmp_path / "mrb.tif"))
    for a, b in (("ma", "mb"), ("msa", "msb"), ("mra", "mrb")):
        assert same_bytes(tmp_path / f"{a}.tif", tmp_path / f"{b}.tif"), a


@pytest.mark.parametrize("function, alg_id", [
    ("cloud_mask", "generatecloudmask"), ("reclassify", "reclassifycloudtypes"),
    ("slra_fill", "stepwiselocalradiometricadjustment"), ("multi_date_fill", "multidatecloudfill"),
    ("remove_clouds", "removeclouds")])
def test_api_parameters_are_the_algorithms_in_lower_case_with_their_defaults(qgis_app, function, alg_id):
    import inspect

    from qgis.core import QgsApplication, QgsProcessingParameterEnum

    from cloud_removal.algorithms.core import api

    alg = QgsApplication.processingRegistry().algorithmById(f"cloudremoval:{alg_id}")
    signature = inspect.signature(getattr(api, function)).parameters
    extra = {"progress", "log", "is_cancelled"} | ({"threads"} if function in ("remove_clouds", "multi_date_fill")
                                                   else set())
    definitions = {d.name().lower().split(":")[-1]: d for d in alg.parameterDefinitions()}
    assert set(signature) - extra == set(definitions)
    for name, definition in definitions.items():
        default, ours = definition.defaultValue(), signature[name].default
        if definition.isDestination() or default in (None, "") or ours is inspect.Parameter.empty:
            continue
        if isinstance(definition, QgsProcessingParameterEnum) and isinstance(ours, str) and isinstance(default, int):
            default = definition.options()[default]
        assert str(ours).lower() == str(default).lower(), name
