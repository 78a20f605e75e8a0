"""Shared test set-up: the plugin importable as `cloud_removal`, a headless QGIS, and a qgis_process runner."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

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

    def call(args, timeout=600):
        return subprocess.run([binary, *map(str, args)], env=env, capture_output=True, text=True,
                              timeout=timeout)

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
    return call
