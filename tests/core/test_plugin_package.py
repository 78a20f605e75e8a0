"""metadata.txt is complete for the QGIS plugin repository, and `make package` gives an installable zip."""

import configparser
import subprocess
import zipfile

from conftest import ROOT

REQUIRED = ["name", "qgisMinimumVersion", "description", "about", "version", "author", "email", "repository",
            "tracker", "homepage", "tags", "category", "icon", "experimental", "hasProcessingProvider",
            "supportsQt6"]


def test_metadata_is_complete():
    meta = configparser.ConfigParser()
    meta.read(ROOT / "metadata.txt")
    general = meta["general"]
    for key in REQUIRED:
        assert general.get(key, "").strip(), f"metadata.txt lacks {key}"
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["hasProcessingProvider"] == "yes"
    assert (ROOT / general["icon"]).is_file()


def test_package_zip_installs_as_cloud_removal(tmp_path):
    proc = subprocess.run(["make", "-s", "package", f"DIST={tmp_path}"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(tmp_path / "cloud_removal.zip") as zf:
        names = set(zf.namelist())
    for required in ("metadata.txt", "__init__.py", "plugin.py", "batch.py", "algorithms/provider.py", "LICENSE",
                     "algorithms/modeler/remove_clouds.model3", "icons/cloud_removal.svg"):
        assert f"cloud_removal/{required}" in names, required
    assert not any(n.startswith(("cloud_removal/tests/", "cloud_removal/tools/")) or n.endswith(".onnx")
                   for n in names)
    assert "cloud_removal/algorithms/multi_date_cloud_fill.py" in names  # the working tree, not the last commit
