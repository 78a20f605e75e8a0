"""Each algorithm's Processing dialog opens in a headless QGIS GUI; screenshots land in build/test-output."""

import subprocess
import sys

import numpy as np
from osgeo import gdal

from conftest import ROOT

SHOTS = ROOT / "build" / "test-output" / "screenshots"
NAMES = ["generatecloudmask", "reclassifycloudtypes", "stepwiselocalradiometricadjustment", "removeclouds",
         "removeclouds_batch"]


def test_dialogs_open_and_are_captured():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "screenshots.py"), str(SHOTS)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in NAMES:
        path = SHOTS / f"{name}.png"
        assert path.is_file(), name
        ds = gdal.Open(str(path))
        assert (ds.RasterXSize, ds.RasterYSize) == (1100, 900)
        grey = ds.ReadAsArray()[:3].mean(axis=0)
        assert np.unique(grey.round()).size > 20, f"{name}: the screenshot looks blank"


def test_dialogs_fit_the_default_width():
    """At the size QGIS opens a dialog with (no saved geometry), no parameter panel scrolls sideways."""
    import json

    if not (SHOTS / "dialog_fit.json").is_file():
        test_dialogs_open_and_are_captured()
    fit = json.loads((SHOTS / "dialog_fit.json").read_text())
    assert set(fit) >= {"generatecloudmask", "reclassifycloudtypes", "stepwiselocalradiometricadjustment",
                        "multidatecloudfill", "removeclouds"}
    assert {name: px for name, px in fit.items() if px > 0} == {}
