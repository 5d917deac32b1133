"""Waits, actions and checks on Argo ``Rollout`` objects, read from the cluster and the recorded
timeline. The kubectl plugin verbs run through stock kubectl's plugin mechanism: a
``kubectl-argo-rollouts`` shim on PATH that runs ``canary rollouts``, so the seed's command lines
work as written; a real plugin found on PATH (kind, existing clusters) is used as installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from canary.harness import argo
from canary.harness import assertions as A
from canary.harness.canary_checks import engine_gone
from canary.harness.cluster import get_route
from canary.harness.context import ScenarioContext
from canary.harness.timeline import phase_changes, route_canary_weights
from canary.harness.wait import wait_for


def _plugin_bin(ctx: ScenarioContext) -> Path:
    bin_dir = Path(ctx.env.workdir) / "argo-bin"
    if not (bin_dir / argo.PLUGIN_EXECUTABLE).exists():
        argo.install_kubectl_plugin(bin_dir)
    return bin_dir


def run_plugin(ctx: ScenarioContext, command: str) -> str:
    line = argo.join_lines(command)
    if not argo.is_plugin_command(line):
        raise AssertionError(f"expected a `kubectl argo rollouts ...` command line, got: {line}")
    env = ctx.env.env_vars()
    if shutil.which(argo.PLUGIN_EXECUTABLE, path=env.get("PATH")) is None:
        env = argo.path_with(_plugin_bin(ctx), env)
    # Marked before it runs: the engine often acts on the patch before the plugin has exited.
    ctx.mark(line)
    p = subprocess.run(["/bin/sh", "-c", line], capture_output=True, text=True, env=env,
                       timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"command failed (exit {p.returncode}): {line}\n"
                             f"{p.stderr.strip() or p.stdout.strip()}")
    return p.stdout


def rollout_verb(ctx: ScenarioContext, verb: str, name: str, ns: str, full: bool) -> None:
    """The plugin verb's status patch, sent in-process by the same code `canary rollouts` runs:
    a pause of 10 spec seconds lasts 0.5 s on the sandbox, less than a CLI start-up can spare."""
    from canary.cli import rollouts as rollouts_cli

    client = ctx.env.client()
    ctx.mark(f"kubectl argo rollouts -n {ns} {verb} {name}" + (" --full" if full else ""))
    try:
        if verb == "promote":
            rollouts_cli.promote(client, ns, name, full=full)
        elif verb == "abort":
            rollouts_cli.abort(client, ns, name)
        else:
            rollouts_cli.retry(client, ns, name)
    except rollouts_cli.CliError as e:
        raise AssertionError(f"{verb} rollout {name}.{ns}: {e}") from None


def get_rollout(ctx: ScenarioContext, name: str, ns: str) -> dict[str, Any]:
    obj = ctx.env.client().get_or_none(argo.ROLLOUT_API, "Rollout", name, ns)
    if obj is None:
        raise A.RolloutAssertion(f"Rollout {name} in namespace {ns} does not exist")
    return obj


def rollout_budget(ctx: ScenarioContext, name: str, ns: str) -> float:
    """Wall seconds to wait for a Rollout: its timed pauses plus a 10 spec-second reconcile
    allowance per step, time-scaled, plus the start-up slack."""
    ro = get_rollout(ctx, name, ns)
    steps = len(((ro.get("spec") or {}).get("strategy") or {}).get("canary", {}).get("steps")
                or [])
    return ctx.wall(argo.pause_budget(ro) + 10 * (steps + 2))


def rollout_story(ctx: ScenarioContext, name: str, ns: str, why: str) -> str:
    tl = ctx.timeline()
    seen = [p for _, p in phase_changes(tl, name, ns)]
    ro = ctx.env.client().get_or_none(argo.ROLLOUT_API, "Rollout", name, ns) or {}
    evs = [f"{e.get('reason')}: {e.get('message', '')}"
           for e in tl.of("event", namespace=ns)][-8:]
    return (f"rollout {name}.{ns}: {why} (time scale {ctx.time_scale:g})\n"
            f"  now: {argo.rollout_state(ro).describe()}\n"
            f"  phases recorded: {seen or 'none'}\n"
            f"  last events:\n" + "\n".join(f"    - {m}" for m in evs))


def wait_rollout_state(ctx: ScenarioContext, name: str, ns: str, phase: str,
                       step: int | None, weight: int | None) -> None:
    """Until the Rollout's status shows the phase (and step index and canary weight, if given);
    the phase must have been entered after the previous action unless it is the state the
    Rollout is already in at the start of the scenario."""
    if phase not in argo.PHASES:
        raise AssertionError(f"phase {phase!r}: Argo Rollouts phases are "
                             f"{', '.join(argo.PHASES)}")
    ctx.record(ns)
    since = ctx.last_action
    want = f"phase {phase}" + (f", step {step}" if step is not None else "") + \
        (f", canary weight {weight}" if weight is not None else "")

    def changes() -> list[str]:
        return [p for t, p in phase_changes(ctx.timeline(), name, ns) if t >= since]

    def reached() -> bool | None:
        st = argo.rollout_state(get_rollout(ctx, name, ns))
        ok = (st.phase == phase
              and (phase in changes() or since <= ctx.started or phase != "Healthy")
              and (step is None or st.step == step) and (weight is None or st.weight == weight))
        return True if ok else None

    def aborted() -> str | None:
        # Degraded counts only once entered after the action (a retry starts from Degraded).
        st = argo.rollout_state(get_rollout(ctx, name, ns))
        if phase != "Degraded" and st.phase == "Degraded" and "Degraded" in changes():
            return f"expected {want}; degraded instead"
        return engine_gone(ctx)

    wait_for(reached, rollout_budget(ctx, name, ns), abort=aborted,
             story=lambda why: rollout_story(ctx, name, ns, why if "expected" in why
                                             else f"expected {want}; {why}"))


def check_message(ctx: ScenarioContext, name: str, ns: str, message: str) -> None:
    st = argo.rollout_state(get_rollout(ctx, name, ns))
    if message not in st.message:
        raise A.RolloutAssertion(f"rollout {name}.{ns} status.message\n  expected to contain: "
                                 f"{message}\n  observed: {st.message or '<empty>'}")


def check_weights_follow_steps(ctx: ScenarioContext, name: str, ns: str, route: str) -> None:
    """The canary weights recorded on the route during the last update equal the sequence
    derived from the Rollout's steps: 0, each setWeight, 100 at the end of the steps, 0 once
    the new revision is stable."""
    from canary.spec.rollout import expected_route_weights

    ro = get_rollout(ctx, name, ns)
    expected = expected_route_weights(ro)
    canary = argo.services_of(ro)[0]

    def observed_now() -> list[int]:
        start = argo.update_start(ctx.timeline(), name, ns)
        if start is None:
            raise A.RolloutAssertion(rollout_story(
                ctx, name, ns, "no update recorded (phase never left Healthy)"))
        return argo.route_trajectory(ctx.timeline(), route, start, None, ns, canary)

    try:
        # The route goes back to 0 just after the phase turns Healthy; one reconcile for it.
        wait_for(lambda: True if observed_now() == expected else None,
                 10 * ctx.time_scale + 2, story=str)
    except A.RolloutAssertion:
        pass  # told below, from what was recorded
    observed = observed_now()
    ctx.set_meta(expected_weights=expected, observed_weights=observed)
    if observed != expected:
        raise A.RolloutAssertion(
            f"HTTPRoute {route} canary weight sequence differs from the one the steps of "
            f"Rollout {name} imply\n  expected: {expected}\n  observed: {observed}\n"
            f"  ({A.describe_sequence_diff(expected, observed)})")


def check_route_weight_soon(ctx: ScenarioContext, route: str, ns: str, backend: str,
                            before_weight: int, after_weight: int) -> None:
    """The backend's weight in force at the previous action was ``before_weight`` and the
    recorded route reached ``after_weight`` within 2 spec seconds (plus 1 s wall for the
    watch): "at once" for a controller."""
    since = ctx.last_action
    bound = 2 * ctx.time_scale + 1.0

    def entries() -> list[dict[str, Any]]:
        return ctx.timeline().of("route", name=route, namespace=ns)

    def hit() -> float | None:
        return next((e["t"] for e in entries() if e["t"] >= since
                     and (e.get("backends") or {}).get(backend) == after_weight), None)

    try:
        at: float | None = wait_for(hit, ctx.wall(10), story=str)
    except A.RolloutAssertion:
        at = None
    before = [(e.get("backends") or {}).get(backend) for e in entries() if e["t"] < since]
    was = before[-1] if before else None
    if was != before_weight:
        raise A.RolloutAssertion(f"HTTPRoute {route}.{ns}: {backend} at the previous action\n"
                                 f"  expected: {before_weight}%\n  observed: {was}%")
    if at is None or at - since > bound:
        took = "never" if at is None else f"after {at - since:.2f}s"
        raise A.RolloutAssertion(f"HTTPRoute {route}.{ns}: {backend} at {after_weight}%\n"
                                 f"  expected: within {bound:.2f}s of the previous action\n"
                                 f"  observed: {took}")


def check_port_mismatch_reported(ctx: ScenarioContext, route: str, ns: str) -> None:
    """``check_route_backends`` reports every backendRef whose port its Service does not
    expose, naming the route, the backend, the port and the Service's ports."""
    from canary.spec.rollout import check_route_backends

    obj = get_route(ctx, route, ns)
    services = {f"{ns}/{s['metadata']['name']}": s
                for s in ctx.env.client().items("v1", "Service", ns)}
    mismatches = argo.port_mismatches(obj, services)
    if not mismatches:
        raise A.RolloutAssertion(f"HTTPRoute {route}.{ns}: every backendRef port is exposed by "
                                 "its Service; nothing to report")
    problems = check_route_backends(obj, services)
    report = "\n".join(problems)
    ctx.diagnostics[f"HTTPRoute {route} backend problems"] = report
    ctx.set_meta(route_problems=problems)
    print(f"canary harness: HTTPRoute {ns}/{route}:\n" + "\n".join(f"  {p}" for p in problems))
    missing = argo.missing_mentions(report, route, mismatches)
    if not problems or missing:
        raise A.RolloutAssertion(
            f"HTTPRoute {route}.{ns} backends {[(b, p) for b, p, _ in mismatches]} name ports "
            f"their Services do not expose\n  expected: a report naming the route, each "
            f"backend, its port and the Service's ports\n  observed report: "
            f"{report or '<none>'}\n  missing: {', '.join(missing)}")


