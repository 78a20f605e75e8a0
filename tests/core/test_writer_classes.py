"""RasterWriter class colours and names, set before or after the data (GDAL 3.6 and 3.10 differ there)."""

import numpy as np
import pytest
from osgeo import gdal

from cloud_removal.algorithms.core.raster_writer import TILE, RasterWriter

COLOURS = {0: (0, 0, 0), 1: (255, 0, 0)}
NAMES = ["clear", "cloud"]


@pytest.mark.parametrize("size", [TILE, 2 * TILE, TILE + 100, 300])
@pytest.mark.parametrize("when", ["before", "after"])
def test_classes_before_or_after_full_tiles(tmp_path, size, when):
    out = tmp_path / "classes.tif"
    data = (np.arange(size * size).reshape(size, size) % 2).astype(np.uint8)
    with RasterWriter(out, size, size, 1, np.uint8, nodata=255) as w:
        if when == "before":
            w.set_classes(COLOURS, NAMES)
        w.write(data, 0, 0)  # whole tiles complete here: GDAL 3.10 flushes them at once
        if when == "after":
            w.set_classes(COLOURS, NAMES)
    ds = gdal.Open(str(out))
    band = ds.GetRasterBand(1)
    assert band.GetColorInterpretation() == gdal.GCI_PaletteIndex
    assert band.GetColorTable().GetColorEntry(1) == (255, 0, 0, 255)
    assert band.GetColorTable().GetColorEntry(0) == (0, 0, 0, 255)
    assert band.GetCategoryNames() == NAMES
    assert band.GetNoDataValue() == 255
    np.testing.assert_array_equal(band.ReadAsArray(), data)
    assert sorted(p.name for p in tmp_path.iterdir() if ".partial" in p.name) == []


def test_late_classes_not_applied_on_failure(tmp_path):
    out = tmp_path / "failed.tif"
    with pytest.raises(RuntimeError, match="boom"):
        with RasterWriter(out, TILE, TILE, 1, np.uint8) as w:
            w.write(np.ones((TILE, TILE), np.uint8), 0, 0)
            w.set_classes(COLOURS, NAMES)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
