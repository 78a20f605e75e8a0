"""GDAL settings scoped to the plugin's own calls, so that QGIS and other plugins in the same process never see them.

The core wants GDAL errors as Python exceptions (a `None` returned by a failed read is too easy to miss), but
`gdal.UseExceptions()` at import time would switch every other Python user of GDAL in the QGIS process too.
`gdal_scope` turns exceptions on while at least one core call runs and restores the caller's state when the last
one leaves (a counter under a lock, so two runs in background tasks cannot leave it changed). No process-wide
cache size is ever set: bounded memory comes from dropping each dataset's blocks after use (`FlushCache`).
"""

import functools
import threading

from osgeo import gdal

_lock = threading.Lock()
_depth = 0
_saved = None


class gdal_scope:  # noqa: N801 (used like a function: `with gdal_scope():`)
    """Context manager: GDAL raises Python exceptions inside, the caller's exception state is restored after."""

    def __enter__(self):
        global _depth, _saved
        with _lock:
            if _depth == 0:
                _saved = bool(gdal.GetUseExceptions())
                if not _saved:
                    gdal.UseExceptions()
            _depth += 1
        return self

    def __exit__(self, exc_type, exc, tb):
        global _depth
        with _lock:
            _depth -= 1
            if _depth == 0 and not _saved:
                gdal.DontUseExceptions()
        return False


def gdal_scoped(function):
    """Decorator: run `function` inside `gdal_scope()` (for the core's public entry points)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with gdal_scope():
            return function(*args, **kwargs)

    return wrapper
