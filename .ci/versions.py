"""Print the versions of the QGIS stack this Python sees, and fail if a part of it cannot be imported.

Run with the Python that QGIS uses (`/usr/bin/python3`), on the host (QGIS 3.22) and inside the trixie and forky roots
(QGIS 3.40, 3.44) by tools/debian_qgis_root.sh.
"""

import platform
import sys

parts = []
errors = []


def version(label, getter):
    try:
        parts.append(f"{label} {getter()}")
    except Exception as err:  # noqa: BLE001 (report every missing part, not just the first)
        parts.append(f"{label} MISSING")
        errors.append(f"{label}: {type(err).__name__}: {err}")


def _qgis():
    from qgis.core import Qgis

    return Qgis.QGIS_VERSION


def _gdal():
    from osgeo import gdal, gdal_array  # noqa: F401 (gdal_array breaks first on a numpy ABI mismatch)

    return gdal.__version__


def _scipy():
    import scipy
    import scipy.ndimage  # noqa: F401 (compiled against numpy: breaks on an ABI mismatch)

    return scipy.__version__


def _numpy():
    import numpy

    return numpy.__version__


def _onnxruntime():
    import onnxruntime

    return onnxruntime.__version__


version("QGIS", _qgis)
version("Python", platform.python_version)
version("numpy", _numpy)
version("scipy", _scipy)
version("GDAL", _gdal)
version("onnxruntime", _onnxruntime)
print("versions: " + " | ".join(parts), flush=True)
for line in errors:
    print("  " + line, file=sys.stderr)
sys.exit(1 if errors else 0)
