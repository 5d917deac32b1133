"""What a time-scaled run cannot keep invariant (docs/time-scale.md), said once for the harness.

The time scale compresses the schedule and never what a threshold judges; the sandbox keeps
latency, status mix, error ratios and request counts per window invariant. What is left is real
work, which no scale compresses. :func:`caveats` lists it for a scale; the sandbox environment
warns at start and every scenario's report carries the same list.
"""

from __future__ import annotations

import warnings


class TimeScaleWarning(UserWarning):
    """A run at a time scale other than 1: some observations may differ from a cluster."""


def caveats(scale: float) -> list[str]:
    """What may differ from a real cluster at ``scale`` (nothing at scale 1)."""
    if scale == 1:
        return []
    wall = 1 / scale
    return [
        "Real work is not compressed: process starts, CPU and sockets take their real time. A "
        f"pod that starts in about 1 wall second takes {wall:g} spec seconds here, so a load "
        "generator started together with a release misses more of the first checks; a "
        f"webhook's scaled timeout (10s lasts {10 * scale:g}s here) leaves {wall:g}x less room "
        "for the command it runs.",
        "Client request timeouts (slow_cooker -timeout, hey -t, the frontend's 60s) are scaled "
        "but never shorter than 1 wall second, so a deliberate wait longer than the timeout "
        f"but shorter than {wall:g}s (spec) completes here where a cluster would time it out.",
        f"Request rates are per spec second ({wall:g}x more requests per wall second); a load "
        "generator that runs out of CPU sends fewer requests per window than on a cluster.",
        "Wall-clock figures a client prints (hey's Total and Requests/sec, slow_cooker's "
        "per-second window) are compressed; latencies they print are spec latencies.",
    ]


def warn_time_scale(scale: float) -> None:
    """One warning naming the scale and what it does not keep invariant."""
    notes = caveats(scale)
    if notes:
        warnings.warn(TimeScaleWarning(
            f"time scale {scale:g}: the schedule runs {1 / scale:g}x faster; latency, error "
            "ratios and request counts per window are kept invariant, except: "
            + " ".join(notes)), stacklevel=2)
