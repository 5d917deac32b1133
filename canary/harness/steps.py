"""The step vocabulary. Every step is a thin call into ``canary.harness``; the plugin registers
this module, so any feature file can use these steps after ``pip install`` with no Python code.
See docs/harness.md for the list with examples."""

from __future__ import annotations

import json
import shutil
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
    namespace_exists(ctx, ns)  # the tutorial creates it first; so does this step
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


# ============================================================================================
# -- Argo Rollouts ----------------------------------------------------------------------------
# Steps for `argoproj.io/v1alpha1` Rollouts (features/argo_rollout.feature). The kubectl plugin
# verbs run through stock kubectl's plugin mechanism: a `kubectl-argo-rollouts` shim on PATH
# that runs `canary rollouts`, so the seed's command lines work as written.


def _argo_bin(ctx: ScenarioContext) -> Path:
    from canary.harness import argo

    bin_dir = Path(ctx.env.workdir) / "argo-bin"
    if not (bin_dir / argo.PLUGIN_EXECUTABLE).exists():
        argo.install_kubectl_plugin(bin_dir)
    return bin_dir


def _run_plugin(ctx: ScenarioContext, command: str) -> str:
    from canary.harness import argo

    line = argo.join_lines(command)
    if not argo.is_plugin_command(line):
        raise AssertionError(f"expected a `kubectl argo rollouts ...` command line, got: {line}")
    env = ctx.env.env_vars()
    # A real kubectl-argo-rollouts on PATH (kind, existing clusters) is used as installed.
    if shutil.which(argo.PLUGIN_EXECUTABLE, path=env.get("PATH")) is None:
        env = argo.path_with(_argo_bin(ctx), env)
    # Marked before it runs: the engine often acts on the patch before the plugin has exited.
    ctx.mark(line)
    p = subprocess.run(["/bin/sh", "-c", line], capture_output=True, text=True, env=env,
                       timeout=60)
    if p.returncode != 0:
        raise AssertionError(f"command failed (exit {p.returncode}): {line}\n"
                             f"{p.stderr.strip() or p.stdout.strip()}")
    return p.stdout


def _get_rollout(ctx: ScenarioContext, name: str, ns: str) -> dict[str, Any]:
    from canary.harness.argo import ROLLOUT_API

    obj = ctx.env.client().get_or_none(ROLLOUT_API, "Rollout", name, ns)
    if obj is None:
        raise A.RolloutAssertion(f"Rollout {name} in namespace {ns} does not exist")
    return obj


def _rollout_budget(ctx: ScenarioContext, name: str, ns: str) -> float:
    """Wall seconds to wait for a Rollout: its timed pauses plus a 10 spec-second reconcile
    allowance per step, time-scaled, plus the start-up slack."""
    from canary.harness.argo import pause_budget

    ro = _get_rollout(ctx, name, ns)
    steps = len(((ro.get("spec") or {}).get("strategy") or {}).get("canary", {}).get("steps")
                or [])
    return _wall(ctx, pause_budget(ro) + 10 * (steps + 2))


def _rollout_story(ctx: ScenarioContext, name: str, ns: str, why: str) -> str:
    from canary.harness.argo import rollout_state

    tl = ctx.timeline()
    seen = [p for _, p in phase_changes(tl, name, ns)]
    ro = ctx.env.client().get_or_none("argoproj.io/v1alpha1", "Rollout", name, ns) or {}
    evs = [f"{e.get('reason')}: {e.get('message', '')}"
           for e in tl.of("event", namespace=ns)][-8:]
    return (f"rollout {name}.{ns}: {why}\n"
            f"  now: {rollout_state(ro).describe()}\n"
            f"  phases recorded: {seen or 'none'}\n"
            f"  last events:\n" + "\n".join(f"    - {m}" for m in evs))


@when(parsers.re(r'I run "(?P<command>kubectl argo rollouts [^"]+)" with the kubectl plugin$'))
@given(parsers.re(r'I run "(?P<command>kubectl argo rollouts [^"]+)" with the kubectl plugin$'))
def run_plugin_command(canary_scenario: ScenarioContext, command: str) -> None:
    _run_plugin(canary_scenario, command)


@when("I run with the kubectl plugin:")
def run_plugin_docstring(canary_scenario: ScenarioContext, docstring: str) -> None:
    _run_plugin(canary_scenario, docstring)


