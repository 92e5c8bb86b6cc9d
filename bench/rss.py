"""Peak resident memory of this process, for the benchmarks."""

from __future__ import annotations

import resource


def peak_mb() -> float:
    """This process's own peak RSS in MB.

    Not ``ru_maxrss``: Linux carries a parent's high-water mark into a forked child across
    ``exec``, which would floor every subprocess measurement at the benchmark driver's own RSS.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
