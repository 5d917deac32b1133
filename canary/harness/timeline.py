"""The rollout timeline: what happened, when, recorded from the watch API and samplers.

A :class:`Timeline` is a flat, time-ordered list of entries (plain dicts, so it is JSON as-is)::

    {"t": 1700000000.1, "kind": "route",  "namespace": "test", "name": "podinfo",
     "backends": {"podinfo-primary": 90, "podinfo-canary": 10}}
    {"t": ..., "kind": "canary", "namespace": "test", "name": "podinfo", "phase": "Progressing",
     "canaryWeight": 10, "failedChecks": 0, "iterations": 0}
    {"t": ..., "kind": "event", "namespace": "test", "object": "Canary/podinfo", "type": "Normal",
     "reason": "Synced", "message": "Advance podinfo.test canary weight 10"}
    {"t": ..., "kind": "prometheus", "namespace": "test", "target": "podinfo",
     "success_rate": 100.0, "primary_success_rate": 100.0}
    {"t": ..., "kind": "client", "namespace": "test", "source": "load", "requests": 120,
     "failures": 0, "by_version": {"1.7.0": 100, "1.7.1": 20}}       # cumulative counters
    {"t": ..., "kind": "marker", "label": "kubectl -n test set image ..."}

The pure helpers below answer the questions assertions and the report ask of a timeline.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Entry = dict[str, Any]


@dataclass
class Timeline:
    scenario: str = ""
    started: float = 0.0
    time_scale: float = 1.0
    entries: list[Entry] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    # -- persistence ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "started": self.started, "time_scale": self.time_scale,
                "meta": self.meta, "entries": sorted(self.entries, key=lambda e: e["t"])}

    def dump(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1, sort_keys=True, default=str))
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timeline:
        return cls(scenario=data.get("scenario", ""), started=float(data.get("started", 0.0)),
                   time_scale=float(data.get("time_scale", 1.0)),
                   entries=list(data.get("entries", [])), meta=dict(data.get("meta", {})))

    @classmethod
    def load(cls, path: Path) -> Timeline:
        return cls.from_dict(json.loads(Path(path).read_text()))

    # -- queries ----------------------------------------------------------------------------

    def of(self, kind: str, **match: Any) -> list[Entry]:
        out = [e for e in self.entries if e.get("kind") == kind
               and all(e.get(k) == v for k, v in match.items() if v is not None)]
        return sorted(out, key=lambda e: e["t"])

    def spec_seconds(self, wall_seconds: float) -> float:
        return wall_seconds / self.time_scale if self.time_scale else wall_seconds


def canary_backend(backends: dict[str, int], canary: str | None = None) -> str | None:
    """Which backend is the canary: ``canary`` when the caller knows it (a Rollout's
    ``canaryService``), else the one named ``*-canary``, else the second of a pair."""
    if canary is not None:
        return canary if canary in backends else None
    for name in backends:
        if name.endswith("-canary"):
            return name
    names = list(backends)
    return names[1] if len(names) == 2 else None


def route_canary_weights(tl: Timeline, route: str, namespace: str | None = None,
                         since: float | None = None,
                         until: float | None = None,
                         canary: str | None = None) -> list[tuple[float, int]]:
    """(t, canary weight) for every recorded change of the route's weights; ``canary`` names
    the canary backend (otherwise guessed by ``canary_backend``)."""
    out: list[tuple[float, int]] = []
    for e in tl.of("route", name=route, namespace=namespace):
        if since is not None and e["t"] < since or until is not None and e["t"] > until:
            continue
        backends = e.get("backends") or {}
        cb = canary_backend(backends, canary)
        if cb is not None:
            out.append((e["t"], int(backends[cb])))
    return out


def compress(values: Iterable[Any]) -> list[Any]:
    """Drop consecutive repeats: [0, 0, 10, 10, 20] -> [0, 10, 20]."""
    out: list[Any] = []
    for v in values:
        if not out or out[-1] != v:
            out.append(v)
    return out


def phase_changes(tl: Timeline, canary: str,
                  namespace: str | None = None) -> list[tuple[float, str]]:
    """(t, phase) each time the Canary's phase changed."""
    out: list[tuple[float, str]] = []
    for e in tl.of("canary", name=canary, namespace=namespace):
        phase = e.get("phase") or ""
        if not out or out[-1][1] != phase:
            out.append((e["t"], phase))
    return out