@when(parsers.re(r'I (?P<verb>promote|abort|retry) the rollout "(?P<name>[^"]+)" in namespace '
                 r'"(?P<ns>[^"]+)"(?P<full> fully)?$'))
def rollout_verb(canary_scenario: ScenarioContext, verb: str, name: str, ns: str,
                 full: str | None) -> None:
    """The plugin verb's status patch, sent in-process by the same code `canary rollouts` runs:
    a pause of 10 spec seconds lasts 0.5 s on the sandbox, less than a CLI start-up can spare."""
    from canary.controller import rollouts_cli

    ctx = canary_scenario
    client = ctx.env.client()
    ctx.mark(f"kubectl argo rollouts -n {ns} {verb} {name}" + (" --full" if full else ""))
    try:
        if verb == "promote":
            rollouts_cli.promote(client, ns, name, full=bool(full))
        elif verb == "abort":
            rollouts_cli.abort(client, ns, name)
        else:
            rollouts_cli.retry(client, ns, name)
    except rollouts_cli.CliError as e:
        raise AssertionError(f"{verb} rollout {name}.{ns}: {e}") from None


@given(parsers.re(r'the rollout "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" (?:is|becomes) '
                 r'"(?P<phase>[^"]+)"(?: at step (?P<step>\d+))?(?: with canary weight '
                 r'(?P<weight>\d+))?$'))
@when(parsers.re(r'the rollout "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" (?:is|becomes) '
                 r'"(?P<phase>[^"]+)"(?: at step (?P<step>\d+))?(?: with canary weight '
                 r'(?P<weight>\d+))?$'))
@then(parsers.re(r'the rollout "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" (?:is|becomes) '
                 r'"(?P<phase>[^"]+)"(?: at step (?P<step>\d+))?(?: with canary weight '
                 r'(?P<weight>\d+))?$'))
def rollout_state_is(canary_scenario: ScenarioContext, name: str, ns: str, phase: str,
                     step: str | None, weight: str | None) -> None:
    """Waits until the Rollout's status shows the phase (and step index and canary weight, if
    given); the phase must have been entered after the previous action unless it is the state
    the Rollout is already in at the start of the scenario."""
    from canary.harness.argo import PHASES, rollout_state

    ctx = canary_scenario
    if phase not in PHASES:
        raise AssertionError(f"phase {phase!r}: Argo Rollouts phases are {', '.join(PHASES)}")
    ctx.record(ns)
    since = ctx.last_action
    deadline = time.monotonic() + _rollout_budget(ctx, name, ns)
    want = f"phase {phase}" + (f", step {step}" if step else "") + \
        (f", canary weight {weight}" if weight else "")
    while True:
        st = rollout_state(_get_rollout(ctx, name, ns))
        changes = [p for t, p in phase_changes(ctx.timeline(), name, ns) if t >= since]
        entered = phase in changes
        if (st.phase == phase and (entered or since <= ctx.started or phase != "Healthy")
                and (step is None or st.step == int(step))
                and (weight is None or st.weight == int(weight))):
            return
        # Degraded counts only once entered after the action (a retry starts from Degraded).
        if phase != "Degraded" and st.phase == "Degraded" and "Degraded" in changes:
            raise A.RolloutAssertion(_rollout_story(ctx, name, ns,
                                                    f"expected {want}; degraded instead"))
        _engine_check(ctx)
        if time.monotonic() > deadline:
            raise A.RolloutAssertion(_rollout_story(
                ctx, name, ns, f"expected {want}; not reached within "
                f"{_rollout_budget(ctx, name, ns):.0f}s wall (time scale {ctx.time_scale:g})"))
        time.sleep(0.05)


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" says "{message}"'))
def rollout_message(canary_scenario: ScenarioContext, name: str, ns: str, message: str) -> None:
    from canary.harness.argo import rollout_state

    st = rollout_state(_get_rollout(canary_scenario, name, ns))
    if message not in st.message:
        raise A.RolloutAssertion(f"rollout {name}.{ns} status.message\n  expected to contain: "
                                 f"{message}\n  observed: {st.message or '<empty>'}")


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" moved the HTTPRoute "{route}" '
                    'through the weights its steps declare'))
