"""Assertions over a recorded rollout, each failing with expected-vs-observed in its message."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from canary.harness.expected import WeightPlan
from canary.harness.timeline import (
    Timeline,
    client_deltas,
    compress,
    events_for,
    route_canary_weights,
)


class RolloutAssertion(AssertionError):
    """A rollout did not behave as the spec says. The message is meant for humans."""


def _fmt(seq: Sequence[Any]) -> str:
    return "[" + ", ".join(str(x) for x in seq) + "]"


def describe_sequence_diff(expected: Sequence[int], observed: Sequence[int]) -> str:
    exp, obs = list(expected), list(observed)
    notes = []
    missing = [w for w in exp if w not in obs]
    extra = [w for w in obs if w not in exp]
    if missing:
        notes.append(f"missing {_fmt(missing)}")
    if extra:
        notes.append(f"unexpected {_fmt(extra)}")
    if not missing and not extra:
        notes.append("same weights in a different order or repeated")
    return "; ".join(notes)


def assert_weight_sequence(plan: WeightPlan, observed: Sequence[int], *, what: str = "canary",
                           trajectory: Sequence[int] | None = None) -> None:
    """The weights the canary received must be exactly the plan's steps, in order."""
    if list(observed) == list(plan.weights):
        return
    lines = [
        f"{what} weight sequence differs from the one its spec implies ({plan.source})",
        f"  expected: {_fmt(plan.weights)}",
        f"  observed: {_fmt(observed)}",
        f"  ({describe_sequence_diff(plan.weights, observed)})",
    ]
    if trajectory is not None:
        lines.append(f"  HTTPRoute canary weight over the rollout: {_fmt(trajectory)}")
    raise RolloutAssertion("\n".join(lines))


def observed_steps(tl: Timeline, route: str, since: float, until: float | None,
                   namespace: str | None = None) -> tuple[list[int], list[int]]:
    """(advance steps, full compressed trajectory) of the canary weight on the route.

    The steps are the trajectory without the 0s at both ends (the route sits at 0 before the
    first advance and goes back to 0 when traffic returns to the primary).
    """
    pts = route_canary_weights(tl, route, namespace)
    before = [w for t, w in pts if t < since]
    within = [w for t, w in pts if t >= since and (until is None or t <= until)]
    traj = compress(before[-1:] + within)
    steps = list(traj)
    while steps and steps[0] == 0:
        steps.pop(0)
    while steps and steps[-1] == 0:
        steps.pop()
    return steps, traj


def assert_route_weights(backends: dict[str, int], expected: dict[str, int], route: str) -> None:
    got = {name: backends.get(name) for name in expected}
    if got != expected:
        raise RolloutAssertion(
            f"HTTPRoute {route} weights differ\n  expected: {expected}\n  observed: {backends}")


def assert_events_in_order(tl: Timeline, expected: Sequence[str], obj: str | None = None,
                           since: float | None = None) -> None:
    """Each expected message (a prefix or exact text) appears, in this order, among the events."""
    evs = [e for e in events_for(tl, obj) if since is None or e["t"] >= since]
    messages = [e.get("message", "") for e in evs]
    i = 0
    matched: list[str] = []
    for want in expected:
        while i < len(messages) and not messages[i].startswith(want):
            i += 1
        if i == len(messages):
            anywhere = any(m.startswith(want) for m in messages)
            hint = ("it occurs, but before the previous expected event" if anywhere
                    else "it never occurs")
            raise RolloutAssertion(
                f"event {want!r} not found in order ({hint})\n"
                f"  expected, in order: {list(expected)}\n"
                f"  matched so far:     {matched}\n"
                f"  observed events{' for ' + obj if obj else ''}:\n"
                + "\n".join(f"    - {m}" for m in messages))
        matched.append(messages[i])
        i += 1


def rollback_budget(interval: float, threshold: int) -> float:
    """Spec seconds allowed from the first failed check to phase Failed: threshold x interval
    plus one tick (rollback happens at the start of the tick after the threshold is reached)."""
    return threshold * interval + interval


