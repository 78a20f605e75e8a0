"""Progress reporting and cancellation through plain callbacks, so QGIS feedback plugs in without QGIS here.

SIGTERM (what batch systems and `timeout` send) and SIGINT stop a run the same way as a cancel while
`stop_on_signals` is active: the next progress check raises Cancelled and the outputs are discarded.
"""

import signal
import threading


class Cancelled(Exception):
    """Raised inside the core when the caller asked to stop; outputs are then discarded."""


class InputError(ValueError):
    """Bad user input, with a message that says what is wrong and how to fix it."""


class Progress:
    """Reports a fraction of work done to a percent callback and raises Cancelled when asked to stop.

    `sub(a, b)` gives a child that maps its own 0..1 onto the parent's a..b, so steps of a pipeline
    report into one bar.
    """

    def __init__(self, on_progress=None, is_cancelled=None, on_log=None, start=0.0, end=100.0):
        self._on_progress = on_progress
        self._is_cancelled = is_cancelled
        self._on_log = on_log
        self._start = start
        self._end = end

    def sub(self, a, b):
        """A child reporting into the fraction range [a, b] of this one."""
        span = self._end - self._start
        return Progress(self._on_progress, self._is_cancelled, self._on_log,
                        self._start + a * span, self._start + b * span)

    def check(self):
        """Raise Cancelled if the caller asked to stop or the process was asked to terminate."""
        if _stop_signal[0] is not None:
            raise Cancelled(f"stopped by {_stop_signal[0]}")
        if self._is_cancelled is not None and self._is_cancelled():
            raise Cancelled("cancelled by the user")

    def update(self, fraction):
        """Report `fraction` (0..1) of this step done, then check for cancellation."""
        if self._on_progress is not None:
            f = min(max(float(fraction), 0.0), 1.0)
            self._on_progress(self._start + f * (self._end - self._start))
        self.check()

    def log(self, message):
        """Pass an informative line to the caller's log."""
        if self._on_log is not None:
            self._on_log(message)


NULL_PROGRESS = Progress()

_stop_signal = [None]  # name of the signal received while stop_on_signals was active
_active = []           # callbacks of the active stop_on_signals scopes (outermost first)


class stop_on_signals:  # noqa: N801 (used like a function: `with stop_on_signals():`)
    """While active, SIGTERM and SIGINT ask the running job to stop (and call `on_signal`, e.g. a feedback's
    cancel) instead of killing the process, so its outputs are discarded cleanly. Only in the main thread (Python
    handles signals there; QGIS desktop runs algorithms in background threads, where this does nothing). The
    previous handlers are restored on exit."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, on_signal=None):
        self._on_signal = on_signal
        self._saved = {}

    @staticmethod
    def _handle(signum, frame):
        _stop_signal[0] = signal.Signals(signum).name
        for callback in list(_active):
            if callback is not None:
                callback()

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                try:
                    self._saved[sig] = signal.signal(sig, self._handle)
                except (ValueError, OSError):  # not allowed here (embedded interpreter without signal support)
                    pass
        if self._saved:
            _active.append(self._on_signal)
        return self

    def __exit__(self, exc_type, exc, tb):
        for sig, handler in self._saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if self._saved:
            _active.pop()
            if not _active:
                _stop_signal[0] = None
        self._saved = {}
        return False


def stop_requested():
    """The name of the signal that asked the current run to stop, or None."""
    return _stop_signal[0]
