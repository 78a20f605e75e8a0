"""Progress reporting and cancellation through plain callbacks, so QGIS feedback plugs in without QGIS here."""


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
        """Raise Cancelled if the caller asked to stop."""
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