def wait_condition(ctx: ScenarioContext, name: str, ns: str, ctype: str, text: str) -> None:
    def found() -> dict[str, Any] | None:
        c = argo.condition(get_rollout(ctx, name, ns), ctype)
        return c if c is not None and text in str(c.get("message", "")) else None

    def story(why: str) -> str:
        c = argo.condition(get_rollout(ctx, name, ns), ctype)
        return (f"rollout {name}.{ns} condition {ctype}\n  expected a message containing: "
                f"{text}\n  observed: {c.get('message') if c else '<no such condition>'}")

    c = wait_for(found, ctx.wall(10), poll=0.1, story=story)
    ctx.diagnostics[f"Rollout {name} condition {ctype}"] = str(c.get("message"))


def check_loadgen_status_share(ctx: ScenarioContext, source: str, ns: str, code: str,
                               bound: float, n: int) -> None:
    """Counts the load generator's answers from the previous action on, until ``n`` requests
    are in, and asserts the share answered with ``code``."""
    ctx.record(ns)
    since = ctx.last_action
    got: tuple[dict[str, int], int] | None = None

    def enough() -> tuple[dict[str, int], int] | None:
        nonlocal got
        rows = [e for e in ctx.timeline().of("client", namespace=ns)
                if e.get("source") == source and e["t"] >= since]
        if len(rows) < 2 or rows[-1]["requests"] < rows[0]["requests"]:
            return None  # too few samples, or restarted in between: wait for fresh counts
        first, last = rows[0], rows[-1]
        codes = {k: int(v) - int((first.get("by_status") or {}).get(k, 0))
                 for k, v in (last.get("by_status") or {}).items()}
        got = (codes, last["requests"] - first["requests"])
        return got if got[1] >= n else None

    codes, total = wait_for(enough, ctx.wall(60), poll=0.1, story=lambda why: (
        f"load generator {source}.{ns}: fewer than {n} requests recorded since the previous "
        f"action (got {got[1] if got else 0})"))
    share = 100.0 * codes.get(code, 0) / total if total else 0.0
    ctx.set_meta(**{f"{source}_status_codes": codes})
    if share < bound:
        raise A.RolloutAssertion(f"load generator {source}.{ns}: HTTP {code} share\n  expected: "
                                 f">= {bound:g}%\n  observed: {share:.1f}% of {total} requests, "
                                 f"by status {codes}")


