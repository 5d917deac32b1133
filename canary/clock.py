"""One clock for the engine and the sandbox.

Every duration the engine or the sandbox waits for goes through a :class:`Clock`. A time scale
of 0.05 makes a 10s analysis interval last 0.5s of wall time, so the seed's specs run verbatim in
seconds. Unit tests use :class:`FakeClock`, which never sleeps.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | int | float) -> float:
    """Parse a Go-style duration ("10s", "1m30s", "500ms") into seconds.

    Bare numbers are seconds. Raises ValueError naming the bad text.
    """
    if isinstance(text, bool):
        raise ValueError(f"invalid duration {text!r}")
    if isinstance(text, int | float):
        return float(text)
    s = str(text).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", s):
        return float(s)
    pos, total = 0, 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f"invalid duration {text!r} (expected e.g. 30s, 1m, 1m30s, 500ms)")
    return total


def format_duration(seconds: float) -> str:
    """Render seconds as a Prometheus/Go duration: "3s", "1m", "500ms"."""
    ms = round(seconds * 1000)
    if ms <= 0:
        return "1ms"
    if ms % 60000 == 0:
        return f"{ms // 60000}m"
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


class Clock:
    """Wall clock with a time scale: spec seconds times ``scale`` are wall seconds."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"time scale must be > 0, got {scale}")
        self.scale = scale

    def now(self) -> float:
        """Seconds since the epoch (wall time, unscaled): what timestamps record."""
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def scaled(self, spec_seconds: float) -> float:
        """Wall seconds that correspond to ``spec_seconds`` of spec time."""
        return spec_seconds * self.scale

    def sleep(self, spec_seconds: float) -> None:
        time.sleep(max(0.0, self.scaled(spec_seconds)))

    def wait(self, event: threading.Event, spec_seconds: float) -> bool:
        """Wait on ``event`` for ``spec_seconds`` of spec time; True when it was set."""
        return event.wait(max(0.0, self.scaled(spec_seconds)))


class FakeClock(Clock):
    """A clock that only moves when told to. ``sleep`` advances it instantly."""

    def __init__(self, start: float = 1_700_000_000.0, scale: float = 1.0) -> None:
        super().__init__(scale)
        self._now = start
        self._mono = 0.0

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, spec_seconds: float) -> None:
        step = self.scaled(spec_seconds)
        self._now += step
        self._mono += step

    def sleep(self, spec_seconds: float) -> None:
        self.advance(spec_seconds)

    def wait(self, event: threading.Event, spec_seconds: float) -> bool:
        if event.is_set():
            return True
        self.advance(spec_seconds)
        return event.is_set()


def rfc3339(ts: float | None = None, *, micro: bool = False) -> str:
    """A Unix time (default now) as Kubernetes writes timestamps: seconds, UTC, ``Z``;
    ``micro`` keeps microseconds (Argo's pause start times, where a time-scaled pause is
    shorter than a second)."""
    return datetime.fromtimestamp(time.time() if ts is None else ts, UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")
