"""Spec time inside the sandbox: what the time scale compresses and what it must not.

The rule (docs/time-scale.md): the time scale compresses the *schedule* and never the
*observations a threshold judges*. A bundled app's deliberate wait (podinfo's ``--random-delay``,
``/delay/{s}``) is part of the schedule, so it sleeps ``spec seconds x scale`` of wall time, and
it is also an observation (the latency the mesh reports). The app therefore tells the mesh, in
the response header :data:`WAIT_HEADER`, how many *spec* milliseconds it waited on purpose; the
mesh records ``wall latency - the wall part of that wait + the spec wait``. Real work (CPU,
sockets, the proxy itself) is not compressed and is recorded as it is, so neither a slow release
looks fast at a small scale nor does the mesh's own overhead get inflated by ``1 / scale``.

The header travels between sandbox pods (a chain such as frontend -> podinfo adds up) and is
removed before an answer leaves the sandbox (clients that are not pods never see it).
"""

from __future__ import annotations

from collections.abc import Iterable

WAIT_HEADER = "X-Canary-Spec-Wait-Ms"

# Real work is never compressed: a scaled client timeout shorter than this would cut off a
# healthy answer on a loaded machine, so request timeouts are held at this many wall seconds.
MIN_REQUEST_TIMEOUT_S = 1.0


def spec_latency_ms(wall_ms: float, spec_wait_ms: float, scale: float) -> float:
    """The latency a real cluster would have seen: the wait at spec length, the rest as is."""
    return max(0.0, wall_ms - spec_wait_ms * scale) + spec_wait_ms


def wait_from_headers(headers: Iterable[tuple[str, str]]) -> float:
    """Spec milliseconds of deliberate waiting declared by the answer (0 when none)."""
    name = WAIT_HEADER.lower()
    for k, v in headers:
        if k.lower() == name:
            try:
                return max(0.0, float(v))
            except ValueError:
                return 0.0
    return 0.0


def request_timeout(spec_seconds: float, scale: float) -> float:
    """Wall seconds for a client request timeout given in spec seconds.

    Scaled like every other duration, so a time-scaled wait that would time out on a cluster
    times out here too; never below :data:`MIN_REQUEST_TIMEOUT_S` (or the spec value when that
    is smaller), because the real work around the wait is not compressed.
    """
    return max(spec_seconds * scale, min(spec_seconds, MIN_REQUEST_TIMEOUT_S))