def rollout_weights_follow_steps(canary_scenario: ScenarioContext, name: str, ns: str,
                                 route: str) -> None:
    """The canary weights recorded on the route during the last update equal the sequence
    derived from the Rollout's steps (``expected_route_weights``): 0, each setWeight, 100 at
    the end of the steps, 0 once the new revision is stable."""
    from canary.harness.argo import route_trajectory, update_start
    from canary.spec.rollout import expected_route_weights

    ctx = canary_scenario
    ro = _get_rollout(ctx, name, ns)
    expected = expected_route_weights(ro)
    # The route goes back to 0 just after the phase turns Healthy; allow one reconcile for it.
    deadline = time.monotonic() + _wall(ctx, 10) - WALL_SLACK + 2
    while True:
        tl = ctx.timeline()
        start = update_start(tl, name, ns)
        if start is None:
            raise A.RolloutAssertion(_rollout_story(ctx, name, ns,
                                                    "no update recorded (phase never left "
                                                    "Healthy)"))
        observed = route_trajectory(tl, route, start, None, ns)
        if observed == expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    ctx.set_meta(expected_weights=expected, observed_weights=observed)
    if observed != expected:
        raise A.RolloutAssertion(
            f"HTTPRoute {route} canary weight sequence differs from the one the steps of "
            f"Rollout {name} imply\n  expected: {expected}\n  observed: {observed}\n"
            f"  ({A.describe_sequence_diff(expected, observed)})")


@then(parsers.parse('the HTTPRoute "{route}" in namespace "{ns}" moves "{backend}" from {a:d}% '
                    'to {b:d}% within one reconcile of the last action'))
def route_weight_soon(canary_scenario: ScenarioContext, route: str, ns: str, backend: str,
                      a: int, b: int) -> None:
    """The backend's weight in force at the previous action was ``a`` and the recorded route
    reached ``b`` within 2 spec seconds (plus 1 s wall for the watch): "at once" for a
    controller."""
    ctx = canary_scenario
    since = ctx.last_action
    bound = 2 * ctx.time_scale + 1.0
    deadline = time.monotonic() + _wall(ctx, 10)
    while True:
        entries = ctx.timeline().of("route", name=route, namespace=ns)
        before = [(e.get("backends") or {}).get(backend) for e in entries if e["t"] < since]
        hit = next((e["t"] for e in entries
                    if e["t"] >= since and (e.get("backends") or {}).get(backend) == b), None)
        if hit is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    was = before[-1] if before else None
    if was != a:
        raise A.RolloutAssertion(f"HTTPRoute {route}.{ns}: {backend} at the previous action\n"
                                 f"  expected: {a}%\n  observed: {was}%")
    if hit is None or hit - since > bound:
        took = "never" if hit is None else f"after {hit - since:.2f}s"
        raise A.RolloutAssertion(f"HTTPRoute {route}.{ns}: {backend} at {b}%\n  expected: within "
                                 f"{bound:.2f}s of the previous action\n  observed: {took}")


@then(parsers.parse('the harness reports that the HTTPRoute "{route}" in namespace "{ns}" sends '
                    'traffic to ports its Services do not expose'))
def route_port_mismatch_reported(canary_scenario: ScenarioContext, route: str,
                                 ns: str) -> None:
    """``check_route_backends`` reports every backendRef whose port its Service does not
    expose, naming the route, the backend, the port and the Service's ports."""
    from canary.harness.argo import missing_mentions, port_mismatches
    from canary.harness.recorder import HTTPROUTE_VERSIONS
    from canary.spec.rollout import check_route_backends

    ctx = canary_scenario
    client = ctx.env.client()
    obj = next((o for v in HTTPROUTE_VERSIONS
                if (o := client.get_or_none(v, "HTTPRoute", route, ns)) is not None), None)
    if obj is None:
        raise A.RolloutAssertion(f"HTTPRoute {route} in namespace {ns} does not exist")
    services = {f"{ns}/{s['metadata']['name']}": s for s in client.items("v1", "Service", ns)}
    mismatches = port_mismatches(obj, services)
    if not mismatches:
        raise A.RolloutAssertion(f"HTTPRoute {route}.{ns}: every backendRef port is exposed by "
                                 "its Service; nothing to report")
    problems = check_route_backends(obj, services)
    report = "\n".join(problems)
    ctx.diagnostics[f"HTTPRoute {route} backend problems"] = report
    ctx.set_meta(route_problems=problems)
    print(f"canary harness: HTTPRoute {ns}/{route}:\n" + "\n".join(f"  {p}" for p in problems))
    missing = missing_mentions(report, route, mismatches)
    if not problems or missing:
        raise A.RolloutAssertion(
            f"HTTPRoute {route}.{ns} backends {[(b, p) for b, p, _ in mismatches]} name ports "
            f"their Services do not expose\n  expected: a report naming the route, each "
            f"backend, its port and the Service's ports\n  observed report: "
            f"{report or '<none>'}\n  missing: {', '.join(missing)}")


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" has the condition "{ctype}" '
                    'saying "{text}"'))
