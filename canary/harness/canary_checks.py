"""Waits and checks on Flagger ``Canary`` objects, read from the cluster and the recorded
timeline. The expected values come from :mod:`canary.harness.expected`, never from the engine."""

from __future__ import annotations

import json
import time
from typing import Any

from canary.clock import parse_duration
from canary.harness import assertions as A
from canary.harness.context import ScenarioContext
from canary.harness.expected import analysis_seconds, expected_weights
from canary.harness.timeline import (
    Timeline,
    events_for,
    first_phase_time,
    phase_changes,
    rollout_window,
)
from canary.harness.traffic import image_version, share_by_step
from canary.harness.wait import settle, wait_for

CANARY = "flagger.app/v1beta1"


def get_canary(ctx: ScenarioContext, name: str, ns: str) -> dict[str, Any]:
    obj = ctx.env.client().get_or_none(CANARY, "Canary", name, ns)
    if obj is None:
        raise A.RolloutAssertion(f"Canary {name} in namespace {ns} does not exist")
    return obj


def route_name(canary: dict[str, Any]) -> str:
    spec = canary.get("spec") or {}
    return (spec.get("service") or {}).get("name") or (spec.get("targetRef") or {})["name"]


def engine_gone(ctx: ScenarioContext) -> str | None:
    """Why waiting is pointless: the bundled engine process exited (None while it runs)."""
    eng = ctx.env.engine
    if eng is not None and not eng.alive:
        return f"the canary engine process exited; last log lines:\n{eng.tail()}"
    return None


def phase_budget(ctx: ScenarioContext, name: str, ns: str) -> float:
    """Wall seconds a whole analysis may take: every step, the threshold and 10 spare ticks."""
    canary = get_canary(ctx, name, ns)
    interval, threshold = analysis_seconds(canary)
    try:
        steps = len(expected_weights(canary).weights)
    except ValueError:
        steps = 10
    return ctx.wall((steps + threshold + 10) * interval)


def within(ctx: ScenarioContext, text: str | None, name: str, ns: str) -> float:
    """The wall timeout of a "within 5m" clause, or the canary's whole budget without one."""
    if not text:
        return phase_budget(ctx, name, ns)
    try:
        return ctx.wall(parse_duration(text))
    except ValueError:
        raise AssertionError(f"'within {text}': expected a duration like 90s or 5m") from None


def phase_story(ctx: ScenarioContext, name: str, ns: str, phase: str, since: float,
                why: str) -> str:
    tl = ctx.timeline()
    seen = [p for t, p in phase_changes(tl, name, ns) if t >= since]
    obj = ctx.env.client().get_or_none(CANARY, "Canary", name, ns) or {}
    evs = [e.get("message", "") for e in tl.of("event", namespace=ns)][-8:]
    return (f"canary {name}.{ns}: phase {phase} {why} (time scale {ctx.time_scale:g})\n"
            f"  phases seen since the step began: {seen or 'none'}\n"
            f"  status now: {json.dumps(obj.get('status') or {}, default=str)[:600]}\n"
            f"  last events:\n" + "\n".join(f"    - {m}" for m in evs))


def wait_phase(ctx: ScenarioContext, name: str, ns: str, phase: str, since: float,
               timeout: float) -> float:
    """Until the timeline shows ``phase`` entered at or after ``since``; returns when."""
    ctx.record(ns)
    client = ctx.env.client()

    def reached() -> float | None:
        t = first_phase_time(ctx.timeline(), name, phase, after=since, namespace=ns)
        if t is not None:
            return t
        # The recorder lists current state when it starts; an already-reached phase counts
        # only if it was entered after the step's reference point.
        obj = client.get_or_none(CANARY, "Canary", name, ns)
        if obj and (obj.get("status") or {}).get("phase") == phase and since <= ctx.started:
            return time.time()
        return None

    def aborted() -> str | None:
        if phase != "Failed" and any(p == "Failed" for t, p in
                                     phase_changes(ctx.timeline(), name, ns) if t >= since):
            return "the canary failed instead"
        return engine_gone(ctx)

    return wait_for(reached, timeout, abort=aborted,
                    story=lambda why: phase_story(ctx, name, ns, phase, since, why))


