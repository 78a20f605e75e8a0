"""Peak resident memory of the running process, for the benchmarks' child processes."""

import resource
import sys


def peak_rss_mb():
    """Peak resident set size of this process in MiB.

    On Linux this is VmHWM, which starts afresh when the process execs. `ru_maxrss` does not: a child started by
    fork + exec keeps its parent's peak at the fork, so a benchmark parent that holds large arrays would be reported
    as the child's peak. Elsewhere `ru_maxrss` (kilobytes on Linux and BSD, bytes on macOS).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)
