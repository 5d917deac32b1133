"""Synthetic rollout timelines shaped like what the recorder writes: for unit tests of the
assertions and the report, and for previewing the report without a cluster."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import TYPE_CHECKING

from canary.harness.timeline import Timeline

if TYPE_CHECKING:
    from canary.harness.report import ScenarioRecord

T0 = 1_700_000_000.0


def rollout(weights: list[int], *, tick: float = 0.5, failed_after: int | None = None,
            threshold: int = 5, qps: float = 20.0, fail_share: float = 0.0,
            canary_version: str = "1.7.1", rng: random.Random | None = None,
            fault_qps: float = 0.0, pages: bool = False) -> Timeline:
    """A Flagger-like rollout at time scale 0.05 (interval 10s = 0.5s wall).

    ``failed_after``: after that many advances the checks fail and the canary rolls back.
    ``rng``: draw each request's backend and failure at random (as a route and a faulty app
    do) instead of splitting counts exactly. ``fault_qps``: a second load source,
    ``fault-load``, sends that many requests per second straight to the canary's
    ``/status/500`` while the checks fail (every one fails). ``pages``: the frontend is
    loaded once per spec second, each load showing the version the route drew for it.
    """
    tl = Timeline(scenario="demo: rollout", started=T0, time_scale=0.05)
    e = tl.entries
    t = T0
    route = {"podinfo-primary": 100, "podinfo-canary": 0}

    def add(kind: str, **f: object) -> None:
        e.append({"t": round(t, 3), "kind": kind, "namespace": "test", **f})

    def canary(phase: str, w: int, failed: int = 0) -> None:
        add("canary", name="podinfo", target="podinfo", phase=phase, canaryWeight=w,
            failedChecks=failed, iterations=0)

    def event(msg: str, typ: str = "Normal") -> None:
        add("event", object="Canary/podinfo", type=typ, reason="Synced", message=msg, count=1)

    counters = {"requests": 0, "failures": 0, "by_version": {"1.7.0": 0, canary_version: 0}}
    fault = {"requests": 0, "failures": 0, "by_version": {canary_version: 0}}

    def draws(n: int, p: float) -> int:
        if rng is None:
            return round(n * p)
        return sum(rng.random() < p for _ in range(n))

    def traffic(seconds: float, w: int, fail: float, faulty: bool = False) -> None:
        nonlocal t
        steps = 4
        for _ in range(steps):
            t += seconds / steps
            n = int(qps * seconds / steps)
            c = draws(n, w / 100)
            # drawn: only the canary's answers fail; exact (tests): that share of all requests
            bad = draws(c, fail) if rng is not None else round(n * fail)
            counters["requests"] += n
            counters["failures"] += bad
            counters["by_version"][canary_version] += c
            counters["by_version"]["1.7.0"] += n - c
            add("client", source="load", requests=counters["requests"],
                failures=counters["failures"], by_version=dict(counters["by_version"]))
            if pages:
                for _ in range(round(seconds / steps / tl.time_scale)):
                    add("page", source="frontend",
                        version=canary_version if draws(1, w / 100) else "1.7.0")
            if faulty and fault_qps:
                m = int(fault_qps * seconds / steps)
                fault["requests"] += m
                fault["failures"] += m
                fault["by_version"][canary_version] += m
            if fault["requests"]:
                add("client", source="fault-load", requests=fault["requests"],
                    failures=fault["failures"], by_version=dict(fault["by_version"]))
            canary_total = c + (m if faulty and fault_qps else 0)
            canary_bad = bad + (m if faulty and fault_qps else 0)
            if rng is None:  # exact mode: the failure share applies to all requests
                sr: float | None = 100.0 - 100 * fail
            else:
                sr = 100.0 * (1 - canary_bad / canary_total) if canary_total else None
            add("prometheus", canary="podinfo", target="podinfo",
                success_rate=sr, primary_success_rate=100.0)

    canary("Initialized", 0)
    add("route", name="podinfo", backends=dict(route))
    event("Initialization done! podinfo.test")
    traffic(tick, 0, 0)
    add("marker", label="kubectl -n test set image deployment/podinfo podinfod=...:1.7.1")
    t += 0.05
    canary("Progressing", 0)
    event("New revision detected! Scaling up podinfo.test")
    traffic(tick, 0, 0)
    event("Starting canary analysis for podinfo.test")
    failed = 0
    for i, w in enumerate(weights):
        if failed_after is not None and i >= failed_after:
            break
        route = {"podinfo-primary": 100 - w, "podinfo-canary": w}
        add("route", name="podinfo", backends=dict(route))
        canary("Progressing", w)
        event(f"Advance podinfo.test canary weight {w}")
        traffic(tick, w, 0)
    if failed_after is not None:
        w = route["podinfo-canary"]
        for failed in range(1, threshold + 1):
            traffic(tick, w, fail_share, faulty=True)
            srs = [p["success_rate"] for p in tl.of("prometheus")[-4:]
                   if p.get("success_rate") is not None]
            sr = sum(srs) / len(srs) if srs else 0.0
            canary("Progressing", w, failed)  # the check over the interval just passed
            event(f"Halt podinfo.test advancement success rate {sr:.2f}% < 99%", "Warning")
        event(f"Rolling back podinfo.test failed checks threshold reached {threshold}", "Warning")
        add("route", name="podinfo", backends={"podinfo-primary": 100, "podinfo-canary": 0})
        event("Canary failed! Scaling down podinfo.test", "Warning")
        canary("Failed", 0)
        traffic(tick, 0, 0)
        return tl
    canary("Promoting", weights[-1])
    event("Copying podinfo.test template spec to podinfo-primary.test")
    traffic(tick, weights[-1], 0)
    add("route", name="podinfo", backends={"podinfo-primary": 100, "podinfo-canary": 0})
    canary("Finalising", 0)
    event("Routing all traffic to primary")
    traffic(tick, 0, 0)
    canary("Succeeded", 0)
    event("Promotion completed! Scaling down podinfo.test")
    traffic(tick, 0, 0)
    return tl


def simulated_step_metrics(tl: Timeline, rng: random.Random, p50_ms: float = 2.0,
                           sigma: float = 0.6) -> list[dict[str, object]]:
    """What the recorder's ``step_metrics`` would hold for a simulated timeline: per weight
    step and backend the requests and failures the clients drew, and p50/p99 of log-normal
    latencies drawn for them (median ``p50_ms``)."""
    from canary.harness.timeline import client_deltas, weight_steps

    cv = str(tl.meta.get("canary_version") or "1.7.1")
    out: list[dict[str, object]] = []
    for st in weight_steps(tl, "podinfo", "test"):
        ds = [d for d in client_deltas(tl) if st["t0"] <= (d["t0"] + d["t1"]) / 2 < st["t1"]]
        counts = {"canary": sum(d["by_version"].get(cv, 0) for d in ds),
                  "primary": sum(n for d in ds for v, n in d["by_version"].items() if v != cv)}
        failed = sum(d["failures"] for d in ds)  # only the canary fails in the simulation
        backends: dict[str, dict[str, object]] = {}
        for role, deployment in (("canary", "podinfo"), ("primary", "podinfo-primary")):
            n = counts[role]
            lat = sorted(p50_ms * math.exp(rng.gauss(0, sigma)) for _ in range(min(n, 400)))
            bad = failed if role == "canary" else 0
            backends[role] = {
                "deployment": deployment, "requests": float(n),
                "success_rate": round(100.0 * (n - bad) / n, 3) if n else None,
                "p50": round(lat[len(lat) // 2], 2) if lat else None,
                "p99": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 2) if lat else None}
        out.append({"route": "podinfo", "namespace": "test", "t0": st["t0"], "t1": st["t1"],
                    "backends": backends})
    return out


def sample_records(timeline_dir: Path, seed: int = 15) -> list[ScenarioRecord]:
    """Three scenarios (promotion, stepWeights, rollback) with their timeline files; the
    verdicts and messages come from the harness's own assertions run on the timelines."""
    from canary.harness.assertions import RolloutAssertion, assert_failure_share
    from canary.harness.report import ScenarioRecord

    rng = random.Random(seed)
    cases = [
        ("promoted through every weight step",
         rollout([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], qps=400, rng=rng, pages=True)),
        ("stepWeights [5, 25, 50]", rollout([5, 25, 50], qps=400, rng=rng)),
        ("rolled back on /status/500",
         rollout([10, 20], failed_after=1, threshold=5, fail_share=0.3, qps=400, rng=rng,
                 fault_qps=40)),
    ]
    out = []
    for name, tl in cases:
        tl.scenario = name
        tl.meta["canary_version"] = "1.7.1"
        tl.meta["step_metrics"] = simulated_step_metrics(tl, rng)
        start = next(m["t"] for m in tl.of("marker"))
        check = 'the load generator "load" in namespace "test" saw at most 1% failed requests'
        steps = [{"keyword": "Given", "text": "the podinfo demo is deployed in namespace "
                  '"test"', "outcome": "passed", "message": ""},
                 {"keyword": "When", "text": "I run \"kubectl -n test set image "
                  'deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1"',
                  "outcome": "passed", "message": ""}]
        try:
            assert_failure_share(tl, start, None, 1.0, source="load")
            outcome, msg = "passed", ""
        except RolloutAssertion as e:
            outcome, msg = "failed", str(e)
        steps.append({"keyword": "Then", "text": check, "outcome": outcome, "message": msg})
        nodeid = f"features/sample.feature::{name}"
        path = tl.dump(timeline_dir / f"{name.replace(' ', '_').replace('/', '')}.json")
        out.append(ScenarioRecord(nodeid=nodeid, feature="Sample rollouts", name=name,
                                  outcome=outcome, duration=round(tl.entries[-1]["t"] - T0, 1),
                                  message=msg, tags=["flagger"], timeline_file=str(path),
                                  steps=steps))
    return out
