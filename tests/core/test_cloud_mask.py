"""The streamed cloud-mask pipeline with a small fake model: equal to whole-image tiling, nodata, coarser
processing, probability output, cancellation and input checks."""

import json
import os

import numpy as np
import pytest
from osgeo import gdal, osr

from cloud_removal.algorithms.core import model_card
from cloud_removal.algorithms.core.cloud_mask import (
    CloudMaskPlan,
    plan_cloud_mask,
    processing_factor,
    run_cloud_mask,
)
from cloud_removal.algorithms.core.progress import Cancelled, InputError, Progress
from cloud_removal.algorithms.core.tiling import blend_window, softmax, tile_geometry

gdal.UseExceptions()
TILE, OVERLAP = 16, 0.25
MEAN, STD = [0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.25, 0.5]


def small_card():
    with open(os.path.join(model_card.MODELS_DIR, "ukis_csmask_4b_l1c.json"), encoding="utf-8") as f:
        data = json.load(f)
    data["input"].update(tile_size=TILE, mean=MEAN, std=STD)
    data["tiling"]["overlap"] = OVERLAP
    return model_card.parse_card(data, "small.json")


def fake_model(batch):
    """Context-dependent logits: the tile mean of band 0 shifts class 1, so blending matters."""
    ctx = batch[:, 0].mean(axis=(1, 2))[:, None, None]
    return np.stack([batch[:, 0], batch[:, 1] + ctx, -batch[:, 3]], axis=1).astype(np.float32)


def write(path, array, nodata=None, geo=True, descriptions=("B02", "B03", "B04", "B08"),
          options=("TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16")):
    bands, h, w = array.shape
    gtype = {np.dtype(np.uint16): gdal.GDT_UInt16, np.dtype(np.float32): gdal.GDT_Float32}[array.dtype]
    ds = gdal.GetDriverByName("GTiff").Create(str(path), w, h, bands, gtype, list(options))
    if geo:
        ds.SetGeoTransform((500000, 10, 0, 4000000, 0, -10))
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(32633)
        ds.SetProjection(srs.ExportToWkt())
    for i in range(bands):
        band = ds.GetRasterBand(i + 1)
        band.WriteArray(array[i])
        band.SetDescription(descriptions[i])
        if nodata is not None:
            band.SetNoDataValue(nodata)
    ds = None
    return str(path)


def reference(refl, valid):
    """Whole-image inference the way ukis-csmask does it: symmetric pad, all tiles, Tukey-weighted sum."""
    pad, step = tile_geometry(TILE, OVERLAP)
    x = (refl - np.array(MEAN, np.float32)[:, None, None]) / np.array(STD, np.float32)[:, None, None]
    x[:, ~valid] = 0
    _, h, w = x.shape
    big = TILE * 4
    xp = np.pad(x, ((0, 0), (pad, big), (pad, big)), mode="symmetric")
    acc = np.zeros((3,) + xp.shape[1:])
    wsum = np.zeros(xp.shape[1:])
    win = blend_window(TILE, OVERLAP)
    for ty in range(0, h + pad, step):
        for tx in range(0, w + pad, step):
            p = softmax(fake_model(xp[None, :, ty:ty + TILE, tx:tx + TILE]), axis=1)[0]
            acc[:, ty:ty + TILE, tx:tx + TILE] += p * win
            wsum[ty:ty + TILE, tx:tx + TILE] += win
    return (acc / np.maximum(wsum, 1e-12))[:, pad:pad + h, pad:pad + w]


def make_plan(path, factor=1, scale=1e-4, offset=0.0, nodata=None, w=None, h=None, batch=3):
    ds = gdal.Open(path)
    return CloudMaskPlan(input_path=path, card=small_card(), bands=[1, 2, 3, 4],
                         roles={"blue": 1, "green": 2, "red": 3, "nir": 4}, scale=scale, offset=offset,
                         nodata=[nodata] * 4, factor=factor, overlap=OVERLAP, batch_size=batch, threads=1,
                         width=ds.RasterXSize, height=ds.RasterYSize)


def dn_image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((4, h, w)) * 6000 + 100).astype(np.uint16)


@pytest.mark.parametrize("h, w, batch", [(45, 37, 3), (16, 16, 1), (5, 70, 4), (60, 7, 2)])
def test_streamed_equals_whole_image(tmp_path, h, w, batch):
    dn = dn_image(h, w)
    src = write(tmp_path / "in.tif", dn)
    out, prob = str(tmp_path / "mask.tif"), str(tmp_path / "prob.tif")
    counts = run_cloud_mask(make_plan(src, batch=batch), out, prob, model=fake_model)
    ref = reference(dn.astype(np.float32) * np.float32(1e-4), np.ones((h, w), bool))
    got = gdal.Open(out).ReadAsArray()
    assert got.shape == (h, w) and (got != 255).all()  # every pixel covered
    assert (got == ref.argmax(axis=0)).mean() == 1.0
    p = gdal.Open(prob).ReadAsArray().astype(int)
    assert np.abs(p - np.rint(ref[1] * 100)).max() <= 1
    assert sum(counts.values()) == h * w