def assert_rollback_within(first_failure: float | None, failed_at: float | None, *,
                           interval: float, threshold: int, time_scale: float,
                           slack_wall: float = 0.0) -> float:
    """Returns the observed spec seconds from the first failed check to rollback."""
    budget = rollback_budget(interval, threshold)
    if first_failure is None:
        raise RolloutAssertion("no failed check was ever recorded (status.failedChecks stayed 0),"
                               " so the engine never noticed the fault")
    if failed_at is None:
        raise RolloutAssertion(f"the canary was never rolled back (phase Failed not reached); "
                               f"allowed {budget:g}s = threshold {threshold} x interval "
                               f"{interval:g}s + one tick")
    took = (failed_at - first_failure) / time_scale
    if took > budget + slack_wall / time_scale:
        raise RolloutAssertion(
            f"rollback took too long\n"
            f"  expected: within {budget:g}s (threshold {threshold} x interval {interval:g}s + "
            f"one tick) of the first failed check\n"
            f"  observed: {took:.1f}s (spec time; {failed_at - first_failure:.2f}s wall at time "
            f"scale {time_scale:g})")
    return took


def assert_rollback_at_threshold(reached: float | None, failed_at: float | None, *,
                                 interval: float, threshold: int, time_scale: float) -> float:
    """Flagger rolls back at the start of the tick after failedChecks reaches the threshold:
    phase Failed must follow within one tick (half a tick of scheduling slack allowed)."""
    if reached is None:
        raise RolloutAssertion(f"status.failedChecks never reached the threshold {threshold}")
    if failed_at is None:
        raise RolloutAssertion(f"failedChecks reached the threshold {threshold} but the canary "
                               f"was never rolled back (phase Failed not reached)")
    took = (failed_at - reached) / time_scale
    if took > 1.5 * interval:
        raise RolloutAssertion(
            f"rollback did not follow the threshold\n"
            f"  expected: phase Failed within one tick ({interval:g}s) of failedChecks reaching "
            f"{threshold}\n  observed: {took:.1f}s (spec time)")
    return took


def assert_failure_share(tl: Timeline, since: float, until: float | None, bound_pct: float,
                         source: str | None = None) -> tuple[int, int]:
    """The clients' failed-request share over the window is at most ``bound_pct`` percent."""
    req = fail = 0
    worst = 0.0
    for d in client_deltas(tl, source):
        if d["t1"] <= since or (until is not None and d["t0"] >= until):
            continue
        req += d["requests"]
        fail += d["failures"]
        if d["requests"]:
            worst = max(worst, 100.0 * d["failures"] / d["requests"])
    who = f"load generator {source!r}" if source else "the load generators"
    if req == 0:
        raise RolloutAssertion(f"{who} recorded no requests during the rollout, so the failure "
                               f"share cannot be judged (is the load generator running and its "
                               f"/stats reachable?)")
    share = 100.0 * fail / req
    if share > bound_pct:
        raise RolloutAssertion(
            f"{who} saw too many failed requests\n"
            f"  expected: at most {bound_pct:g}%\n"
            f"  observed: {share:.2f}% ({fail} of {req} requests; worst sample {worst:.1f}%)")
    return req, fail


def binomial_tolerance(p: float, n: int, z: float = 4.0) -> float:
    """Half-width of a z-sigma band for an observed share of n draws with true share p."""
    if n <= 0:
        return 1.0
    return z * math.sqrt(max(p * (1 - p), 0.25 / n) / n)