def last_rollout(tl: Timeline, name: str, ns: str) -> tuple[float, float | None]:
    """(start, end) of the canary's most recent analysis in the timeline."""
    ph = phase_changes(tl, name, ns)
    n = sum(1 for i, (_, p) in enumerate(ph)
            if p == "Progressing" and (i == 0 or ph[i - 1][1] != "Progressing"))
    return rollout_window(tl, name, ns, nth=max(n, 1))


def check_weights_follow_spec(ctx: ScenarioContext, name: str, ns: str) -> None:
    canary = get_canary(ctx, name, ns)
    plan = expected_weights(canary)
    tl = ctx.timeline()
    start, end = last_rollout(tl, name, ns)
    observed, traj = A.observed_steps(tl, route_name(canary), start, end, ns)
    ctx.set_meta(expected_weights=list(plan.weights), observed_weights=observed)
    A.assert_weight_sequence(plan, observed, trajectory=traj)


def check_traffic_follows(ctx: ScenarioContext, name: str, ns: str) -> None:
    canary = get_canary(ctx, name, ns)
    target = canary["spec"]["targetRef"]["name"]
    dep = ctx.env.client().get("apps/v1", "Deployment", target, ns)
    version = image_version(dep["spec"]["template"]["spec"]["containers"][0]["image"])
    ctx.set_meta(canary_version=version)
    tl = ctx.timeline()
    start, end = last_rollout(tl, name, ns)
    A.assert_traffic_follows(share_by_step(tl, route_name(canary), version, start, end,
                                           source="load", namespace=ns))


def check_events_in_order(ctx: ScenarioContext, name: str, wanted: list[str]) -> None:
    """The last event arrives through a watch a moment after the phase it belongs to."""
    settle(lambda: A.assert_events_in_order(ctx.timeline(), wanted, obj=f"Canary/{name}"),
           ctx.wall(0))


def _failed_checks_reached(tl: Timeline, name: str, ns: str, start: float,
                           count: int) -> float | None:
    return next((e["t"] for e in tl.of("canary", name=name, namespace=ns)
                 if e["t"] >= start and (e.get("failedChecks") or 0) >= count), None)


def check_rolled_back_in_time(ctx: ScenarioContext, name: str, ns: str) -> None:
    interval, threshold = analysis_seconds(get_canary(ctx, name, ns))
    tl = ctx.timeline()
    start, _ = last_rollout(tl, name, ns)
    took = A.assert_rollback_within(_failed_checks_reached(tl, name, ns, start, 1),
                                    first_phase_time(tl, name, "Failed", after=start,
                                                     namespace=ns),
                                    interval=interval, threshold=threshold,
                                    time_scale=ctx.time_scale)
    ctx.set_meta(rollback_seconds=round(took, 2))


def check_rolled_back_at_threshold(ctx: ScenarioContext, name: str, ns: str) -> None:
    interval, threshold = analysis_seconds(get_canary(ctx, name, ns))
    tl = ctx.timeline()
    start, _ = last_rollout(tl, name, ns)
    A.assert_rollback_at_threshold(_failed_checks_reached(tl, name, ns, start, threshold),
                                   first_phase_time(tl, name, "Failed", after=start,
                                                    namespace=ns),
                                   interval=interval, threshold=threshold,
                                   time_scale=ctx.time_scale)


def check_failure_share(ctx: ScenarioContext, source: str, ns: str, bound: float,
                        name: str, until: str | None = None) -> None:
    """``until``: only up to the canary's first event starting with that text, when it came
    (blue/green keeps users on the primary only until "Routing all traffic to canary")."""
    tl = ctx.timeline()
    start, end = last_rollout(tl, name, ns)
    if until:
        at = next((e["t"] for e in events_for(tl, f"Canary/{name}", ns)
                   if e["t"] >= start and str(e.get("message", "")).startswith(until)), None)
        if at is not None:
            end = at if end is None else min(end, at)
    A.assert_failure_share(tl, start, end, bound, source=source)
