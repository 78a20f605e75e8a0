"""Multi-date fill on small synthetic stacks with known clear and cloudy pixels per date."""

import numpy as np
import pytest
from osgeo import gdal

from cloud_removal.algorithms.core.multi_date import acquisition_date, order_sources, run_multi_date_fill
from cloud_removal.algorithms.core.progress import InputError, Progress
from cloud_removal.algorithms.core.slra_raster import run_slra
from conftest import leftovers, write_raster
from conftest import read_raster as read

H = W = 48


def scene(rng, gain=1.0, offset=0.0):
    yy, xx = np.mgrid[:H, :W]
    base = 1000 + 300 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    return np.stack([gain * base + offset + rng.normal(0, 5, (H, W)) + 40 * b for b in range(2)]).astype(np.uint16)


def box(y0, y1, x0, x1):
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


@pytest.fixture()
def stack(tmp_path):
    """Target cloudy in rows 10-30 x cols 10-30; replacement 1 cloudy over the left half of that, 2 clear."""
    rng = np.random.default_rng(3)
    paths = {"t": write_raster(tmp_path / "t_20200110.tif", scene(rng)),
             "tm": write_raster(tmp_path / "tm.tif", box(10, 30, 10, 30)),
             "r1": write_raster(tmp_path / "r1_20200101.tif", scene(rng, 0.9, 30)),
             "r1m": write_raster(tmp_path / "r1m.tif", box(0, H, 0, 20)),
             "r2": write_raster(tmp_path / "r2_20190601.tif", scene(rng, 1.1, -20))}
    return paths



def test_fills_from_the_first_clear_date_then_the_next(stack, tmp_path):
    logs = []
    s = run_multi_date_fill(stack["t"], [stack["r1"], stack["r2"]], tmp_path / "o.tif", input_mask=stack["tm"],
                            replacement_masks=[stack["r1m"], None], auto_mask=False, window_size=20, buffer=0,
                            source_output=tmp_path / "s.tif", remaining_output=tmp_path / "rem.tif",
                            order="given", progress=Progress(on_log=logs.append), combine=1)
    src = read(tmp_path / "s.tif")
    assert (src[10:30, 20:30] == 1).all() and (src[10:30, 10:20] == 2).all()
    assert (src[:10] == 0).all() and (src[30:] == 0).all()
    assert s["per_pass"] == [200, 200] and s["remaining"] == 0
    assert read(tmp_path / "rem.tif").sum() == 0
    assert any("replacement 1" in line and "filled 200 pixels" in line for line in logs)
    ds = gdal.Open(str(tmp_path / "s.tif"))
    band = ds.GetRasterBand(1)
    assert band.GetColorTable() is not None  # (GDAL 3.6 loads the .aux.xml names only after such a call)
    assert band.GetCategoryNames()[:3] == ["original", "replacement 1", "replacement 2"]
    assert band.GetCategoryNames()[255] == "still missing"
    out, t = read(tmp_path / "o.tif"), read(stack["t"])
    assert np.array_equal(out[:, :10], t[:, :10])  # outside the region: bit for bit
    assert leftovers(tmp_path) == []


def test_masked_replacement_pixels_never_reach_the_output_or_the_statistics(stack, tmp_path):
    r1 = read(stack["r1"])
    outs = []
    for k, junk in enumerate((60000, 1)):
        bad = r1.copy()
        bad[:, :, :20] = junk  # only where replacement 1 is masked
        path = write_raster(tmp_path / f"bad{k}.tif", bad)
        run_multi_date_fill(stack["t"], [path, stack["r2"]], tmp_path / f"o{k}.tif", input_mask=stack["tm"],
                            replacement_masks=[stack["r1m"], None], auto_mask=False, window_size=20, buffer=0,
                            order="given")
        outs.append(read(tmp_path / f"o{k}.tif"))
    assert np.array_equal(outs[0], outs[1])
    assert outs[0].max() < 5000


