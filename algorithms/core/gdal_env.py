"""GDAL settings scoped to the plugin's own calls, so that QGIS and other plugins in the same process never see them.

The core wants GDAL errors as Python exceptions (a `None` returned by a failed read is too easy to miss), but
`gdal.UseExceptions()` at import time would switch every other Python user of GDAL in the QGIS process too.
`gdal_scope` turns exceptions on while at least one core call runs and restores the caller's state when the last
one leaves (a counter under a lock, so two runs in background tasks cannot leave it changed). It also lets GDAL
decode the compressed blocks of one read in parallel (GDAL_NUM_THREADS=ALL_CPUS, GTiff since GDAL 3.6: about
twice as fast on 2 cores), as a thread-local setting of the calling thread only, unless the user has set
GDAL_NUM_THREADS; it is restored when the scope ends. No process-wide cache size is ever set: bounded memory comes
from dropping each dataset's blocks after use (`FlushCache`).
"""

import functools
import threading

from osgeo import gdal

_lock = threading.Lock()
_chosen = threading.local()  # .value: this thread's scope set GDAL_NUM_THREADS (the user set none)
_depth = 0
_saved = None


THREADS = "GDAL_NUM_THREADS"


class gdal_scope:  # noqa: N801 (used like a function: `with gdal_scope():`)
    """Context manager: GDAL raises Python exceptions inside and decodes blocks in parallel on this thread; the
    caller's exception state and thread-local GDAL_NUM_THREADS are restored after."""

    def __enter__(self):
        global _depth, _saved
        with _lock:
            if _depth == 0:
                _saved = bool(gdal.GetUseExceptions())
                if not _saved:
                    gdal.UseExceptions()
            _depth += 1
        self._threads = gdal.GetThreadLocalConfigOption(THREADS, None)
        self._chosen = getattr(_chosen, "value", False)
        if gdal.GetConfigOption(THREADS) is None:  # a value set by the user (global or on this thread) is kept
            gdal.SetThreadLocalConfigOption(THREADS, "ALL_CPUS")
            _chosen.value = True
        return self

    def __exit__(self, exc_type, exc, tb):
        global _depth
        gdal.SetThreadLocalConfigOption(THREADS, self._threads)
        _chosen.value = self._chosen
        with _lock:
            _depth -= 1
            if _depth == 0 and not _saved:
                gdal.DontUseExceptions()
        return False


def open_with_decode_threads(open_dataset, threads):
    """open_dataset() with GDAL decoding its blocks on `threads` threads (GTiff and others read the setting when a
    dataset is opened), where this thread's `gdal_scope` chose the count; a GDAL_NUM_THREADS set by the user is
    kept. For a reader that runs beside work already using every core (CPU inference), where parallel decoding
    only adds CPU time (about 30 % for DEFLATE)."""
    if not getattr(_chosen, "value", False):
        return open_dataset()
    saved = gdal.GetThreadLocalConfigOption(THREADS, None)
    gdal.SetThreadLocalConfigOption(THREADS, str(threads))
    try:
        return open_dataset()
    finally:
        gdal.SetThreadLocalConfigOption(THREADS, saved)


def gdal_scoped(function):
    """Decorator: run `function` inside `gdal_scope()` (for the core's public entry points)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with gdal_scope():
            return function(*args, **kwargs)

    return wrapper
