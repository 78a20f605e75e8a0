"""Reclassify Cloud Types through processing.run in a headless QGIS."""

import numpy as np
import pytest
from osgeo import gdal

from conftest import read_raster as read

LABELS = "s2_ukis_csmask_labelled/ukis_sentinel2_labels.tif"
ALG = "cloudremoval:reclassifycloudtypes"



def test_provider_lists_algorithm_with_help_and_icon(qgis_app):
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("cloudremoval")
    assert provider.name() == "Cloud Removal"
    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    assert alg is not None and alg.displayName() == "Reclassify Cloud Types"
    assert "1 1;2 1" in alg.shortHelpString() and alg.groupId() == "cloudremoval"
    assert alg.svgIconPath().endswith(".svg") and not alg.icon().isNull()
    assert {p.name() for p in alg.parameterDefinitions()} >= {
        "INPUT", "BAND", "REMAP", "TABLE", "MISSING_VALUES", "GROW", "MIN_REGION", "OUTPUT"}


def test_real_labels_to_cloud_and_shadow_mask(run_alg, data_dir, tmp_path):
    src = data_dir / LABELS
    out = tmp_path / "mask.tif"
    result = run_alg(ALG, {"INPUT": str(src), "REMAP": "0 1;4 1;1 3 0", "OUTPUT": str(out)})
    assert result["OUTPUT"] == str(out)
    labels = read(src)
    assert np.array_equal(read(out), np.isin(labels, [0, 4]).astype(np.uint8))
    band = gdal.Info(str(out), format="json")["bands"][0]
    assert band["type"] == "Byte" and band["categories"] == ["clear", "cloud"]


def test_table_wins_over_remap_string(run_alg, data_dir, tmp_path):
    src = data_dir / LABELS
    out = tmp_path / "table.tif"
    run_alg(ALG, {"INPUT": str(src), "REMAP": "1 1;2 1;3 1", "TABLE": ["", 3, 0, 4, "", 1],
                  "OUTPUT": str(out)})
    assert np.array_equal(read(out), (read(src) >= 4).astype(np.uint8))


def test_nodata_missing_values_and_grow(run_alg, data_dir, tmp_path):
    src = data_dir / LABELS
    out = tmp_path / "grown.tif"
    run_alg(ALG, {"INPUT": str(src), "REMAP": "4 1;3 0", "MISSING_VALUES": "NODATA", "GROW": 2,
                  "MIN_REGION": 10, "OUTPUT": str(out)})
    result = read(out)
    labels = read(src)
    assert set(np.unique(result)) <= {0, 1, 255}
    assert (result[np.isin(labels, [0, 1])] == 255).all()  # unmapped classes became nodata
    assert result.sum(where=result == 1) >= (labels == 4).sum() * 0.99


def test_bad_remap_raises_and_writes_nothing(run_alg, data_dir, tmp_path):
    from qgis.core import QgsProcessingException

    out = tmp_path / "bad.tif"
    with pytest.raises(QgsProcessingException, match="Remap entry '1 2 3 4'"):
        run_alg(ALG, {"INPUT": str(data_dir / LABELS), "REMAP": "1 1;1 2 3 4", "OUTPUT": str(out)})
    assert list(tmp_path.iterdir()) == []


def test_output_over_input_is_refused(run_alg, tmp_path, data_dir):
    from qgis.core import QgsProcessingException

    src = tmp_path / "labels.tif"
    src.write_bytes((data_dir / LABELS).read_bytes())
    before = src.read_bytes()
    with pytest.raises(QgsProcessingException, match="overwrite the input"):
        run_alg(ALG, {"INPUT": str(src), "OUTPUT": str(src)})
    assert src.read_bytes() == before


def test_cancelled_run_writes_nothing(run_alg, data_dir, tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    feedback.cancel()
    out = tmp_path / "cancelled.tif"
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run_alg(ALG, {"INPUT": str(data_dir / LABELS), "OUTPUT": str(out)}, feedback=feedback)
    assert list(tmp_path.iterdir()) == []
