"""Harness API for Argo Rollouts analysis: the AnalysisRuns a Rollout owns, waits on their
phases and measurements, and what a user checks after an analysis aborted a release.

Everything is read through the Kubernetes API, as a user would with ``kubectl get ar``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from canary.harness.assertions import RolloutAssertion
from canary.harness.context import ScenarioContext

API = "argoproj.io/v1alpha1"
HASH_LABEL = "rollouts-pod-template-hash"
WALL_SLACK = 45.0  # wall seconds added to every time-scaled wait (process start-up, 2 cores)


def wall(ctx: ScenarioContext, spec_seconds: float) -> float:
    return spec_seconds * ctx.time_scale + WALL_SLACK


def get_rollout(ctx: ScenarioContext, name: str, ns: str) -> dict[str, Any]:
    ro = ctx.env.client().get_or_none(API, "Rollout", name, ns)
    if ro is None:
        raise RolloutAssertion(f"Rollout {name} in namespace {ns} does not exist")
    return ro


def runs_of(ctx: ScenarioContext, ro: dict[str, Any]) -> list[dict[str, Any]]:
    """The AnalysisRuns the Rollout owns, oldest first."""
    uid = ro["metadata"].get("uid")
    ns = ro["metadata"].get("namespace")
    runs = [r for r in ctx.env.client().items(API, "AnalysisRun", ns)
            if any(o.get("uid") == uid for o in r["metadata"].get("ownerReferences") or [])]
    return sorted(runs, key=lambda r: (r["metadata"].get("creationTimestamp") or "",
                                       r["metadata"].get("name")))


def current_runs(ctx: ScenarioContext, ro: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs for the Rollout's current revision (its ``status.currentPodHash``)."""
    h = (ro.get("status") or {}).get("currentPodHash")
    return [r for r in runs_of(ctx, ro)
            if (r["metadata"].get("labels") or {}).get(HASH_LABEL) == h]