def first_phase_time(tl: Timeline, canary: str, phase: str, after: float | None = None,
                     namespace: str | None = None) -> float | None:
    for t, p in phase_changes(tl, canary, namespace):
        if p == phase and (after is None or t >= after):
            return t
    return None


def events_for(tl: Timeline, obj: str | None = None, namespace: str | None = None) -> list[Entry]:
    """Events in time order; ``obj`` like ``Canary/podinfo`` filters by involved object."""
    return [e for e in tl.of("event", namespace=namespace) if obj is None or e.get("object") == obj]


def rollout_window(tl: Timeline, canary: str, namespace: str | None = None,
                   nth: int = 1) -> tuple[float, float | None]:
    """Start/end of the ``nth`` rollout: Progressing entered, until Succeeded/Failed after it."""
    count = 0
    changes = phase_changes(tl, canary, namespace)
    for i, (t, p) in enumerate(changes):
        if p == "Progressing" and (i == 0 or changes[i - 1][1] != "Progressing"):
            count += 1
            if count == nth:
                end = next((t2 for t2, p2 in changes[i + 1:] if p2 in ("Succeeded", "Failed")),
                           None)
                return t, end
    raise LookupError(f"canary {canary!r} never entered phase Progressing "
                      f"(rollout #{nth}); phases seen: {[p for _, p in changes] or 'none'}")


def client_deltas(tl: Timeline, source: str | None = None,
                  namespace: str | None = None) -> list[Entry]:
    """Per-interval client counts from cumulative samples: {t0, t1, requests, failures, by_version}.

    A counter that goes down (the load generator restarted) starts a fresh baseline.
    """
    out: list[Entry] = []
    prev: dict[str, Entry] = {}
    for e in tl.of("client", namespace=namespace):
        if source is not None and e.get("source") != source:
            continue
        key = f"{e.get('namespace')}/{e.get('source')}"
        p = prev.get(key)
        prev[key] = e
        if p is None or e["requests"] < p["requests"]:
            continue
        bv = {v: n - (p.get("by_version") or {}).get(v, 0)
              for v, n in (e.get("by_version") or {}).items()}
        out.append({"t0": p["t"], "t1": e["t"], "requests": e["requests"] - p["requests"],
                    "failures": e.get("failures", 0) - p.get("failures", 0),
                    "by_version": {v: n for v, n in bv.items() if n > 0}})
    return out


class TimelineBuffer:
    """Thread-safe sink the recorder threads append to; listeners see each entry live."""

    def __init__(self, timeline: Timeline, now: Callable[[], float]) -> None:
        self.timeline = timeline
        self._now = now
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Entry], None]] = []
        self._last: dict[tuple[str, str, str], Any] = {}

    def listen(self, fn: Callable[[Entry], None]) -> None:
        self._listeners.append(fn)

    def add(self, kind: str, dedupe_key: str | None = None, dedupe_value: Any = None,
            **fields: Any) -> Entry | None:
        """Append an entry; with ``dedupe_key`` skip it when the value did not change."""
        with self._lock:
            if dedupe_key is not None:
                k = (kind, str(fields.get("namespace", "")), dedupe_key)
                if self._last.get(k) == dedupe_value:
                    return None
                self._last[k] = dedupe_value
            entry = {"t": fields.pop("t", None) or self._now(), "kind": kind, **fields}
            self.timeline.entries.append(entry)
        for fn in self._listeners:
            try:
                fn(entry)
            except Exception:  # noqa: BLE001 - a broken printer must not stop recording
                pass
        return entry

    def snapshot(self) -> Timeline:
        with self._lock:
            return Timeline.from_dict(self.timeline.to_dict())


def client_sources(tl: Timeline) -> list[str]:
    """Load sources with client samples, in order of first appearance."""
    return list(dict.fromkeys(str(e.get("source")) for e in tl.of("client")))


def weight_steps(tl: Timeline, route: str, namespace: str | None = None) -> list[Entry]:
    """The route's weight steps: {weight, t0, t1, last}, one per change of the canary weight;
    the last step runs to the end of the timeline (``last`` True: still in force)."""
    pts = route_canary_weights(tl, route, namespace)
    steps: list[Entry] = []
    for t, w in pts:
        if steps and steps[-1]["weight"] == w:
            continue
        steps.append({"weight": w, "t0": t})
    end = max((e["t"] for e in tl.entries), default=0.0)
    for i, s in enumerate(steps):
        s["last"] = i + 1 == len(steps)
        s["t1"] = end if s["last"] else steps[i + 1]["t0"]
    return steps
