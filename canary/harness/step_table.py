"""The report's per-step table, computed from a recorded timeline (pure, no I/O): for every
weight step of a route, how long it was held, what the load sources saw, the success rates
Prometheus gave, the failed checks and the event that ended the step."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from canary.harness.timeline import Timeline, client_deltas, client_sources, weight_steps

ROLLOUT_KINDS = ("Canary/", "Rollout/")
# Flagger's phases once the primary carries the canary's spec (pkg/controller/scheduler.go)
PROMOTED = ("Finalising", "Succeeded")


@dataclass
class SourceShare:
    requests: int
    failures: int
    canary: int | None  # requests answered by the canary version (None: version unknown)

    def share(self) -> float | None:
        n = self.requests
        return None if self.canary is None or not n else self.canary / n


@dataclass
class StepRow:
    index: int
    route: str
    weight: int
    held_s: float  # spec seconds
    in_force: bool  # still the weight at the end of the recording
    sources: dict[str, SourceShare] = field(default_factory=dict)
    success_rate: dict[str, float] = field(default_factory=dict)  # backend -> %
    # backend -> {"p50", "p99"} spec ms, Linkerd's histogram over the step (step_metrics.py)
    latency: dict[str, dict[str, float | None]] = field(default_factory=dict)
    backend_requests: dict[str, float] = field(default_factory=dict)  # Linkerd's count
    page_loads: dict[str, int] = field(default_factory=dict)  # version -> page loads
    failed_checks: int | None = None
    ended_by: str = ""
    # promoted: the primary runs the canary's version too, so a version share says nothing
    promoted: bool = False

    def page_share(self) -> dict[str, float]:
        """Share of the step's page loads that showed each version."""
        n = sum(self.page_loads.values())
        return {v: c / n for v, c in sorted(self.page_loads.items())} if n else {}

    def sampling_error(self, source: str) -> float | None:
        """One standard deviation of the canary share of ``source``'s requests if the route
        split them exactly at the declared weight."""
        s = self.sources.get(source)
        if s is None or not s.requests:
            return None
        p = self.weight / 100.0
        return math.sqrt(max(p * (1 - p), 0.25 / s.requests) / s.requests)


def _within(t0: float, t1: float, a: float, b: float) -> bool:
    mid = (a + b) / 2
    return t0 <= mid < t1


def _ending_events(tl: Timeline, t1: float, slack: float) -> str:
    """The Canary/Rollout events recorded nearest the step's end (within ``slack`` wall s);
    one tick often writes several ("Rolling back ..." then "Canary failed! ...")."""
    evs = [ev for ev in tl.of("event") if str(ev.get("object", "")).startswith(ROLLOUT_KINDS)
           and abs(ev["t"] - t1) <= slack]
    if not evs:
        return ""
    best = min(abs(ev["t"] - t1) for ev in evs)
    near = [str(ev.get("message", "")) for ev in evs if abs(ev["t"] - t1) <= best + 1e-3]
    return "; ".join(dict.fromkeys(near))


def step_rows(tl: Timeline) -> list[StepRow]:
    scale = tl.time_scale or 1.0
    cv = tl.meta.get("canary_version")
    routes = sorted({(r.get("namespace"), r.get("name")) for r in tl.of("route")})
    sources = client_sources(tl)
    deltas = {src: client_deltas(tl, src) for src in sources}
    canaries = tl.of("canary")
    pages = tl.of("page")
    measured = {(m.get("namespace"), m.get("route"), round(float(m.get("t0", 0)), 3)): m
                for m in tl.meta.get("step_metrics") or []}
    rows: list[StepRow] = []
    for ns, route in routes:
        steps = weight_steps(tl, str(route), ns)
        for st in steps:
            t0, t1 = st["t0"], st["t1"]
            row = StepRow(index=len(rows) + 1, route=str(route), weight=int(st["weight"]),
                          held_s=(t1 - t0) / scale, in_force=bool(st["last"]))
            for src in sources:
                ds = [d for d in deltas[src] if _within(t0, t1, d["t0"], d["t1"])]
                if not ds:
                    continue
                row.sources[src] = SourceShare(
                    requests=sum(d["requests"] for d in ds),
                    failures=sum(d["failures"] for d in ds),
                    canary=sum(d["by_version"].get(cv, 0) for d in ds) if cv else None)
            for key, backend in (("success_rate", "canary"), ("primary_success_rate",
                                                             "primary")):
                vals = [p[key] for p in tl.of("prometheus", namespace=ns)
                        # a sample covers the interval that ends at its time
                        if p.get(key) is not None and t0 < p["t"] <= t1]
                if vals:
                    row.success_rate[backend] = sum(vals) / len(vals)
            m = measured.get((ns, route, round(float(t0), 3)))
            if m:  # over the step's own window (else the mean of the 1m samples above)
                row.success_rate = {}
                for backend, f in (m.get("backends") or {}).items():
                    if f.get("success_rate") is not None:
                        row.success_rate[backend] = float(f["success_rate"])
                    row.backend_requests[backend] = float(f.get("requests") or 0)
                    row.latency[backend] = {"p50": f.get("p50"), "p99": f.get("p99")}
            for p in pages:
                if p.get("namespace") == ns and (t0 <= p["t"] < t1
                                                 or st["last"] and p["t"] == t1):
                    v = str(p.get("version"))
                    row.page_loads[v] = row.page_loads.get(v, 0) + 1
            mid = [c.get("phase") for c in canaries
                   if c.get("namespace") == ns and c["t"] <= (t0 + t1) / 2]
            row.promoted = bool(mid) and mid[-1] in PROMOTED
            checks = [int(c.get("failedChecks") or 0) for c in canaries
                      if c.get("namespace") == ns and t0 < c["t"] <= t1
                      and c.get("failedChecks") is not None]
            row.failed_checks = max(checks) if checks else None
            if not st["last"]:
                # events of the tick that changed the weight land a moment around it
                row.ended_by = _ending_events(tl, t1, slack=max(0.5, 0.25 * (t1 - t0)))
            rows.append(row)
    return rows


def weight_sequences(tl: Timeline) -> tuple[list[Any] | None, list[Any] | None]:
    """(expected, observed) weight sequences the assertions recorded, if any."""
    exp, obs = tl.meta.get("expected_weights"), tl.meta.get("observed_weights")
    return (list(exp) if isinstance(exp, list) else None,
            list(obs) if isinstance(obs, list) else None)
