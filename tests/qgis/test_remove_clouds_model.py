"""The shipped Remove Clouds model: runs through processing.run on real data and equals the three steps."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from conftest import read_raster as read

T37 = "s2_t37mem_timeseries"
MODEL = ROOT / "algorithms" / "modeler" / "remove_clouds.model3"



@pytest.fixture()
def t37(data_dir):
    return {"cloudy": str(data_dir / T37 / "S2_T37MEM_20200101_sref20m.tif"),
            "clear": str(data_dir / T37 / "S2_T37MEM_20190615_sref20m.tif")}


def model_params(t37, out, **extra):
    params = {"cloudy_image": t37["cloudy"], "replacement_image": t37["clear"], "product_level": 1,
              "reflectance_scale": 0.001, "classes_to_remove": 1, "window_size": 40, "buffer": 2,
              "fill_nodata": False, "mask:cloud_classes": str(out / "classes.tif"),
              "reclassify:cloud_mask": str(out / "mask.tif"), "fill:cloud_free": str(out / "free.tif")}
    params.update(extra)
    return params


def test_model_is_registered_with_readable_parameters(qgis_app):
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById("cloudremoval:removeclouds")
    assert alg is not None and alg.displayName() == "Remove Clouds (mask, reclassify, fill)"
    names = {p.name() for p in alg.parameterDefinitions()}
    assert {"cloudy_image", "replacement_image", "product_level", "classes_to_remove", "window_size", "buffer",
            "mask:cloud_classes", "reclassify:cloud_mask", "fill:cloud_free"} <= names
    assert "Stepwise Local Radiometric Adjustment" in alg.shortHelpString()
    assert alg.helpUrl().startswith("https://") and alg.helpUrl() == alg.helpContent()["HELP_URL"]  # Help button


@pytest.mark.parametrize("classes, fill_nodata, remap", [(1, False, "1 1;2 1"), (0, True, "1 1;2 0;NODATA 1")])
def test_model_equals_the_three_steps(run_alg, t37, tmp_path, classes, fill_nodata, remap):
    model_out, steps = tmp_path / "model", tmp_path / "steps"
    steps.mkdir()
    result = run_alg("cloudremoval:removeclouds",
                     model_params(t37, model_out, classes_to_remove=classes, fill_nodata=fill_nodata))
    assert result["fill:cloud_free"] == str(model_out / "free.tif")
    run_alg("cloudremoval:generatecloudmask", {"INPUT": t37["cloudy"], "PRODUCT_LEVEL": 1, "SCALE": 0.001,
                                               "OUTPUT": str(steps / "classes.tif")})
    run_alg("cloudremoval:reclassifycloudtypes", {"INPUT": str(steps / "classes.tif"), "REMAP": remap,
                                                  "OUTPUT": str(steps / "mask.tif")})
    run_alg("cloudremoval:stepwiselocalradiometricadjustment", {
        "INPUT": t37["cloudy"], "REPLACEMENT": t37["clear"], "MASK": str(steps / "mask.tif"), "WINDOW_SIZE": 40,
        "BUFFER": 2, "OUTPUT": str(steps / "free.tif")})
    for name in ("classes.tif", "mask.tif", "free.tif"):
        assert np.array_equal(read(model_out / name), read(steps / name)), name
    cloudy, free = read(t37["cloudy"]), read(model_out / "free.tif")
    changed = (free != cloudy).any(axis=0)
    assert 0 < changed.mean() < 0.95
    if fill_nodata:  # the source's masked gaps (all bands 0) are filled too
        assert not (free == 0).all(axis=0).any()


def test_mismatched_replacement_stops_with_the_step_message(run_alg, t37, data_dir, tmp_path):
    from qgis.core import QgsProcessingException

    other = str(data_dir / "s2_ukis_csmask_labelled" / "ukis_sentinel2_labels.tif")  # 1 band, not 10
    with pytest.raises(QgsProcessingException, match="band"):
        run_alg("cloudremoval:removeclouds", model_params(t37, tmp_path, replacement_image=other))
    assert sorted(tmp_path.glob("*.tif")) == []  # the steps that ran before the failure left nothing behind


def test_model_file_is_what_the_builder_makes_and_round_trips(qgis_app, tmp_path):
    from qgis.core import QgsProcessingModelAlgorithm

    built = tmp_path / "built.model3"
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_remove_clouds_model.py"),
                           str(built)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    shipped, rebuilt = QgsProcessingModelAlgorithm(), QgsProcessingModelAlgorithm()
    assert shipped.fromFile(str(MODEL)) and rebuilt.fromFile(str(built))
    if rebuilt.toVariant().get("internal_version") == shipped.toVariant().get("internal_version"):
        assert shipped.toVariant() == rebuilt.toVariant()  # a newer QGIS writes another model format
    saved = tmp_path / "saved.model3"  # what the Modeler does on open + save (Qt orders XML attributes freely)
    assert shipped.toFile(str(saved))
    reopened = QgsProcessingModelAlgorithm()
    assert reopened.fromFile(str(saved)) and reopened.toVariant() == shipped.toVariant()
    positions = [c.position() for c in shipped.childAlgorithms().values()]
    assert len({(p.x(), p.y()) for p in positions}) == 3 and all(p.x() > 0 and p.y() > 0 for p in positions)


def test_one_group_in_the_toolbox(qgis_app):
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("cloudremoval")
    groups = {(a.group(), a.groupId()) for a in provider.algorithms()}
    assert groups == {("Cloud removal", "cloudremoval")}
    assert "cloudremoval:removeclouds" in [a.id() for a in provider.algorithms()]


def test_model_offset_reaches_the_mask_and_bad_offsets_are_refused(run_alg, t37, tmp_path):
    """OFFSET shifts the reflectance the cloud model sees: the model's classes equal Generate Cloud Mask's with the
    same offset and differ from the run without; an offset outside -1..1 stops before anything is written."""
    from qgis.core import QgsProcessingException

    for name, offset in (("none", None), ("shifted", -0.05)):
        out = tmp_path / name
        run_alg("cloudremoval:removeclouds", model_params(t37, out, reflectance_offset=offset))
        run_alg("cloudremoval:generatecloudmask", {"INPUT": t37["cloudy"], "PRODUCT_LEVEL": 1, "SCALE": 0.001,
                                                   "OFFSET": offset, "OUTPUT": str(out / "gcm.tif")})
        assert np.array_equal(read(out / "classes.tif"), read(out / "gcm.tif"))
    plain, shifted = read(tmp_path / "none" / "classes.tif"), read(tmp_path / "shifted" / "classes.tif")
    valid = plain != 255
    assert (plain[valid] != shifted[valid]).any()
    assert (shifted[valid] == 1).sum() < (plain[valid] == 1).sum()  # darker reflectance: less cloud
    for bad in (-1000, 2.0):
        with pytest.raises(QgsProcessingException, match="reflectance_offset|OFFSET"):
            run_alg("cloudremoval:removeclouds", model_params(t37, tmp_path / "bad", reflectance_offset=bad))
        assert not (tmp_path / "bad").exists() or sorted((tmp_path / "bad").glob("*.tif")) == []


def test_parameters_keep_their_classes_after_reordering(qgis_app):
    """runAndLoadResults loads only outputs whose parameter is a raster destination in Python: each must keep its
    class (a stale SIP wrapper once made the cloud-free output a number parameter on QGIS 3.44)."""
    from qgis.core import QgsApplication, QgsProcessingParameterRasterDestination

    for _ in range(3):
        alg = QgsApplication.processingRegistry().createAlgorithmById("cloudremoval:removeclouds")
        outputs = [p for p in alg.parameterDefinitions() if p.isDestination()]
        assert len(outputs) == 3
        assert all(isinstance(p, QgsProcessingParameterRasterDestination) for p in outputs), \
            [(p.name(), type(p).__name__) for p in outputs]
        assert [type(p).__name__ for p in alg.parameterDefinitions()] == [
            type(alg.parameterDefinition(p.name())).__name__ for p in alg.parameterDefinitions()]