def declared_analyses(ro: dict[str, Any]) -> int:
    """Background analysis plus each analysis step: the runs one update creates."""
    canary = ((ro.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    steps = canary.get("steps") or []
    return int(bool(canary.get("analysis"))) + sum(1 for s in steps if "analysis" in s)


def describe_run(run: dict[str, Any]) -> str:
    st = run.get("status") or {}
    lines = [f"AnalysisRun {run['metadata']['name']} "
             f"({(run['metadata'].get('labels') or {}).get('rollout-type', '?')}): "
             f"phase {st.get('phase') or '<none>'}"
             + (f" - {st['message']}" if st.get("message") else "")
             + (" (terminate requested)" if (run.get("spec") or {}).get("terminate") else "")]
    for r in st.get("metricResults") or []:
        ms = r.get("measurements") or []
        tail = ", ".join(f"{m.get('phase')}:{m.get('value', m.get('message', ''))}"
                         for m in ms[-4:])
        lines.append(f"    metric {r.get('name')}: {r.get('phase')} (successful "
                     f"{r.get('successful', 0)}, failed {r.get('failed', 0)}, error "
                     f"{r.get('error', 0)}); last: {tail or 'none'}")
    return "\n".join(lines)


def _story(ctx: ScenarioContext, ro: dict[str, Any], why: str) -> str:
    st = ro.get("status") or {}
    runs = runs_of(ctx, ro)
    canary = {k: v for k, v in (st.get("canary") or {}).items() if k != "weights"}
    return (f"rollout {ro['metadata']['name']}.{ro['metadata'].get('namespace')}: {why}\n"
            f"  rollout: phase {st.get('phase')}, message {st.get('message', '')!r}\n"
            f"  status.canary: {json.dumps(canary)}\n"
            + ("\n".join("  " + describe_run(r) for r in runs) or "  no AnalysisRuns"))


def _engine_check(ctx: ScenarioContext) -> None:
    eng = ctx.env.engine
    if eng is not None and not eng.alive:
        raise RolloutAssertion(f"the canary engine process exited; last log lines:\n"
                               f"{eng.tail()}")


def wait_until(ctx: ScenarioContext, name: str, ns: str, spec_seconds: float, what: str,
               check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll the Rollout until ``check(rollout)`` holds; fail with the runs' story."""
    deadline = time.monotonic() + wall(ctx, spec_seconds)
    while True:
        ro = get_rollout(ctx, name, ns)
        if check(ro):
            return ro
        _engine_check(ctx)
        if time.monotonic() > deadline:
            raise RolloutAssertion(_story(ctx, ro, f"expected {what}; not reached within "
                                                   f"{wall(ctx, spec_seconds):.0f}s wall"))
        time.sleep(0.1)


def wait_measurements(ctx: ScenarioContext, name: str, ns: str, n: int, phase: str) -> None:
    """The background run of the current revision has at least ``n`` measurements in
    ``phase``."""
    def ok(ro: dict[str, Any]) -> bool:
        for run in current_runs(ctx, ro):
            if (run["metadata"].get("labels") or {}).get("rollout-type") != "Background":
                continue
            for r in (run.get("status") or {}).get("metricResults") or []:
                if sum(1 for m in r.get("measurements") or [] if m.get("phase") == phase) >= n:
                    return True
        return False

    wait_until(ctx, name, ns, 10 * (n + 6), f"{n} {phase} measurements in the background "
               "AnalysisRun", ok)


def assert_one_run_per_analysis(ctx: ScenarioContext, name: str, ns: str, phase: str) -> None:
    """Each analysis the Rollout declares ran exactly once for this revision and ended in
    ``phase`` (a background run ends when the Rollout completes)."""
    def ok(ro: dict[str, Any]) -> bool:
        runs = current_runs(ctx, ro)
        return (len(runs) == declared_analyses(ro) and
                all((r.get("status") or {}).get("phase") == phase for r in runs))

    ro = wait_until(ctx, name, ns, 30, f"one {phase} AnalysisRun per analysis "
                    "for the current revision", ok)
    # Nothing may start after the end: hold the check for a few reconciles.
    time.sleep(20 * ctx.time_scale)
    if not ok(get_rollout(ctx, name, ns)):
        raise RolloutAssertion(_story(ctx, ro, "AnalysisRuns changed after the rollout ended"))


def assert_aborted_by_background(ctx: ScenarioContext, name: str, ns: str,
                                 metric: str) -> None:
    """Degraded, aborted by the background run; the run Failed on ``metric``; the Rollout's
    message names the metric and its status and events name the run."""
    def degraded(ro: dict[str, Any]) -> bool:
        return (ro.get("status") or {}).get("phase") == "Degraded"

    ro = wait_until(ctx, name, ns, 60, "phase Degraded", degraded)
    st = ro.get("status") or {}
    msg = st.get("message") or ""
    want = (f"RolloutAborted: Rollout aborted update to revision "
            f"{ro['metadata'].get('annotations', {}).get('rollout.argoproj.io/revision', '')}"
            .rstrip())
    # Argo stops calling an aborted rollout's runs "current" (status.canary drops them), so
    # the run is found as a user would: the Background run of this revision.
    runs = [r for r in current_runs(ctx, ro)
            if (r["metadata"].get("labels") or {}).get("rollout-type") == "Background"]
    run = runs[-1] if runs else None
    problems = []
    if not msg.startswith("RolloutAborted: Rollout aborted update to revision"):
        problems.append(f"message does not start with {want!r}")
    if f'Background analysis phase error/failed: Metric "{metric}" assessed Failed' not in msg:
        problems.append(f"message does not name the background analysis and metric {metric!r}")
    if run is None:
        problems.append("no Background AnalysisRun for this revision")
    else:
        rs = run.get("status") or {}
        if rs.get("phase") != "Failed":
            problems.append(f"run {run['metadata']['name']} is {rs.get('phase')}")
        res = next((r for r in rs.get("metricResults") or [] if r.get("name") == metric), None)
        if res is None or res.get("phase") != "Failed" or not res.get("failed"):
            problems.append(f"metric {metric!r} of {run['metadata']['name']} did not fail a "
                            "measurement")
        events = ctx.env.client().items("v1", "Event", ns)
        named = [e for e in events if e.get("reason") == "AnalysisRunFailed"
                 and (e.get("involvedObject") or {}).get("name") == name
                 and run["metadata"]["name"] in (e.get("message") or "")]
        if not named:
            problems.append(f"no AnalysisRunFailed event on the Rollout naming "
                            f"{run['metadata']['name']}")
    if problems:
        raise RolloutAssertion(_story(ctx, ro, "; ".join(problems)))


def set_rollout_revision_with_flag(ctx: ScenarioContext, name: str, ns: str, image: str,
                                   flag: str) -> None:
    """A new revision of the Rollout's first container: ``image`` and podinfo's ``flag``
    appended to its command (a JSON patch, as Rollouts take no strategic merge)."""
    ro = get_rollout(ctx, name, ns)
    container = ro["spec"]["template"]["spec"]["containers"][0]
    command = list(container.get("command") or ["./podinfo", "--port=9898"]) + [flag]
    patch = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image},
             {"op": "add", "path": "/spec/template/spec/containers/0/command", "value": command}]
    ctx.env.client().patch(API, "Rollout", name, patch, ns, "json")
    ctx.mark(f"new revision of rollout {name}: {image} with {flag}")