class CpuModel:
    """fake_model as an onnxruntime session on the CPU looks to the run (its reader then decodes on one thread)."""

    providers = ["CPUExecutionProvider"]

    def __call__(self, batch):
        return fake_model(batch)


@pytest.mark.parametrize("options", [
    ("TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16", "INTERLEAVE=PIXEL", "COMPRESS=DEFLATE"),
    ("TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=32", "COMPRESS=LZW"),
    ("BLOCKYSIZE=1",),
    ("BLOCKYSIZE=7", "INTERLEAVE=PIXEL", "COMPRESS=DEFLATE"),
])
@pytest.mark.parametrize("factor", [1, 2])
def test_same_result_for_any_file_layout(tmp_path, options, factor):
    dn = dn_image(45, 37, seed=3)
    base = run_cloud_mask(make_plan(write(tmp_path / "a.tif", dn), factor=factor), str(tmp_path / "a_m.tif"),
                          str(tmp_path / "a_p.tif"), model=fake_model)
    src = write(tmp_path / "b.tif", dn, options=options)
    got = run_cloud_mask(make_plan(src, factor=factor), str(tmp_path / "b_m.tif"), str(tmp_path / "b_p.tif"),
                         model=CpuModel())
    assert got == base
    for name in ("m", "p"):
        a = gdal.Open(str(tmp_path / f"a_{name}.tif")).ReadAsArray()
        assert np.array_equal(gdal.Open(str(tmp_path / f"b_{name}.tif")).ReadAsArray(), a)


def test_output_styling_and_metadata(tmp_path):
    src = write(tmp_path / "in.tif", dn_image(20, 20))
    out = str(tmp_path / "mask.tif")
    run_cloud_mask(make_plan(src), out, model=fake_model)
    ds = gdal.Open(out)
    band = ds.GetRasterBand(1)
    assert band.DataType == gdal.GDT_Byte and band.GetNoDataValue() == 255
    assert band.GetCategoryNames()[:3] == ["clear", "cloud", "cloud shadow"]
    assert band.GetColorTable().GetColorEntry(1)[:3] == (255, 64, 255)
    assert ds.GetGeoTransform() == (500000, 10, 0, 4000000, 0, -10)
    assert ds.GetMetadata()["CLOUD_MODEL"] == "ukis-csmask-4b-l1c"


def test_nodata_declared_and_all_zero(tmp_path):
    dn = dn_image(30, 30)
    dn[:, 0:5, 0:5] = 0          # all-zero: nodata even without a declared value
    dn[2, 10, 10] = 7            # one band at the declared nodata value
    src = write(tmp_path / "in.tif", dn, nodata=7)
    out, prob = str(tmp_path / "mask.tif"), str(tmp_path / "prob.tif")
    run_cloud_mask(make_plan(src, nodata=7), out, prob, model=fake_model)
    got, p = gdal.Open(out).ReadAsArray(), gdal.Open(prob).ReadAsArray()
    bad = np.zeros((30, 30), bool)
    bad[0:5, 0:5] = True
    bad[10, 10] = True
    assert (got[bad] == 255).all() and (got[~bad] != 255).all()
    assert (p[bad] == 255).all() and (p[~bad] <= 100).all()
    dn[0, 20, 20] = 0            # a single zero band is data
    src2 = write(tmp_path / "in2.tif", dn)
    run_cloud_mask(make_plan(src2), str(tmp_path / "m2.tif"), model=fake_model)
    assert gdal.Open(str(tmp_path / "m2.tif")).ReadAsArray()[20, 20] != 255


def test_scale_offset_and_float_input(tmp_path):
    dn = dn_image(20, 24)
    refl = dn.astype(np.float32) * np.float32(1e-4)
    a = write(tmp_path / "dn.tif", dn + 1000)
    b = write(tmp_path / "refl.tif", refl)
    run_cloud_mask(make_plan(a, offset=-0.1), str(tmp_path / "a.tif"), model=fake_model)
    run_cloud_mask(make_plan(b, scale=1.0), str(tmp_path / "b.tif"), model=fake_model)
    ma, mb = (gdal.Open(str(tmp_path / n)).ReadAsArray() for n in ("a.tif", "b.tif"))
    assert (ma == mb).mean() > 0.999


def test_coarser_processing_writes_input_grid(tmp_path):
    dn = np.repeat(np.repeat(dn_image(12, 10, seed=3), 2, axis=1), 2, axis=2)[:, :23, :19]
    src = write(tmp_path / "in.tif", dn)
    out = str(tmp_path / "mask.tif")
    run_cloud_mask(make_plan(src, factor=2), out, model=fake_model)
    got = gdal.Open(out).ReadAsArray()
    assert got.shape == (23, 19) and (got != 255).all()
    coarse = reference(dn_image(12, 10, seed=3).astype(np.float32) * np.float32(1e-4), np.ones((12, 10), bool))
    # pixel centres of each 2 x 2 block's top-left fine pixel interpolate towards neighbours; most keep the class
    assert (got[::2, ::2] == coarse.argmax(axis=0)).mean() > 0.8