def check_stable_image(ctx: ScenarioContext, name: str, ns: str, image: str) -> None:
    """The ReplicaSet named by status.stableRS (its pod-template hash) runs the image."""
    from canary.spec.rollout import HASH_LABEL

    stable = (get_rollout(ctx, name, ns).get("status") or {}).get("stableRS")
    if not stable:
        raise A.RolloutAssertion(f"rollout {name}.{ns} has no stable revision (status.stableRS)")
    rss = [rs for rs in ctx.env.client().items("apps/v1", "ReplicaSet", ns)
           if ((rs["metadata"].get("labels") or {}).get(HASH_LABEL) == stable)]
    images = [c.get("image") for rs in rss
              for c in rs["spec"]["template"]["spec"]["containers"]]
    if image not in images:
        raise A.RolloutAssertion(f"rollout {name}.{ns}: stable ReplicaSet ({stable}) image\n"
                                 f"  expected: {image}\n  observed: {images or 'no ReplicaSet'}")


def check_services_pinned(ctx: ScenarioContext, names: list[str], ns: str, name: str) -> None:
    from canary.spec.rollout import HASH_LABEL

    client = ctx.env.client()
    owned = {rs["metadata"]["labels"].get(HASH_LABEL)
             for rs in client.items("apps/v1", "ReplicaSet", ns)
             if any(o.get("kind") == "Rollout" and o.get("name") == name
                    for o in rs["metadata"].get("ownerReferences") or [])}
    services = {f"{n}.{ns}": client.get_or_none("v1", "Service", n, ns) for n in names}
    A.assert_services_pinned(name, services, client.items("v1", "Pod", ns), owned, HASH_LABEL)