def rollout_condition(canary_scenario: ScenarioContext, name: str, ns: str, ctype: str,
                      text: str) -> None:
    from canary.harness.argo import condition

    ctx = canary_scenario
    deadline = time.monotonic() + _wall(ctx, 10)
    while True:
        c = condition(_get_rollout(ctx, name, ns), ctype)
        if c is not None and text in str(c.get("message", "")):
            ctx.diagnostics[f"Rollout {name} condition {ctype}"] = str(c.get("message"))
            return
        if time.monotonic() > deadline:
            raise A.RolloutAssertion(
                f"rollout {name}.{ns} condition {ctype}\n  expected a message containing: "
                f"{text}\n  observed: {c.get('message') if c else '<no such condition>'}")
        time.sleep(0.1)


@then(parsers.re(r'the load generator "(?P<source>[^"]+)" in namespace "(?P<ns>[^"]+)" gets '
                 r'HTTP (?P<code>\d{3}) for at least (?P<bound>[\d.]+)% of (?P<n>\d+) requests$'))
def loadgen_status_share(canary_scenario: ScenarioContext, source: str, ns: str, code: str,
                         bound: str, n: str) -> None:
    """Counts the load generator's answers from the previous action on, until ``n`` requests
    are in, and asserts the share answered with ``code``."""
    ctx = canary_scenario
    ctx.record(ns)
    since = ctx.last_action
    deadline = time.monotonic() + _wall(ctx, 60)

    def totals(after: float) -> tuple[dict[str, int], int] | None:
        rows = [e for e in ctx.timeline().of("client", namespace=ns)
                if e.get("source") == source and e["t"] >= after]
        if len(rows) < 2:
            return None
        first, last = rows[0], rows[-1]
        if last["requests"] < first["requests"]:
            return None  # restarted in between: wait for fresh counts
        codes = {k: int(v) - int((first.get("by_status") or {}).get(k, 0))
                 for k, v in (last.get("by_status") or {}).items()}
        return codes, last["requests"] - first["requests"]

    while True:
        got = totals(since)
        if got is not None and got[1] >= int(n):
            break
        if time.monotonic() > deadline:
            raise A.RolloutAssertion(f"load generator {source}.{ns}: fewer than {n} requests "
                                     f"recorded since the previous action (got "
                                     f"{got[1] if got else 0})")
        time.sleep(0.1)
    codes, total = got
    share = 100.0 * codes.get(code, 0) / total if total else 0.0
    ctx.set_meta(**{f"{source}_status_codes": codes})
    if share < float(bound):
        raise A.RolloutAssertion(f"load generator {source}.{ns}: HTTP {code} share\n  expected: "
                                 f">= {bound}%\n  observed: {share:.1f}% of {total} requests, "
                                 f"by status {codes}")


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" runs image "{image}" as its stable '
                    'revision'))
def rollout_stable_image(canary_scenario: ScenarioContext, name: str, ns: str,
                         image: str) -> None:
    """The ReplicaSet named by status.stableRS (its pod-template hash) runs the image."""
    from canary.spec.rollout import HASH_LABEL

    ctx = canary_scenario
    stable = (_get_rollout(ctx, name, ns).get("status") or {}).get("stableRS")
    if not stable:
        raise A.RolloutAssertion(f"rollout {name}.{ns} has no stable revision (status.stableRS)")
    rss = [rs for rs in ctx.env.client().items("apps/v1", "ReplicaSet", ns)
           if ((rs["metadata"].get("labels") or {}).get(HASH_LABEL) == stable)]
    images = [c.get("image") for rs in rss
              for c in rs["spec"]["template"]["spec"]["containers"]]
    if image not in images:
        raise A.RolloutAssertion(f"rollout {name}.{ns}: stable ReplicaSet ({stable}) image\n"
                                 f"  expected: {image}\n  observed: {images or 'no ReplicaSet'}")


