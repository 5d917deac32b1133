"""The step vocabulary. Every step is a thin call into ``canary.harness``; the plugin registers
this module, so any feature file can use these steps after ``pip install`` with no Python code.
See docs/harness.md for the list with examples."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests
import yaml
from pytest_bdd import given, parsers, then, when

from canary.clock import parse_duration
from canary.harness import assertions as A
from canary.harness.context import ScenarioContext, objects_in
from canary.harness.expected import analysis_seconds, expected_weights
from canary.harness.manifests import demo_manifest, resolve_manifest
from canary.harness.timeline import first_phase_time, phase_changes, rollout_window
from canary.harness.traffic import image_version, share_by_step

CANARY = "flagger.app/v1beta1"
WALL_SLACK = 45.0  # seconds added to every time-scaled wait: process start-up, 2-core CI


# -- helpers --------------------------------------------------------------------------------


def _q(s: str) -> str:
    return s.strip().strip('"')


def _wall(ctx: ScenarioContext, spec_seconds: float) -> float:
    return spec_seconds * ctx.time_scale + WALL_SLACK


def _get_canary(ctx: ScenarioContext, name: str, ns: str) -> dict[str, Any]:
    obj = ctx.env.client().get_or_none(CANARY, "Canary", name, ns)
    if obj is None:
        raise A.RolloutAssertion(f"Canary {name} in namespace {ns} does not exist")
    return obj


def _route_name(canary: dict[str, Any]) -> str:
    spec = canary.get("spec") or {}
    return (spec.get("service") or {}).get("name") or (spec.get("targetRef") or {})["name"]


def _engine_check(ctx: ScenarioContext) -> None:
    eng = ctx.env.engine
    if eng is not None and not eng.alive:
        raise A.RolloutAssertion(f"the canary engine process exited; last log lines:\n"
                                 f"{eng.tail()}")


def _apply_text(ctx: ScenarioContext, text: str, namespace: str | None = None) -> str:
    refs = objects_in(text, namespace)
    args = ["apply", "-f", "-"] + (["-n", namespace] if namespace else [])
    out = ctx.env.kubectl(args, input=text).stdout
    ctx.applied.extend(refs)
    for ns in {r.namespace for r in refs if r.namespace}:
        ctx.record(ns)
    ctx.mark("kubectl apply: " + ", ".join(f"{r.kind}/{r.name}" for r in refs))
    return out


def _rewrite_namespace(text: str, namespace: str) -> str:
    docs = [d for d in yaml.safe_load_all(text) if d]
    for d in docs:
        d.setdefault("metadata", {})["namespace"] = namespace
    return yaml.safe_dump_all(docs, sort_keys=False)


def _wait_phase(ctx: ScenarioContext, name: str, ns: str, phase: str, since: float,
                timeout: float) -> float:
    """Wait until the recorded timeline shows ``phase`` entered at or after ``since``."""
    ctx.record(ns)
    deadline = time.monotonic() + timeout
    while True:
        tl = ctx.timeline()
        t = first_phase_time(tl, name, phase, after=since, namespace=ns)
        if t is None:
            # The recorder lists current state when it starts; an already-reached phase counts
            # only if it was entered after the step's reference point.
            obj = ctx.env.client().get_or_none(CANARY, "Canary", name, ns)
            if obj and (obj.get("status") or {}).get("phase") == phase and since <= ctx.started:
                return time.time()
        else:
            return t
        if phase != "Failed" and any(p == "Failed" for t2, p in
                                     phase_changes(tl, name, ns) if t2 >= since):
            raise A.RolloutAssertion(_phase_story(ctx, name, ns, phase, since,
                                                  "the canary failed instead"))
        _engine_check(ctx)
        if time.monotonic() > deadline:
            raise A.RolloutAssertion(_phase_story(
                ctx, name, ns, phase, since,
                f"not reached within {timeout:.0f}s wall (time scale {ctx.time_scale:g})"))
        time.sleep(0.05)


def _phase_story(ctx: ScenarioContext, name: str, ns: str, phase: str, since: float,
                 why: str) -> str:
    tl = ctx.timeline()
    seen = [p for t, p in phase_changes(tl, name, ns) if t >= since]
    obj = ctx.env.client().get_or_none(CANARY, "Canary", name, ns) or {}
    evs = [e.get("message", "") for e in tl.of("event", namespace=ns)][-8:]
    return (f"canary {name}.{ns}: phase {phase} {why}\n"
            f"  phases seen since the step began: {seen or 'none'}\n"
            f"  status now: {json.dumps(obj.get('status') or {}, default=str)[:600]}\n"
            f"  last events:\n" + "\n".join(f"    - {m}" for m in evs))


def _phase_budget(ctx: ScenarioContext, name: str, ns: str) -> float:
    canary = _get_canary(ctx, name, ns)
    interval, threshold = analysis_seconds(canary)
    try:
        steps = len(expected_weights(canary).weights)
    except ValueError:
        steps = 10
    return _wall(ctx, (steps + threshold + 10) * interval)


# -- cluster, namespaces, manifests ---------------------------------------------------------


@given(parsers.re(r"a cluster with Linkerd(?:,| and) Linkerd-Viz(?: and the canary engine)?"))
def cluster_ready(canary_scenario: ScenarioContext) -> None:
    canary_scenario.env.client().items("v1", "Namespace")


@given(parsers.parse('the namespace "{ns}" exists'))
@when(parsers.parse('I create the namespace "{ns}"'))
def namespace_exists(canary_scenario: ScenarioContext, ns: str) -> None:
    ctx = canary_scenario
    if ctx.env.client().get_or_none("v1", "Namespace", ns) is None:
        ctx.env.kubectl(["create", "namespace", ns])
    ctx.record(ns)
    ctx.mark(f"namespace {ns}")


@given(parsers.parse('the podinfo demo is deployed in namespace "{ns}"'))
def demo_deployed(canary_scenario: ScenarioContext, ns: str) -> None:
    ctx = canary_scenario
    text = demo_manifest().read_text()
    if ns != "test":
        text = _rewrite_namespace(text, ns)
    _apply_text(ctx, text)
    for dep in ("podinfo", "frontend", "load"):
        deployment_rolled_out(ctx, dep, ns)


@given(parsers.parse('I apply the manifest "{path}"'))
@when(parsers.parse('I apply the manifest "{path}"'))
def apply_manifest(canary_scenario: ScenarioContext, path: str) -> None:
    ctx = canary_scenario
    p = resolve_manifest(path, [ctx.feature_dir, Path.cwd()])
    _apply_text(ctx, p.read_text())


@given("I apply:")
@when("I apply:")
def apply_docstring(canary_scenario: ScenarioContext, docstring: str) -> None:
    _apply_text(canary_scenario, docstring)


@given(parsers.parse('I run "{command}"'))
@when(parsers.parse('I run "{command}"'))
def run_command(canary_scenario: ScenarioContext, command: str) -> None:
    _run(canary_scenario, command)


@given("I run:")
@when("I run:")
def run_docstring(canary_scenario: ScenarioContext, docstring: str) -> None:
    _run(canary_scenario, docstring)


def _run(ctx: ScenarioContext, command: str) -> None:
    p = ctx.env.shell(command)
    if p.returncode != 0:
        raise AssertionError(f"command failed (exit {p.returncode}): {command}\n"
                             f"{p.stderr.strip() or p.stdout.strip()}")
    ctx.mark(command.strip())


@given(parsers.parse('the deployment "{name}" in namespace "{ns}" is rolled out'))
@then(parsers.parse('the deployment "{name}" in namespace "{ns}" is rolled out'))
def deployment_rolled_out(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    ctx = canary_scenario
    timeout = int(WALL_SLACK + 600 * ctx.time_scale)
    ctx.env.kubectl(["-n", ns, "rollout", "status", f"deployment/{name}",
                     f"--timeout={timeout}s"], timeout=timeout + 10)


@given(parsers.parse('Prometheus has Linkerd\'s metrics for deployment "{name}" in namespace '
                     '"{ns}"'))
@then(parsers.parse('Prometheus has Linkerd\'s metrics for deployment "{name}" in namespace '
                    '"{ns}"'))
def metrics_flowing(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    """Wait until Prometheus answers the success-rate query for the deployment: the metrics
    pipeline (proxy -> scrape -> query) works before a release starts, as a user checks
    `linkerd viz stat` first. Without it the first analyses fail with "no values found"."""
    from canary.harness.recorder import TimelineRecorder

    ctx = canary_scenario
    url = ctx.env.prometheus_url()
    if not url:
        raise A.RolloutAssertion("Prometheus (prometheus.linkerd-viz:9090) is not reachable")
    probe = TimelineRecorder(ctx.env.client(), None, prometheus_url=url,  # type: ignore[arg-type]
                             time_scale=ctx.time_scale)
    deadline = time.monotonic() + _wall(ctx, 120)
    while probe.query_success_rate(ns, name) is None:
        if time.monotonic() > deadline:
            raise A.RolloutAssertion(f"Prometheus at {url} has no response_total series for "
                                     f"deployment {name} in namespace {ns} (is traffic flowing "
                                     f"through the mesh?)")
        time.sleep(0.1)


# -- changing the workload -----------------------------------------------------------------


@when(parsers.parse('I set the image of deployment "{name}" container "{container}" to '
                    '"{image}" in namespace "{ns}"'))
def set_image(canary_scenario: ScenarioContext, name: str, container: str, image: str,
              ns: str) -> None:
    _run(canary_scenario, f"kubectl -n {ns} set image deployment/{name} {container}={image}")


@when(parsers.parse('I start a new revision of deployment "{name}" in namespace "{ns}" with '
                    'image "{image}" and podinfo\'s "{flag}" flag'))
def new_revision_with_flag(canary_scenario: ScenarioContext, name: str, ns: str, image: str,
                           flag: str) -> None:
    ctx = canary_scenario
    dep = ctx.env.client().get("apps/v1", "Deployment", name, ns)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    command = list(container.get("command") or ["./podinfo", "--port=9898"]) + [flag]
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": container["name"], "image": image, "command": command}]}}}}
    ctx.env.kubectl(["-n", ns, "patch", "deployment", name, "--type=strategic",
                     "-p", json.dumps(patch)])
    ctx.mark(f"new revision of {name}: {image} with {flag}")


@when(parsers.parse('I send load to "{url}" from a meshed load generator "{name}" in namespace '
                    '"{ns}"'))
def send_fault_load(canary_scenario: ScenarioContext, url: str, name: str, ns: str) -> None:
    manifest = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name},
                                           "annotations": {"linkerd.io/inject": "enabled"}},
                              "spec": {"containers": [{
                                  "name": "slow-cooker", "image": "buoyantio/slow_cooker:1.2.0",
                                  "command": ["/bin/sh", "-c",
                                              f"slow_cooker -qps 10 -concurrency 2 {url}"]}]}}}}
    _apply_text(canary_scenario, yaml.safe_dump(manifest))


# -- waiting ------------------------------------------------------------------------------------


@given(parsers.re(r'the canary "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" reaches phase '
                 r'"(?P<phase>[^"]+)"(?: within (?P<within>\S+))?$'))
@then(parsers.re(r'the canary "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" reaches phase '
                 r'"(?P<phase>[^"]+)"(?: within (?P<within>\S+))?$'))
@when(parsers.re(r'the canary "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" reaches phase '
                 r'"(?P<phase>[^"]+)"(?: within (?P<within>\S+))?$'))
def canary_reaches_phase(canary_scenario: ScenarioContext, name: str, ns: str, phase: str,
                         within: str | None) -> None:
    ctx = canary_scenario
    if within:
        try:
            timeout = _wall(ctx, parse_duration(within))
        except ValueError:
            raise AssertionError(f"'within {within}': expected a duration like 90s or 5m") \
                from None
    else:
        timeout = _phase_budget(ctx, name, ns)
    _wait_phase(ctx, name, ns, phase, ctx.last_action, timeout)


@then(parsers.parse('a new rollout of canary "{name}" in namespace "{ns}" starts'))
def new_rollout_starts(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    ctx = canary_scenario
    _wait_phase(ctx, name, ns, "Progressing", ctx.last_action, _phase_budget(ctx, name, ns))


# -- asserting the rollout ------------------------------------------------------------------


@then(parsers.parse('the canary "{name}" in namespace "{ns}" moved through the weights its '
                    'spec declares'))
def weights_follow_spec(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    ctx = canary_scenario
    canary = _get_canary(ctx, name, ns)
    plan = expected_weights(canary)
    tl = ctx.timeline()
    start, end = _last_rollout(tl, name, ns)
    observed, traj = A.observed_steps(tl, _route_name(canary), start, end, ns)
    ctx.set_meta(expected_weights=list(plan.weights), observed_weights=observed)
    A.assert_weight_sequence(plan, observed, trajectory=traj)


def _last_rollout(tl: Any, name: str, ns: str) -> tuple[float, float | None]:
    ph = phase_changes(tl, name, ns)
    n = sum(1 for i, (_, p) in enumerate(ph)
            if p == "Progressing" and (i == 0 or ph[i - 1][1] != "Progressing"))
    return rollout_window(tl, name, ns, nth=max(n, 1))


@then(parsers.parse('the HTTPRoute "{route}" in namespace "{ns}" sends {p:d}% to "{a}" and '
                    '{c:d}% to "{b}"'))
def route_weights(canary_scenario: ScenarioContext, route: str, ns: str, p: int, a: str, c: int,
                  b: str) -> None:
    from canary.harness.recorder import HTTPROUTE_VERSIONS, route_backends

    client = canary_scenario.env.client()
    obj = None
    for v in HTTPROUTE_VERSIONS:
        try:
            obj = client.get_or_none(v, "HTTPRoute", route, ns)
        except Exception:  # noqa: BLE001 - version not served, try the next
            continue
        if obj is not None:
            break
    if obj is None:
        raise A.RolloutAssertion(f"HTTPRoute {route} in namespace {ns} does not exist")
    A.assert_route_weights(route_backends(obj), {a: p, b: c}, route)


@then(parsers.parse('the clients\' traffic to canary "{name}" in namespace "{ns}" followed each '
                    'weight step'))
def traffic_follows(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    ctx = canary_scenario
    canary = _get_canary(ctx, name, ns)
    target = canary["spec"]["targetRef"]["name"]
    dep = ctx.env.client().get("apps/v1", "Deployment", target, ns)
    version = image_version(dep["spec"]["template"]["spec"]["containers"][0]["image"])
    ctx.set_meta(canary_version=version)
    tl = ctx.timeline()
    start, end = _last_rollout(tl, name, ns)
    rows = share_by_step(tl, _route_name(canary), version, start, end, source="load",
                         namespace=ns)
    A.assert_traffic_follows(rows)


@then(parsers.parse('the events of canary "{name}" in namespace "{ns}" include, in order:'))
def events_in_order(canary_scenario: ScenarioContext, name: str, ns: str,
                    docstring: str) -> None:
    wanted = [ln.strip() for ln in docstring.splitlines() if ln.strip()]
    ctx = canary_scenario
    deadline = time.monotonic() + _wall(ctx, 0)
    while True:
        try:
            A.assert_events_in_order(ctx.timeline(), wanted, obj=f"Canary/{name}")
            return
        except A.RolloutAssertion:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@then(parsers.parse('the event "{message}" is recorded for canary "{name}" in namespace "{ns}"'))
def event_recorded(canary_scenario: ScenarioContext, message: str, name: str, ns: str) -> None:
    events_in_order(canary_scenario, name, ns, message)


@then(parsers.re(r'the canary "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" was rolled back '
                 r'within threshold (?:x|×) interval plus one tick'))
def rolled_back_in_time(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    ctx = canary_scenario
    canary = _get_canary(ctx, name, ns)
    interval, threshold = analysis_seconds(canary)
    tl = ctx.timeline()
    start, end = _last_rollout(tl, name, ns)
    first_fail = next((e["t"] for e in tl.of("canary", name=name, namespace=ns)
                       if e["t"] >= start and (e.get("failedChecks") or 0) >= 1), None)
    failed_at = first_phase_time(tl, name, "Failed", after=start, namespace=ns)
    took = A.assert_rollback_within(first_fail, failed_at, interval=interval,
                                    threshold=threshold, time_scale=ctx.time_scale)
    ctx.set_meta(rollback_seconds=round(took, 2))


@then(parsers.parse('the canary "{name}" in namespace "{ns}" was rolled back one tick after '
                    'its failed checks reached the threshold'))
def rolled_back_at_threshold(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    ctx = canary_scenario
    interval, threshold = analysis_seconds(_get_canary(ctx, name, ns))
    tl = ctx.timeline()
    start, _ = _last_rollout(tl, name, ns)
    reached = next((e["t"] for e in tl.of("canary", name=name, namespace=ns)
                    if e["t"] >= start and (e.get("failedChecks") or 0) >= threshold), None)
    failed_at = first_phase_time(tl, name, "Failed", after=start, namespace=ns)
    A.assert_rollback_at_threshold(reached, failed_at, interval=interval, threshold=threshold,
                                   time_scale=ctx.time_scale)


@then(parsers.re(r'the load generator "(?P<source>[^"]+)" in namespace "(?P<ns>[^"]+)" saw at '
                 r'most (?P<bound>[\d.]+)% failed requests during the rollout of canary '
                 r'"(?P<name>[^"]+)"'))
def failure_share(canary_scenario: ScenarioContext, source: str, ns: str, bound: str,
                  name: str) -> None:
    ctx = canary_scenario
    tl = ctx.timeline()
    start, end = _last_rollout(tl, name, ns)
    A.assert_failure_share(tl, start, end, float(bound), source=source)


@then(parsers.parse('the deployment "{name}" in namespace "{ns}" runs image "{image}"'))
def deployment_image(canary_scenario: ScenarioContext, name: str, ns: str, image: str) -> None:
    dep = canary_scenario.env.client().get_or_none("apps/v1", "Deployment", name, ns)
    if dep is None:
        raise A.RolloutAssertion(f"deployment {name} in namespace {ns} does not exist")
    images = [c.get("image") for c in dep["spec"]["template"]["spec"]["containers"]]
    if image not in images:
        raise A.RolloutAssertion(f"deployment {name}.{ns} image\n  expected: {image}\n"
                                 f"  observed: {', '.join(map(str, images))}")


@then(parsers.parse('the deployment "{name}" in namespace "{ns}" has {n:d} replicas'))
def deployment_replicas(canary_scenario: ScenarioContext, name: str, ns: str, n: int) -> None:
    dep = canary_scenario.env.client().get_or_none("apps/v1", "Deployment", name, ns)
    if dep is None:
        raise A.RolloutAssertion(f"deployment {name} in namespace {ns} does not exist")
    got = (dep.get("spec") or {}).get("replicas", 1)
    if got != n:
        raise A.RolloutAssertion(f"deployment {name}.{ns} spec.replicas\n  expected: {n}\n"
                                 f"  observed: {got}")


@then(parsers.parse('the {kind} "{name}" exists in namespace "{ns}"'))
def object_exists(canary_scenario: ScenarioContext, kind: str, name: str, ns: str) -> None:
    p = canary_scenario.env.kubectl(["-n", ns, "get", kind, name, "-o", "name"], check=False)
    if p.returncode != 0:
        raise A.RolloutAssertion(f"{kind} {name} in namespace {ns} does not exist: "
                                 f"{p.stderr.strip()}")


@then(parsers.parse('the services "{names}" exist in namespace "{ns}"'))
def services_exist(canary_scenario: ScenarioContext, names: str, ns: str) -> None:
    for n in [x.strip() for x in names.split(",") if x.strip()]:
        object_exists(canary_scenario, "service", n, ns)


@then(parsers.parse('the frontend in namespace "{ns}" answers with version "{version}"'))
def frontend_version(canary_scenario: ScenarioContext, ns: str, version: str) -> None:
    ctx = canary_scenario
    url = ctx.env.resolve_url(f"http://frontend.{ns}:8080/", ns)
    seen: dict[str, int] = {}
    for _ in range(20):
        try:
            v = requests.get(url, timeout=5, headers={"Accept": "application/json"}).json()
            seen[str(v.get("version"))] = seen.get(str(v.get("version")), 0) + 1
        except (requests.RequestException, ValueError) as e:
            seen[f"error: {type(e).__name__}"] = seen.get(f"error: {type(e).__name__}", 0) + 1
    if set(seen) != {version}:
        raise A.RolloutAssertion(f"frontend answers in namespace {ns}\n  expected: every answer "
                                 f"from version {version}\n  observed (20 requests): {seen}")


# -- cleanup ------------------------------------------------------------------------------------


@then(parsers.parse('the objects the engine generated for canary "{name}" in namespace "{ns}" '
                    'are gone'))
def generated_gone(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    from canary.harness.recorder import HTTPROUTE_VERSIONS

    ctx = canary_scenario
    # The Canary is deleted by now; names follow Flagger's conventions for the demo.
    client = ctx.env.client()
    wanted = [("apps/v1", "Deployment", f"{name}-primary"), ("v1", "Service", f"{name}-primary"),
              ("v1", "Service", f"{name}-canary"), (HTTPROUTE_VERSIONS[0], "HTTPRoute", name)]
    deadline = time.monotonic() + _wall(ctx, 0)
    while True:
        left = []
        for av, kind, n in wanted:
            try:
                if client.get_or_none(av, kind, n, ns) is not None:
                    left.append(f"{kind} {n}")
            except Exception:  # noqa: BLE001 - kind not served: nothing left of it
                continue
        if not left:
            return
        if time.monotonic() > deadline:
            A.assert_nothing_left([f"{x} in namespace {ns} (owned by the deleted Canary)"
                                   for x in left])
        time.sleep(0.1)


@then("nothing the scenario created remains")
def nothing_left(canary_scenario: ScenarioContext) -> None:
    A.assert_nothing_left(canary_scenario.cleanup())


@then(parsers.parse('the namespace "{ns}" is gone'))
def namespace_gone(canary_scenario: ScenarioContext, ns: str) -> None:
    ctx = canary_scenario
    deadline = time.monotonic() + _wall(ctx, 0) + 30
    while ctx.env.client().get_or_none("v1", "Namespace", ns) is not None:
        if time.monotonic() > deadline:
            A.assert_nothing_left([f"namespace {ns}"])
        time.sleep(0.2)


@when(parsers.parse('a pytest run of "{feature}" is interrupted with SIGTERM once canary '
                    '"{name}" in namespace "{ns}" is "{phase}"'))
def interrupted_run(canary_scenario: ScenarioContext, feature: str, name: str, ns: str,
                    phase: str) -> None:
    ctx = canary_scenario
    path = resolve_manifest(feature, [ctx.feature_dir, Path.cwd()])
    out_dir = Path(ctx.env.workdir) / "interrupted-run"
    cmd = [sys.executable, "-m", "pytest", str(path), "-p", "no:cacheprovider", "-q",
           "--env", "existing", "--kubeconfig", str(ctx.env.kubeconfig),
           "--allow-existing-cluster", "--no-engine", "--time-scale", str(ctx.time_scale),
           "--report-dir", str(out_dir), "-o", "testpaths=", "--rootdir", str(path.parent)]
    log = out_dir / "pytest.log"
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx.record(ns)
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    try:
        _wait_phase(ctx, name, ns, phase, ctx.last_action, _wall(ctx, 600))
        ctx.mark(f"SIGTERM to pytest pid {proc.pid}")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    except BaseException:
        proc.kill()
        proc.wait(10)
        raise
    finally:
        ctx.diagnostics["interrupted pytest run"] = log.read_text(errors="replace")
