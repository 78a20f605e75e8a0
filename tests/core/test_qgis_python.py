"""The install hint names QGIS's own Python, not the first `python3` on PATH or the QGIS binary."""

from cloud_removal.algorithms.core.onnx_model import pip_command, qgis_python


def test_debian_qgis_with_a_pyenv_shim_first_on_path():
    got = qgis_python(executable="/home/u/.pyenv/shims/python3", prefix="/usr", base_prefix="/usr", platform="linux",
                      version=(3, 11), exists=lambda p: p == "/usr/bin/python3.11")
    assert got == "/usr/bin/python3.11"


def test_qgis_binary_as_executable_falls_back_to_the_prefix():
    assert qgis_python(executable="/usr/bin/qgis", prefix="/usr", platform="linux", version=(3, 13),
                       exists=lambda p: p == "/usr/bin/python3") == "/usr/bin/python3"
    assert qgis_python(executable="/usr/bin/qgis", prefix="/opt/none", platform="linux", version=(3, 13),
                       exists=lambda p: False) == "python3"


def test_windows_and_macos():
    assert qgis_python(executable="C:\\OSGeo4W\\bin\\qgis-bin.exe", prefix="C:\\OSGeo4W\\apps\\Python312",
                       platform="win32", version=(3, 12)) == "python"
    mac = "/Applications/QGIS.app/Contents/MacOS"
    assert qgis_python(executable=f"{mac}/QGIS", prefix=mac, platform="darwin", version=(3, 9),
                       exists=lambda p: p == f"{mac}/bin/python3.9") == f"{mac}/bin/python3.9"


def test_pip_command_uses_it():
    assert pip_command("/usr/bin/python3.11").startswith("/usr/bin/python3.11 -m pip install --user \"onnxruntime")
