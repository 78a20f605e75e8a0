"""Multi-Date Cloud Fill through qgis_process.bin on the real T37MEM series (clouds are masked as 0 there)."""

import numpy as np
from osgeo import gdal

from conftest import leftovers

ALG = "cloudremoval:multidatecloudfill"
TS = "s2_t37mem_timeseries"


def test_listed_with_help(qgis_process):
    proc = qgis_process(["help", ALG])
    assert proc.returncode == 0, proc.stderr
    for name in ("INPUT", "INPUT_MASK", "REPLACEMENTS", "REPLACEMENT_MASKS", "ORDER", "AUTO_MASK", "OUTPUT_SOURCE",
                 "OUTPUT_REMAINING", "COMBINE_DATES"):
        assert name in proc.stdout


def test_real_series_nearest_first(qgis_process, data_dir, tmp_path):
    d = data_dir / TS
    args = ["run", ALG, "--", f"INPUT={d / 'S2_T37MEM_20200101_sref20m.tif'}",
            f"REPLACEMENTS={d / 'S2_T37MEM_20170615_sref20m.tif'}",
            f"REPLACEMENTS={d / 'S2_T37MEM_20160710_sref20m.tif'}",
            "ORDER=nearest", "COMBINE_DATES=1", "AUTO_MASK=false", "WINDOW_SIZE=40",
            f"OUTPUT={tmp_path / 'filled.tif'}", f"OUTPUT_SOURCE={tmp_path / 'source.tif'}",
            f"OUTPUT_REMAINING={tmp_path / 'remaining.tif'}"]
    proc = qgis_process(args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2017-06-15 (from the metadata" in proc.stdout
    assert "replacement 1 (S2_T37MEM_20170615_sref20m.tif): filled" in proc.stdout
    filled = gdal.Open(str(tmp_path / "filled.tif")).ReadAsArray()
    source = gdal.Open(str(tmp_path / "source.tif")).ReadAsArray()
    assert not (filled == 0).all(axis=0).any()  # every gap filled
    assert set(np.unique(source)) == {0, 1, 2}
    assert gdal.Open(str(tmp_path / "remaining.tif")).ReadAsArray().sum() == 0
    assert leftovers(tmp_path) == []


def test_auto_masks_of_the_cloudy_target(qgis_process, data_dir, tmp_path):
    d = data_dir / TS
    proc = qgis_process(["run", ALG, "--", f"INPUT={d / 'S2_T37MEM_20200101_sref20m.tif'}",
                         f"REPLACEMENTS={d / 'S2_T37MEM_20190615_sref20m.tif'}", "PRODUCT_LEVEL=1", "SCALE=0.001",
                         "WINDOW_SIZE=40", f"OUTPUT={tmp_path / 'filled.tif'}"], extra_env={"TMPDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "computing the cloud mask of the input" in proc.stdout
    assert "computing the cloud mask of the replacement 1" in proc.stdout
    assert leftovers(tmp_path) == []  # computed masks are not kept
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tif") == ["filled.tif"]


def test_nearest_without_dates_is_refused(qgis_process, data_dir, tmp_path):
    import shutil

    d = data_dir / TS
    plain = tmp_path / "no_date.tif"
    shutil.copy(d / "S2_T37MEM_20160710_sref20m.tif", plain)
    ds = gdal.Open(str(plain), gdal.GA_Update)
    ds.SetMetadata({})
    ds = None
    proc = qgis_process(["run", ALG, "--", f"INPUT={d / 'S2_T37MEM_20200101_sref20m.tif'}", f"REPLACEMENTS={plain}",
                         "ORDER=nearest", "AUTO_MASK=false", f"OUTPUT={tmp_path / 'out' / 'f.tif'}"])
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert "no_date.tif" in proc.stdout + proc.stderr and "ORDER=given" in proc.stdout + proc.stderr
    assert not (tmp_path / "out" / "f.tif").exists()