@then(parsers.parse('the services "{names}" in namespace "{ns}" select only pods of rollout '
                    '"{name}"'))
def services_pinned(canary_scenario: ScenarioContext, names: str, ns: str, name: str) -> None:
    """Argo pins the canary/stable Services to a revision with the rollouts-pod-template-hash
    label, so pods that merely share the Rollout's labels (the demo's Deployment) get no
    routed traffic: every pod the Service selects belongs to one of the Rollout's
    ReplicaSets."""
    from canary.spec.rollout import HASH_LABEL

    ctx = canary_scenario
    client = ctx.env.client()
    owned = {rs["metadata"]["labels"].get(HASH_LABEL)
             for rs in client.items("apps/v1", "ReplicaSet", ns)
             if any(o.get("kind") == "Rollout" and o.get("name") == name
                    for o in rs["metadata"].get("ownerReferences") or [])}
    pods = client.items("v1", "Pod", ns)
    for svc_name in [x.strip() for x in names.split(",") if x.strip()]:
        svc = client.get_or_none("v1", "Service", svc_name, ns)
        if svc is None:
            raise A.RolloutAssertion(f"Service {svc_name} in namespace {ns} does not exist")
        sel = (svc.get("spec") or {}).get("selector") or {}
        chosen = [p for p in pods if sel and all(
            (p["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items())]
        strangers = [p["metadata"]["name"] for p in chosen
                     if (p["metadata"].get("labels") or {}).get(HASH_LABEL) not in owned]
        if sel.get(HASH_LABEL) not in owned or strangers:
            raise A.RolloutAssertion(
                f"Service {svc_name}.{ns} selector {sel}\n  expected: pinned to a revision of "
                f"rollout {name} ({HASH_LABEL} in {sorted(x for x in owned if x)})\n"
                f"  observed: selects {[p['metadata']['name'] for p in chosen]}"
                + (f", not the rollout's: {strangers}" if strangers else ""))


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" held each timed pause for its '
                    'duration'))
def rollout_pauses_held(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    """During the last update the route kept the weight before each `pause: {duration}` for
    at least that duration (time-scaled) and at most one reconcile (2 spec s + 1 s wall) more."""
    from canary.harness.argo import timed_pauses, update_start, weight_holds
    from canary.harness.timeline import route_canary_weights

    ctx = canary_scenario
    ro = _get_rollout(ctx, name, ns)
    routes = [(p.get("httpRoute"), p.get("namespace") or ns) for p in
              ((((ro["spec"].get("strategy") or {}).get("canary") or {}).get("trafficRouting")
                or {}).get("plugins") or {}).values() if isinstance(p, dict)]
    tl = ctx.timeline()
    start = update_start(tl, name, ns)
    if start is None or not routes or not routes[0][0]:
        raise A.RolloutAssertion(_rollout_story(ctx, name, ns, "no update or route recorded"))
    compressed: list[tuple[float, int]] = []
    for t, w in route_canary_weights(tl, routes[0][0], routes[0][1], since=start):
        if not compressed or compressed[-1][1] != w:
            compressed.append((t, w))
    held = weight_holds(compressed)
    slack = 2 * ctx.time_scale + 1.0
    bad = []
    rows = []
    for weight, secs in timed_pauses(ro):
        want = secs * ctx.time_scale
        got = held.get(weight)
        rows.append(f"weight {weight}: pause {secs}s -> {want:.2f}s wall, held "
                    f"{'never' if got is None else f'{got:.2f}s'}")
        # 50 ms of tolerance: the watch timestamps both ends, not the engine's clock.
        if got is None or got < want - 0.05 or got > want + slack:
            bad.append(rows[-1])
    ctx.set_meta(pause_holds=rows)
    if bad:
        raise A.RolloutAssertion(f"rollout {name}.{ns}: timed pauses (time scale "
                                 f"{ctx.time_scale:g})\n  expected: each weight held for its "
                                 f"pause (+ at most {slack:.2f}s)\n  observed:\n    "
                                 + "\n    ".join(rows))
