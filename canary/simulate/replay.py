"""Replay a recorded rollout timeline (canary/harness/timeline.py) against a (changed) Canary.

The recording holds what the engine observed at each analysis tick: a passed check (an
``Advance``/``Copying`` event), a failed one with the value it saw (``Halt ... 93.71 < 99``) or
without one (no values, webhook or query errors). The real ``flagger.tick`` is driven on a
fake clock and at each of its analysis ticks is given the recorded check of that moment:

- a failed check's value is judged against the replayed spec's bound (it may pass now);
- a passed check stays passed unless the replayed bound is stricter than the recorded one
  (read from the recording's Halt messages, else assumed unchanged); then the harness's own
  Prometheus sample of that moment (``prometheus`` entries, the same query over 1m) is judged;
- a replayed tick with no recorded check near it ends the replay as "undecided".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from canary.clock import FakeClock
from canary.engine import flagger
from canary.engine.analysis import MetricOutcome, judge_metric
from canary.engine.types import WARNING, AnalysisResult, Event, Observations, SetRoutes
from canary.harness.timeline import Timeline, canary_backend
from canary.simulate.flagger_run import NEW, FlaggerPlan, pass_hooks
from canary.simulate.manifests import SimulationError

_VALUE = re.compile(r"advancement (success rate|\S+) (-?[0-9.]+)%? ([<>]) (-?[0-9.]+)%?$")
_BUILTIN_NAMES = {"success rate": "request-success-rate"}


@dataclass
class Check:
    t: float  # spec seconds after the new revision
    ok: bool
    metric: str = ""
    value: float | None = None
    bound: tuple[str, float] | None = None  # ("<", 99): the recorded min / (">", x): max
    message: str = ""


@dataclass
class Recording:
    checks: list[Check]
    weights: list[int]
    verdict: str
    interval: float  # spec seconds between recorded ticks
    samples: list[tuple[float, float | None]] = field(default_factory=list)


def read(tl: Timeline, namespace: str, name: str) -> Recording:
    obj = f"Canary/{name}"
    evs = [e for e in tl.of("event", namespace=namespace) if e.get("object") == obj]
    start = next((e["t"] for e in evs if str(e.get("message", "")).startswith(
        "New revision detected")), None)
    if start is None:
        raise SimulationError(f"the timeline has no 'New revision detected' event of Canary "
                              f"{namespace}/{name}: nothing to replay")

    def spec_t(t: float) -> float:
        return tl.spec_seconds(t - start)

    checks: list[Check] = []
    ticks: list[float] = [0.0]
    skip_advance = False
    verdict = "undecided"
    for e in evs:
        if e["t"] < start:
            continue
        msg, t = str(e.get("message", "")), spec_t(e["t"])
        if msg.startswith("Starting canary analysis"):
            skip_advance, ticks = True, ticks + [t]
        elif msg.startswith("Advance ") and " canary weight " in msg:
            if skip_advance:
                skip_advance = False
                continue
            checks.append(Check(t, True))
        elif msg.startswith("Copying ") and "template spec" in msg:
            checks.append(Check(t, True))
        elif msg.startswith("Halt ") and "advancement waiting" not in msg:
            checks.append(_failed(t, msg))
        elif msg.startswith("Promotion completed"):
            verdict = "promoted"
            break
        elif msg.startswith("Canary failed!"):
            verdict = "rolled back"
            break
    ticks += [c.t for c in checks]
    gaps = sorted(b - a for a, b in zip(ticks, ticks[1:], strict=False) if b > a)
    interval = gaps[len(gaps) // 2] if gaps else 0.0
    weights: list[int] = []
    for r in tl.of("route", namespace=namespace):
        if r["t"] < start:
            continue
        b = r.get("backends") or {}
        cb = canary_backend(b)
        w = int(b.get(cb, 0)) if cb else 0
        if w and (not weights or weights[-1] != w):
            weights.append(w)
    samples = [(spec_t(p["t"]), p.get("success_rate"))
               for p in tl.of("prometheus", namespace=namespace) if p["t"] >= start]
    return Recording(checks, weights, verdict, interval, samples)


def _failed(t: float, msg: str) -> Check:
    m = _VALUE.search(msg)
    if not m:
        return Check(t, False, message=msg)
    name = _BUILTIN_NAMES.get(m.group(1), m.group(1))
    return Check(t, False, name, float(m.group(2)), (m.group(3), float(m.group(4))), msg)


@dataclass
class Replay:
    weights: list[int]
    verdict: str
    seconds: float
    failed_checks: int
    note: str = ""
    rejudged: list[str] = field(default_factory=list)


def _bounds(rec: Recording) -> dict[str, tuple[str, float]]:
    return {c.metric: c.bound for c in rec.checks if c.bound is not None}


def _stricter(m_min: float | None, m_max: float | None, recorded: tuple[str, float] | None
              ) -> bool:
    if recorded is None:
        return False
    op, b = recorded
    if op == "<":
        return m_min is not None and m_min > b
    return m_max is not None and m_max < b


def _sample(rec: Recording, t: float) -> float | None:
    before = [v for ts, v in rec.samples if ts <= t + 1e-6 and v is not None]
    return before[-1] if before else None


def _analysis(plan: FlaggerPlan, rec: Recording, check: Check, t: float,
              rejudged: list[str]) -> AnalysisResult:
    c = plan.spec
    recorded_bounds = _bounds(rec)
    for m in c.analysis.metrics:
        if check.ok:
            if not _stricter(m.min, m.max, recorded_bounds.get(m.name)):
                continue
            v = _sample(rec, t)
            if v is None:
                continue
            rejudged.append(f"{t:g}s: {m.name} judged on the harness sample {v:g}")
        elif check.metric and check.value is not None:
            if m.name != check.metric:
                continue
            v = check.value
        else:
            return AnalysisResult(False, [Event(WARNING, check.message)])
        ev = judge_metric(c, m, MetricOutcome(value=v))
        if ev is not None:
            return AnalysisResult(False, [ev], {m.name: v})
    return AnalysisResult(True, [])


def replay(plan: FlaggerPlan, rec: Recording) -> Replay:
    c, a = plan.spec, plan.spec.analysis
    clock = FakeClock()
    t0 = clock.now()
    status = dict(plan.initialized)
    weight, replicas = 0, 0
    out = Replay([], "undecided", 0.0, 0)
    tolerance = max(rec.interval, a.interval) / 2
    for _ in range(2000):
        t = clock.now() - t0
        obs = Observations(now=clock.now(), target_hash=NEW, target_replicas=replicas,
                           primary_weight=100 - weight, canary_weight=weight)
        d = flagger.tick(c, status, obs)
        while d.need is not None:
            if not pass_hooks(obs, a, d.need.kind, d.need.hook_type):
                near = [k for k in rec.checks if abs(k.t - t) <= tolerance]
                if not near:
                    out.seconds = t
                    out.note = (f"the recording has no analysis check near {t:g}s "
                                f"(it ends at {rec.checks[-1].t:g}s)" if rec.checks else
                                "the recording has no analysis checks")
                    return out
                check = min(near, key=lambda k: abs(k.t - t))
                obs.analysis = _analysis(plan, rec, check, t, out.rejudged)
            d = flagger.tick(c, status, obs)
        for act in d.actions:
            if isinstance(act, SetRoutes):
                weight = act.canary
                if weight and (not out.weights or out.weights[-1] != weight):
                    out.weights.append(weight)
            elif hasattr(act, "replicas"):
                replicas = act.replicas
        status = d.status
        out.failed_checks = max(out.failed_checks, int(status.get("failedChecks") or 0))
        if status.get("phase") in (flagger.SUCCEEDED, "Failed"):
            out.verdict = "promoted" if status["phase"] == flagger.SUCCEEDED else "rolled back"
            out.seconds = t
            return out
        clock.advance(a.interval)
    out.note = "no verdict after 2000 ticks"
    return out


def main_replay(plan: FlaggerPlan, path: Path) -> int:
    try:
        tl = Timeline.load(path)
    except (OSError, ValueError) as e:
        raise SimulationError(f"--replay {path}: cannot read the timeline: {e}") from None
    c = plan.spec
    rec = read(tl, c.namespace, c.name)
    r = replay(plan, rec)
    print(f"recorded: weights {rec.weights}, verdict {rec.verdict}, "
          f"{len(rec.checks)} analysis checks ({sum(not k.ok for k in rec.checks)} failed), "
          f"interval ~{rec.interval:g}s")
    print(f"replayed: weights {r.weights}, verdict {r.verdict} at {r.seconds:g}s, "
          f"failed checks {r.failed_checks}" + (f" ({r.note})" if r.note else ""))
    for line in r.rejudged:
        print(f"  {line}")
    print("weights identical to the recording" if r.weights == rec.weights
          else "weights differ from the recording")
    return 0
