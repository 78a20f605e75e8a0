"""The streamed pipeline agrees with ukis-csmask's own CSmask on its labelled Sentinel-2 test image."""

import numpy as np
import pytest
from osgeo import gdal

from cloud_removal.algorithms.core import model_card
from cloud_removal.algorithms.core.agreement import kappa
from cloud_removal.algorithms.core.cloud_mask import generate_cloud_mask

pytest.importorskip("onnxruntime")
mask = pytest.importorskip("ukis_csmask.mask", reason="pip install ukis-csmask==1.0.0 (tests/requirements.txt)")
HAVE_MODELS = all(c.onnx_path for c in model_card.builtin_cards() if c.default)
ORDER = ["blue", "green", "red", "nir", "swir16", "swir22"]


@pytest.mark.skipif(not HAVE_MODELS, reason="make models first")
def test_agrees_with_ukis_csmask(data_dir, tmp_path):
    img = str(data_dir / "s2_ukis_csmask_labelled" / "ukis_sentinel2_img.tif")
    out = str(tmp_path / "mask.tif")
    generate_cloud_mask(img, out, level="L1C", threads=2)
    ours = gdal.Open(out).ReadAsArray()
    arr = np.moveaxis(gdal.Open(img).ReadAsArray(), 0, -1).astype(np.float32)
    theirs = mask.CSmask(arr, ORDER, product_level="l1c", intra_op_num_threads=2).csm[..., 0]
    assert (ours == theirs).mean() >= 0.995
    labels = gdal.Open(str(data_dir / "s2_ukis_csmask_labelled" / "ukis_sentinel2_labels.tif")).ReadAsArray()
    reference = np.array([2, 0, 0, 0, 1], np.uint8)[labels]  # 0 shadow, 1-3 clear, 4 cloud
    assert kappa(reference, ours) >= 0.75  # ukis-csmask reaches about 0.81 here; its own test asks 0.60