def test_processing_factor(tmp_path):
    geo = gdal.Open(write(tmp_path / "g.tif", dn_image(4, 4)))
    assert processing_factor(geo, 0)[0] == 1
    assert processing_factor(geo, 20)[0] == 2
    assert processing_factor(geo, 30)[0] == 3
    assert processing_factor(geo, 12)[0] == 1
    bare = gdal.Open(write(tmp_path / "b.tif", dn_image(4, 4), geo=False))
    factor, note = processing_factor(bare, 30)
    assert factor == 1 and "no usable georeference" in note


def test_cancel_leaves_no_output(tmp_path):
    src = write(tmp_path / "in.tif", dn_image(40, 40))
    out, prob = tmp_path / "mask.tif", tmp_path / "prob.tif"
    with pytest.raises(Cancelled):
        run_cloud_mask(make_plan(src), str(out), str(prob), progress=Progress(is_cancelled=lambda: True),
                       model=fake_model)
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


def test_dn_without_scale_is_refused(tmp_path):
    src = write(tmp_path / "in.tif", dn_image(20, 20))
    with pytest.raises(InputError, match="does not look like reflectance.*Set SCALE"):
        run_cloud_mask(make_plan(src, scale=1.0), str(tmp_path / "m.tif"), model=fake_model)
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


def test_plan_input_checks(tmp_path):
    src = write(tmp_path / "in.tif", dn_image(20, 20), descriptions=("a", "b", "c", "d"))
    with pytest.raises(InputError, match="would overwrite the input raster"):
        plan_cloud_mask(src, src)
    with pytest.raises(InputError, match="Could not find the blue, green, red, nir"):
        plan_cloud_mask(src, str(tmp_path / "o.tif"))
    with pytest.raises(InputError, match="The nir band 5 does not exist"):
        plan_cloud_mask(src, str(tmp_path / "o.tif"), explicit_bands={"blue": 1, "green": 2, "red": 3, "nir": 5})
    with pytest.raises(InputError, match="PRODUCT_LEVEL"):
        plan_cloud_mask(src, str(tmp_path / "o.tif"), level="L3")
    with pytest.raises(InputError, match="Cannot open the input raster"):
        plan_cloud_mask(str(tmp_path / "missing.tif"), str(tmp_path / "o.tif"))
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


@pytest.mark.skipif(not all(c.onnx_path for c in model_card.builtin_cards() if c.default), reason="make models first")
def test_plan_defaults(tmp_path):
    dn = dn_image(20, 20)
    src = write(tmp_path / "in.tif", dn)
    plan = plan_cloud_mask(src, str(tmp_path / "o.tif"), level="L2A", resolution_m=20)
    assert plan.card.id == "ukis-csmask-4b-l2a" and plan.bands == [1, 2, 3, 4]
    assert plan.scale == 1e-4 and plan.offset == 0 and plan.factor == 2
    assert any("from the band descriptions" in n for n in plan.notes)
    f = write(tmp_path / "f.tif", dn.astype(np.float32))
    assert plan_cloud_mask(f, str(tmp_path / "o.tif")).scale == 1.0


def test_offset_outside_reflectance_range_is_refused(tmp_path):
    from cloud_removal.algorithms.core.cloud_mask_plan import check_offset

    for ok in (None, -0.1, 0.0, 1.0, -1.0):
        check_offset(ok)
    for bad in (-1000, 1.5, float("nan"), float("inf")):
        with pytest.raises(InputError, match="OFFSET .* between -1 and 1"):
            check_offset(bad)
    src = write(tmp_path / "in.tif", dn_image(20, 20))
    with pytest.raises(InputError, match="-0.1 on the raw DN"):
        plan_cloud_mask(src, str(tmp_path / "o.tif"), scale=1e-4, offset=-1000)
    assert sorted(os.listdir(tmp_path)) == ["in.tif"]


def test_reflectance_check_samples_large_strips_and_sees_sparse_valid_pixels():
    from cloud_removal.algorithms.core.cloud_mask import _reflectance_p99

    refl = np.random.default_rng(0).random((4, 600, 700)).astype(np.float32)
    valid = np.ones((600, 700), bool)
    assert abs(_reflectance_p99(refl, valid) - np.percentile(refl, 99)) < 0.005  # subsample of 2.8 M values
    valid[:] = False
    valid[1, 3] = True  # off the subsample's grid: all valid pixels are used
    refl[:, 1, 3] = [7, 8, 9, 10]
    assert _reflectance_p99(refl, valid) == pytest.approx(np.percentile([7, 8, 9, 10], 99))