def test_pixels_no_date_can_fill_are_reported(stack, tmp_path):
    s = run_multi_date_fill(stack["t"], [stack["r1"]], tmp_path / "o.tif", input_mask=stack["tm"],
                            replacement_masks=[stack["r1m"]], auto_mask=False, window_size=20, buffer=0,
                            source_output=tmp_path / "s.tif", remaining_output=tmp_path / "rem.tif")
    assert s["remaining"] == 200
    rem, src = read(tmp_path / "rem.tif"), read(tmp_path / "s.tif")
    assert rem[10:30, 10:20].all() and rem.sum() == 200 and (src[rem == 1] == 255).all()


def test_one_clear_replacement_gives_exactly_slra(stack, tmp_path):
    run_multi_date_fill(stack["t"], [stack["r2"]], tmp_path / "m.tif", input_mask=stack["tm"], auto_mask=False,
                        fill_nodata=False, window_size=20)
    run_slra(stack["t"], stack["r2"], stack["tm"], tmp_path / "s.tif", window_size=20)
    assert np.array_equal(read(tmp_path / "m.tif"), read(tmp_path / "s.tif"))


def test_nearest_order_and_dates(stack, tmp_path):
    assert str(acquisition_date(stack["r1"])[0]) == "2020-01-01"
    assert order_sources(stack["t"], [stack["r2"], stack["r1"]], "nearest") == [1, 0]
    assert order_sources(stack["t"], [stack["r2"], stack["r1"]], "given") == [0, 1]
    ds = gdal.Open(write_raster(tmp_path / "nodate.tif", read(stack["r2"])), gdal.GA_Update)
    ds.SetMetadataItem("TIFFTAG_DATETIME", "2019:12:30 10:00:00")
    ds = None
    assert str(acquisition_date(tmp_path / "nodate.tif")[0]) == "2019-12-30"
    write_raster(tmp_path / "plain.tif", read(stack["r2"]))
    with pytest.raises(InputError, match="plain.tif"):
        order_sources(stack["t"], [tmp_path / "plain.tif"], "nearest")


@pytest.mark.parametrize("case, message", [
    ("bands", "same bands"), ("masks", "one mask per replacement"), ("cloudy", "None of the"),
    ("nothing", "Nothing to fill")])
def test_bad_input_is_refused_without_output(stack, tmp_path, case, message):
    kwargs = {"input_mask": stack["tm"], "auto_mask": False, "window_size": 20, "buffer": 0}
    reps, masks = [stack["r1"]], None
    if case == "bands":
        reps = [write_raster(tmp_path / "one.tif", read(stack["r1"])[0])]
    elif case == "masks":
        masks = [stack["r1m"], stack["r1m"]]
    elif case == "cloudy":
        masks = [write_raster(tmp_path / "all.tif", np.ones((H, W), np.uint8))]
    else:
        kwargs["input_mask"], kwargs["fill_nodata"] = None, False
    with pytest.raises(InputError, match=message):
        run_multi_date_fill(stack["t"], reps, tmp_path / "out" / "o.tif", replacement_masks=masks, **kwargs)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_similar_order_puts_the_date_that_agrees_best_first(stack, tmp_path):
    rng = np.random.default_rng(5)
    noisy = write_raster(tmp_path / "noisy.tif", rng.integers(500, 1500, (2, H, W)).astype(np.uint16))
    logs = []
    s = run_multi_date_fill(stack["t"], [noisy, stack["r2"]], tmp_path / "o.tif", input_mask=stack["tm"],
                            auto_mask=False, window_size=20, buffer=0, source_output=tmp_path / "s.tif",
                            progress=Progress(on_log=logs.append), combine=1)
    assert s["order"] == [1, 0]  # r2 (a linear function of the target plus noise) before pure noise
    assert (read(tmp_path / "s.tif")[10:30, 10:30] == 1).all()  # all filled from the first in that order
    assert any("most similar first" in line for line in logs)
