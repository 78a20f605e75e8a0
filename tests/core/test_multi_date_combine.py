"""Multi-date fill combining several dates per pixel (combine > 1): each date's own fill, the per-band median."""

import numpy as np
import pytest
from osgeo import gdal

from cloud_removal.algorithms.core.multi_date import run_multi_date_fill
from cloud_removal.algorithms.core.progress import InputError, Progress
from conftest import leftovers, write_raster
from conftest import read_raster as read

H = W = 60


def target_scene():
    yy, xx = np.mgrid[:H, :W]
    base = 1000 + 300 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 3 * ((xx * 7 + yy * 13) % 11)
    return np.stack([base, base * 0.8 + 50]).astype(np.float32)


def box(y0, y1, x0, x1):
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


@pytest.fixture()
def dates(tmp_path):
    """A float target cut in rows 15-45 x cols 15-45; three replacements that are exact linear transforms of it
    (each date's own fill then reproduces the target), the third with garbage in rows 15-30 of the cut."""
    t = target_scene()
    cut = box(15, 45, 15, 45)
    bad = 2.0 * t - 500
    bad[:, 15:30, 15:45] = 5000
    paths = {"truth": t, "t": write_raster(tmp_path / "t.tif", np.where(cut, -1, t), nodata=-1),
             "m": write_raster(tmp_path / "m.tif", cut),
             "r": [write_raster(tmp_path / "r1.tif", 0.9 * t + 30), write_raster(tmp_path / "r2.tif", 1.2 * t - 40),
                   write_raster(tmp_path / "r3.tif", bad)]}
    return paths


def run(dates, tmp_path, combine, masks=None, **kw):
    logs = []
    s = run_multi_date_fill(dates["t"], dates["r"], tmp_path / "o.tif", input_mask=dates["m"],
                            replacement_masks=masks, auto_mask=False, window_size=20, buffer=0, order="given",
                            source_output=tmp_path / "s.tif", combine=combine, progress=Progress(on_log=logs.append),
                            **kw)
    return s, read(tmp_path / "o.tif"), logs


def test_median_of_three_dates_rejects_the_one_that_disagrees(dates, tmp_path):
    s, out, logs = run(dates, tmp_path, 3)
    cut = box(15, 45, 15, 45).astype(bool)
    np.testing.assert_allclose(out[:, cut], dates["truth"][:, cut], rtol=0, atol=0.05)
    src = read(tmp_path / "s.tif")
    assert (src[cut] == 3).all() and (src[~cut] == 0).all()
    assert s["per_pass"] == [900, 900, 900] and s["remaining"] == 0
    assert any("gave a value to 900 pixels" in line for line in logs)
    ds = gdal.Open(str(tmp_path / "s.tif"))
    band = ds.GetRasterBand(1)
    assert band.GetColorTable() is not None
    assert band.GetCategoryNames()[:4] == ["original", "median of 1 date", "median of 2 dates", "median of 3 dates"]
    assert leftovers(tmp_path) == []


def test_first_date_alone_is_the_chained_fill(dates, tmp_path):
    _, chained, _ = run(dates, tmp_path, 1)
    cut = box(15, 45, 15, 45).astype(bool)
    np.testing.assert_allclose(chained[:, cut], dates["truth"][:, cut], rtol=0, atol=0.05)  # date 1 is exact too
    assert (read(tmp_path / "s.tif")[cut] == 1).all()


def test_masked_replacement_pixels_never_count(dates, tmp_path):
    """The third date's garbage is masked: the first two dates give every value; a date stops once n are held."""
    mask3 = write_raster(tmp_path / "m3.tif", box(10, 32, 10, 50))
    s, out, _ = run(dates, tmp_path, 2, masks=[None, None, mask3])
    cut = box(15, 45, 15, 45).astype(bool)
    np.testing.assert_allclose(out[:, cut], dates["truth"][:, cut], rtol=0, atol=0.05)
    assert s["per_pass"] == [900, 900, 0]
    assert (read(tmp_path / "s.tif")[cut] == 2).all()


def test_pixels_where_fewer_dates_are_clear_take_what_there_is(dates, tmp_path):
    mask1 = write_raster(tmp_path / "m1.tif", box(0, H, 0, 30))
    mask2 = write_raster(tmp_path / "m2.tif", box(0, H, 0, 30))
    mask3 = write_raster(tmp_path / "m3.tif", box(0, H, 0, 40))
    s, out, _ = run(dates, tmp_path, 3, masks=[mask1, mask2, mask3], remaining_output=tmp_path / "rem.tif")
    src = read(tmp_path / "s.tif")
    assert (src[15:45, 40:45] == 3).all() and (src[15:45, 30:40] == 2).all()
    assert (src[15:45, 15:30] == 255).all() and s["remaining"] == 30 * 15
    assert (read(tmp_path / "rem.tif")[15:45, 15:30] == 1).all()


def test_combine_must_be_a_count(dates, tmp_path):
    with pytest.raises(InputError, match="COMBINE_DATES"):
        run(dates, tmp_path, 0)
    assert not (tmp_path / "o.tif").exists()


def test_auto_gain_is_the_papers_for_medians_and_the_correlation_gain_for_one_date(tmp_path):
    """GAIN auto: std_t / std_r when the median of several dates is taken (the median already averages each date's
    own detail out), sqrt(rho) std_t / std_r when each pixel takes one date's value."""
    from cloud_removal.algorithms.core.fill_plan import FillPlan, Source

    rng = np.random.default_rng(3)
    t = target_scene()
    cut = box(15, 45, 15, 45)
    noisy = {"truth": t, "t": write_raster(tmp_path / "t.tif", np.where(cut, -1, t), nodata=-1),
             "m": write_raster(tmp_path / "m.tif", cut),
             "r": [write_raster(tmp_path / f"r{k}.tif", (0.9 * t + 30 + rng.normal(0, 60, t.shape)).astype(np.float32))
                   for k in range(3)]}
    outs = {}
    for combine in (1, 3):
        for rule in ("auto", "correlation", "std_ratio"):
            out_dir = tmp_path / f"{combine}_{rule}"
            out_dir.mkdir()
            outs[combine, rule] = run(noisy, out_dir, combine, gain_rule=rule)[1]
    assert outs[3, "auto"].tobytes() == outs[3, "std_ratio"].tobytes() != outs[3, "correlation"].tobytes()
    assert outs[1, "auto"].tobytes() == outs[1, "correlation"].tobytes() != outs[1, "std_ratio"].tobytes()
    plan = FillPlan(input_path="t.tif", sources=[Source("r.tif")], output="o.tif", combine=5)
    assert plan.gain() == "correlation"  # a median of one date is that date
    with pytest.raises(InputError, match="GAIN must be one of auto, correlation, std_ratio"):
        run(noisy, tmp_path, 1, gain_rule="variance")