def assert_traffic_follows(rows: Sequence[dict[str, Any]], min_requests: int = 20,
                           z: float = 4.0) -> None:
    """Rows from :func:`canary.harness.traffic.share_by_step`: each step with enough requests
    must see a canary share within a binomial band around its weight; all steps together must
    also agree (pooled over the steps, which has the statistical power single steps lack)."""
    bad = []
    exp_total = obs_total = n_total = 0.0
    for r in rows:
        n, p, obs = r["requests"], r["weight"] / 100.0, r["canary"]
        exp_total += p * n
        obs_total += obs
        n_total += n
        if n >= min_requests:
            share = obs / n
            if abs(share - p) > binomial_tolerance(p, n, z):
                bad.append(f"weight {r['weight']}%: canary got {100 * share:.1f}% of {n} requests")
    table = "\n".join(
        f"    weight {r['weight']:>3}%  canary share "
        + (f"{100 * r['canary'] / r['requests']:5.1f}%" if r["requests"] else "    -")
        + f"  ({r['requests']} requests)" for r in rows)
    if n_total == 0:
        raise RolloutAssertion("no client traffic was recorded during the weight steps\n" + table)
    pooled_sd = math.sqrt(sum((r["weight"] / 100) * (1 - r["weight"] / 100) * r["requests"]
                              for r in rows)) or 1.0
    if abs(obs_total - exp_total) > z * pooled_sd + 2:
        bad.append(f"all steps: canary got {obs_total:.0f} requests, "
                   f"expected about {exp_total:.0f} from the weights")
    if bad:
        raise RolloutAssertion("traffic seen by clients does not follow the declared weights\n  "
                               + "\n  ".join(bad) + "\n" + table)


def assert_nothing_left(leftovers: Sequence[str]) -> None:
    if leftovers:
        raise RolloutAssertion("objects the scenario created are still there after cleanup:\n"
                               + "\n".join(f"  - {x}" for x in leftovers))


def assert_services_pinned(rollout: str, services: dict[str, dict[str, Any] | None],
                           pods: Sequence[dict[str, Any]], owned: set[str | None],
                           hash_label: str) -> None:
    """Argo pins the canary/stable Services to a revision with the pod-template-hash label, so
    pods that merely share the Rollout's labels (the demo's Deployment) get no routed traffic:
    every pod a Service selects belongs to one of the Rollout's ReplicaSets (``owned`` hashes)."""
    for svc_name, svc in services.items():
        if svc is None:
            raise RolloutAssertion(f"Service {svc_name} does not exist")
        sel = (svc.get("spec") or {}).get("selector") or {}
        chosen = [p for p in pods if sel and all(
            (p["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items())]
        strangers = [p["metadata"]["name"] for p in chosen
                     if (p["metadata"].get("labels") or {}).get(hash_label) not in owned]
        if sel.get(hash_label) not in owned or strangers:
            raise RolloutAssertion(
                f"Service {svc_name} selector {sel}\n  expected: pinned to a revision of "
                f"rollout {rollout} ({hash_label} in {sorted(x for x in owned if x)})\n"
                f"  observed: selects {[p['metadata']['name'] for p in chosen]}"
                + (f", not the rollout's: {strangers}" if strangers else ""))


def assert_pauses_held(pauses: Sequence[tuple[int, int]], held: dict[int, float],
                       time_scale: float) -> list[str]:
    """Each timed pause (weight in force, spec seconds) held its weight at least its duration
    (time-scaled) and at most one reconcile (2 spec s + 1 s wall) more; returns the rows."""
    slack = 2 * time_scale + 1.0
    bad, rows = [], []
    for weight, secs in pauses:
        want = secs * time_scale
        got = held.get(weight)
        rows.append(f"weight {weight}: pause {secs}s -> {want:.2f}s wall, held "
                    f"{'never' if got is None else f'{got:.2f}s'}")
        # 50 ms of tolerance: the watch timestamps both ends, not the engine's clock.
        if got is None or got < want - 0.05 or got > want + slack:
            bad.append(rows[-1])
    if bad:
        raise RolloutAssertion(f"timed pauses (time scale {time_scale:g})\n  expected: each "
                               f"weight held for its pause (+ at most {slack:.2f}s)\n  "
                               f"observed:\n    " + "\n    ".join(rows))
    return rows
