"""Shared test set-up: the plugin importable as `cloud_removal`, a headless QGIS, and a qgis_process runner."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
PLUGINS = ROOT / "build" / "plugins"
PLUGIN_NAME = "cloud_removal"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_runtime = Path(tempfile.gettempdir()) / f"xdg-runtime-{os.getuid()}"
_runtime.mkdir(mode=0o700, exist_ok=True)
os.environ.setdefault("XDG_RUNTIME_DIR", str(_runtime))


def _link_plugin():
    """Make the repository importable as the installed plugin folder name `cloud_removal`."""
    PLUGINS.mkdir(parents=True, exist_ok=True)
    link = PLUGINS / PLUGIN_NAME
    if not link.exists():
        try:
            link.symlink_to(ROOT, target_is_directory=True)
        except FileExistsError:
            pass
    if str(PLUGINS) not in sys.path:
        sys.path.insert(0, str(PLUGINS))


_link_plugin()


@pytest.fixture(scope="session")
def data_dir():
    """Folder of the small real test rasters shipped with the repository."""
    return DATA


@pytest.fixture(scope="session")
def qgis_app():
    """A headless QGIS with Processing initialised and the Cloud Removal provider registered."""
    from qgis.core import QgsApplication

    sys.path.append("/usr/share/qgis/python/plugins")
    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    from cloud_removal.algorithms.provider import CloudRemovalProvider

    provider = CloudRemovalProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    yield app
    QgsApplication.processingRegistry().removeProvider(provider)


@pytest.fixture()
def run_alg(qgis_app):
    """Run an algorithm through processing.run; returns its results dict."""
    import processing
    from qgis.core import QgsProcessingFeedback

    def run(alg_id, params, feedback=None):
        return processing.run(alg_id, params, feedback=feedback or QgsProcessingFeedback())

    return run


@pytest.fixture(scope="session")
def qgis_process(tmp_path_factory):
    """Run qgis_process.bin with a scratch profile in which the plugin is enabled.

    Returns a function(args list) -> CompletedProcess; `run_json` parses --json output.
    """
    home = tmp_path_factory.mktemp("qgis_home")
    env = dict(os.environ)
    env.update({
        "HOME": str(home),
        "PYTHONUSERBASE": os.environ.get("PYTHONUSERBASE", str(Path.home() / ".local")),
        "QGIS_PLUGINPATH": str(PLUGINS),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    })
    binary = os.environ.get("QGIS_PROCESS", "/usr/bin/qgis_process.bin")

    def call(args, timeout=600, extra_env=None):
        return subprocess.run([binary, *map(str, args)], env={**env, **(extra_env or {})}, capture_output=True,
                              text=True, timeout=timeout)

    def popen(args, extra_env=None):
        return subprocess.Popen([binary, *map(str, args)], env={**env, **(extra_env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    enabled = call(["plugins", "enable", PLUGIN_NAME])
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr

    def run_json(alg, params):
        args = ["run", alg, "--json", "--"] + [f"{k}={v}" for k, v in params.items()]
        proc = call(args)
        result = None
        if proc.returncode == 0:
            result = json.loads(proc.stdout[proc.stdout.index("{"):])
        return proc, result

    call.run_json = run_json
    call.popen = popen
    return call


def write_raster(path, arr, gt=(500000.0, 20.0, 0.0, 9000000.0, 0.0, -20.0), epsg=32737, nodata=None,
                 scale=None, offset=None):
    """Write a (bands, h, w) or (h, w) array as a georeferenced GeoTIFF; returns the path as a string."""
    from osgeo import gdal, gdal_array, osr

    arr = np.asarray(arr)
    arr3 = arr[None] if arr.ndim == 2 else arr
    ds = gdal.GetDriverByName("GTiff").Create(str(path), arr3.shape[2], arr3.shape[1], arr3.shape[0],
                                              gdal_array.NumericTypeCodeToGDALTypeCode(arr3.dtype))
    ds.SetGeoTransform(gt)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    ds.SetProjection(srs.ExportToWkt())
    for i in range(arr3.shape[0]):
        band = ds.GetRasterBand(i + 1)
        band.WriteArray(arr3[i])
        if nodata is not None:
            band.SetNoDataValue(float(nodata))
        if scale is not None:
            band.SetScale(float(scale))
        if offset is not None:
            band.SetOffset(float(offset))
    ds = None
    return str(path)


def file_digests(*paths):
    """sha256 of every file in the given files or folders (recursively), to prove inputs were not modified."""
    import hashlib

    out = {}
    for p in map(Path, paths):
        for f in ([p] if p.is_file() else sorted(x for x in p.rglob("*") if x.is_file())):
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def unchanged(before, *paths):
    """True when every file digested in `before` still exists with the same content (QGIS may add an .aux.xml of
    statistics beside an input it loads as a layer; that is QGIS's own behaviour and not checked here)."""
    after = file_digests(*paths)
    return all(after.get(f) == digest for f, digest in before.items())


def leftovers(*folders):
    """Working files of the plugin (staging folders, scratch folders, probe files) left in the given folders."""
    found = []
    for folder in map(Path, folders):
        if folder.is_dir():
            found += [p.name for p in folder.iterdir()
                      if p.name.startswith((".cloudremoval-", "cloudremoval_scratch_", "slra_scratch_"))
                      or ".partial" in p.name]
    return found


def read_raster(path):
    """All bands of a raster as an array: (h, w) for one band, (bands, h, w) for several."""
    from osgeo import gdal

    ds = gdal.Open(str(path))
    return ds.ReadAsArray()


def read_stack(path):
    """All bands of a raster as a (bands, h, w) array, also for one band."""
    arr = read_raster(path)
    return arr[None] if arr.ndim == 2 else arr