def check_pauses_held(ctx: ScenarioContext, name: str, ns: str) -> None:
    """During the last update the route kept the weight before each `pause: {duration}` for
    at least that duration (time-scaled) and at most one reconcile more."""
    ro = get_rollout(ctx, name, ns)
    from canary.spec.rollout import parse_rollout

    # httpRoute or the first of httpRoutes, as the plugin config names them
    routes = [(r.name, r.namespace) for r in parse_rollout(ro).routes]
    tl = ctx.timeline()
    start = argo.update_start(tl, name, ns)
    if start is None or not routes or not routes[0][0]:
        raise A.RolloutAssertion(rollout_story(ctx, name, ns, "no update or route recorded"))
    compressed: list[tuple[float, int]] = []
    for t, w in route_canary_weights(tl, routes[0][0], routes[0][1], since=start,
                                     canary=argo.services_of(ro)[0]):
        if not compressed or compressed[-1][1] != w:
            compressed.append((t, w))
    try:
        rows = A.assert_pauses_held(argo.timed_pauses(ro), argo.weight_holds(compressed),
                                    ctx.time_scale)
    except A.RolloutAssertion as e:
        raise A.RolloutAssertion(f"rollout {name}.{ns}: {e}") from None
    ctx.set_meta(pause_holds=rows)
