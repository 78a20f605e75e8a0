"""Reclassify Cloud Types through qgis_process.bin, as a user or a script would call it."""

import numpy as np
from osgeo import gdal

LABELS = "s2_ukis_csmask_labelled/ukis_sentinel2_labels.tif"


def test_provider_algorithms_are_listed(qgis_process):
    proc = qgis_process(["list"])
    assert proc.returncode == 0, proc.stderr
    assert "cloudremoval:reclassifycloudtypes" in proc.stdout


def test_help_shows_parameters(qgis_process):
    proc = qgis_process(["help", "cloudremoval:reclassifycloudtypes"])
    assert proc.returncode == 0, proc.stderr
    for name in ("REMAP", "MISSING_VALUES", "GROW", "MIN_REGION", "OUTPUT"):
        assert name in proc.stdout


def test_run_on_real_labels(qgis_process, data_dir, tmp_path):
    out = tmp_path / "mask.tif"
    proc, result = qgis_process.run_json("cloudremoval:reclassifycloudtypes", {
        "INPUT": data_dir / LABELS, "REMAP": "0 1;4 1;1 3 0", "MISSING_VALUES": "DATA", "OUTPUT": out})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["results"]["OUTPUT"] == str(out)
    labels = gdal.Open(str(data_dir / LABELS)).ReadAsArray()
    assert np.array_equal(gdal.Open(str(out)).ReadAsArray(), np.isin(labels, [0, 4]).astype(np.uint8))


def test_bad_remap_string_gives_rc1_and_no_output(qgis_process, data_dir, tmp_path):
    out = tmp_path / "bad.tif"
    proc = qgis_process(["run", "cloudremoval:reclassifycloudtypes", "--", f"INPUT={data_dir / LABELS}",
                         "REMAP=1 one", f"OUTPUT={out}"])
    assert proc.returncode == 1
    assert "new value 'one' is not a number" in proc.stdout + proc.stderr
    assert list(tmp_path.iterdir()) == []
