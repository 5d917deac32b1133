"""What a scenario does to the cluster and checks on it outside any one canary: namespaces,
manifests, commands as a user types them, the demo, Deployments, Services, the frontend and
what is left after cleanup."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
import yaml

from canary.harness.assertions import RolloutAssertion, assert_nothing_left
from canary.harness.context import ScenarioContext, objects_in
from canary.harness.manifests import demo_manifest, resolve_manifest
from canary.harness.wait import wait_for
from canary.router.gatewayapi import HTTPROUTE_VERSIONS

DEMO_DEPLOYMENTS = ("podinfo", "frontend", "load")


def names(csv: str) -> list[str]:
    return [x.strip() for x in csv.split(",") if x.strip()]


# -- namespaces, manifests, commands --------------------------------------------------------


def ensure_namespace(ctx: ScenarioContext, ns: str) -> None:
    ctx.names.actual(ns)  # the scenario's own: its cleanup deletes it
    if ctx.env.client().get_or_none("v1", "Namespace", ns) is None:
        ctx.env.kubectl(["create", "namespace", ns])
    ctx.record(ns)
    ctx.mark(f"namespace {ns}")


def rewrite_namespace(text: str, namespace: str) -> str:
    docs = [d for d in yaml.safe_load_all(text) if d]
    for d in docs:
        d.setdefault("metadata", {})["namespace"] = namespace
    return yaml.safe_dump_all(docs, sort_keys=False)


def apply_text(ctx: ScenarioContext, text: str, namespace: str | None = None) -> str:
    text = ctx.names.manifest(text)
    refs = objects_in(text, namespace)
    client = ctx.env.client()
    for ref in refs:  # on a shared cluster the scenario must not delete what it found
        if ref not in ctx.applied and _exists(client, ref):
            ctx.preexisting.add(ref)
    args = ["apply", "-f", "-"] + (["-n", namespace] if namespace else [])
    out = ctx.env.kubectl(args, input=text).stdout
    ctx.applied.extend(refs)
    for ns in {r.namespace for r in refs if r.namespace}:
        ctx.record(ns)
    ctx.mark("kubectl apply: " + ", ".join(f"{r.kind}/{r.name}" for r in refs))
    return out


def _exists(client: Any, ref: Any) -> bool:
    try:
        return client.get_or_none(ref.api_version, ref.kind, ref.name, ref.namespace) is not None
    except Exception:  # noqa: BLE001 - a kind not served yet: nothing of it exists
        return False


def apply_manifest(ctx: ScenarioContext, path: str) -> None:
    apply_text(ctx, resolve_manifest(path, [ctx.feature_dir, Path.cwd()]).read_text())


def run(ctx: ScenarioContext, command: str) -> None:
    command = ctx.names.text(command)  # learned (and rewritten) when not from a step too
    p = ctx.env.shell(localized_urls(ctx, command))
    ctx.last_output = p.stdout
    if p.returncode != 0:
        raise AssertionError(f"command failed (exit {p.returncode}): {command}\n"
                             f"{p.stderr.strip() or p.stdout.strip()}")
    ctx.mark(command.strip())


def localized_urls(ctx: ScenarioContext, command: str) -> str:
    """With a namespace per scenario, the tutorial's manifest URLs (whose objects say
    ``namespace: test``) are applied from copies rewritten for the scenario: the packaged one
    where the environment serves them, else the URL's own content."""
    if not ctx.names.enabled:
        return command
    from canary.harness.manifests import local_url_map

    for url, path in local_url_map().items():
        if url not in command:
            continue
        if ctx.env.offline_manifests:
            text = path.read_text()
        else:
            r = requests.get(url, timeout=30)
            if r.status_code != 200:
                raise AssertionError(f"{url} answered {r.status_code}")
            text = r.text
        copy = ctx.env.workdir / "scenario-manifests" / f"{ctx.names.token}-{path.name}"
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(ctx.names.manifest(text))
        command = command.replace(url, str(copy))
    return command


def deploy_demo(ctx: ScenarioContext, ns: str) -> None:
    """The tutorial's demo: namespace first, then the manifest, then every Deployment ready."""
    ensure_namespace(ctx, ns)
    text = demo_manifest().read_text()
    if ns != ctx.names.actual("test"):  # the packaged demo says `namespace: test`
        text = rewrite_namespace(text, ns)
    apply_text(ctx, text)
    for dep in DEMO_DEPLOYMENTS:
        wait_rolled_out(ctx, dep, ns)


def wait_rolled_out(ctx: ScenarioContext, name: str, ns: str) -> None:
    timeout = int(ctx.wall(600))
    ctx.env.kubectl(["-n", ns, "rollout", "status", f"deployment/{name}",
                     f"--timeout={timeout}s"], timeout=timeout + 10)


def wait_metrics_flowing(ctx: ScenarioContext, name: str, ns: str) -> None:
    """Until Prometheus answers the success-rate query for the deployment: the metrics pipeline
    (proxy -> scrape -> query) works before a release starts, as a user checks `linkerd viz
    stat` first. Without it the first analyses fail with "no values found"."""
    from canary.harness.recorder import TimelineRecorder

    url = ctx.env.prometheus_url()
    if not url:
        raise RolloutAssertion("Prometheus (prometheus.linkerd-viz:9090) is not reachable")
    probe = TimelineRecorder(ctx.env.client(), None, prometheus_url=url,  # type: ignore[arg-type]
                             time_scale=ctx.time_scale)
    wait_for(lambda: probe.query_success_rate(ns, name), ctx.wall(120), poll=0.1,
             story=lambda why: f"Prometheus at {url} has no response_total series for "
                               f"deployment {name} in namespace {ns} (is traffic flowing "
                               f"through the mesh?): {why}")


# -- changing the workload -------------------------------------------------------------------


def new_revision_with_flag(ctx: ScenarioContext, name: str, ns: str, image: str,
                           flag: str) -> None:
    dep = ctx.env.client().get("apps/v1", "Deployment", name, ns)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    command = list(container.get("command") or ["./podinfo", "--port=9898"]) + [flag]
    patch = {"spec": {"template": {"spec": {"containers": [
        {"name": container["name"], "image": image, "command": command}]}}}}
    ctx.env.kubectl(["-n", ns, "patch", "deployment", name, "--type=strategic",
                     "-p", json.dumps(patch)])
    ctx.mark(f"new revision of {name}: {image} with {flag}")


def meshed_loadgen(name: str, ns: str, url: str, headers: Sequence[str] = ()) -> dict[str, Any]:
    """A meshed slow_cooker Deployment sending 10 requests per spec second to ``url``, with
    ``headers`` (``Name: value``) on each."""
    flags = "".join(f"-header '{h}' " for h in headers)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name},
                                           "annotations": {"linkerd.io/inject": "enabled"}},
                              "spec": {"containers": [{
                                  "name": "slow-cooker", "image": "buoyantio/slow_cooker:1.2.0",
                                  "command": ["/bin/sh", "-c",
                                              f"slow_cooker -qps 10 -concurrency 2 {flags}"
                                              f"{url}"]}]}}}}


def send_load(ctx: ScenarioContext, url: str, name: str, ns: str,
              headers: Sequence[str] = ()) -> None:
    apply_text(ctx, yaml.safe_dump(meshed_loadgen(name, ns, url, headers)))


# -- checks on objects -----------------------------------------------------------------------


def _deployment(ctx: ScenarioContext, name: str, ns: str) -> dict[str, Any]:
    dep = ctx.env.client().get_or_none("apps/v1", "Deployment", name, ns)
    if dep is None:
        raise RolloutAssertion(f"deployment {name} in namespace {ns} does not exist")
    return dep


def check_deployment_image(ctx: ScenarioContext, name: str, ns: str, image: str) -> None:
    images = [c.get("image") for c in
              _deployment(ctx, name, ns)["spec"]["template"]["spec"]["containers"]]
    if image not in images:
        raise RolloutAssertion(f"deployment {name}.{ns} image\n  expected: {image}\n"
                               f"  observed: {', '.join(map(str, images))}")


def check_deployment_replicas(ctx: ScenarioContext, name: str, ns: str, n: int) -> None:
    got = (_deployment(ctx, name, ns).get("spec") or {}).get("replicas", 1)
    if got != n:
        raise RolloutAssertion(f"deployment {name}.{ns} spec.replicas\n  expected: {n}\n"
                               f"  observed: {got}")


def check_exists(ctx: ScenarioContext, kind: str, name: str, ns: str) -> None:
    p = ctx.env.kubectl(["-n", ns, "get", kind, name, "-o", "name"], check=False)
    if p.returncode != 0:
        raise RolloutAssertion(f"{kind} {name} in namespace {ns} does not exist: "
                               f"{p.stderr.strip()}")


def get_route(ctx: ScenarioContext, route: str, ns: str) -> dict[str, Any]:
    client = ctx.env.client()
    for v in HTTPROUTE_VERSIONS:
        try:
            obj = client.get_or_none(v, "HTTPRoute", route, ns)
        except Exception:  # noqa: BLE001 - version not served, try the next
            continue
        if obj is not None:
            return obj
    raise RolloutAssertion(f"HTTPRoute {route} in namespace {ns} does not exist")


def check_route_weights(ctx: ScenarioContext, route: str, ns: str,
                        expected: dict[str, int]) -> None:
    from canary.harness.assertions import assert_route_weights
    from canary.harness.recorder import route_backends

    assert_route_weights(route_backends(get_route(ctx, route, ns)), expected, route)


def check_frontend_version(ctx: ScenarioContext, ns: str, version: str,
                           requests_: int = 20) -> None:
    url = ctx.env.resolve_url(f"http://frontend.{ns}:8080/", ns)
    seen: dict[str, int] = {}
    for _ in range(requests_):
        try:
            v = str(requests.get(url, timeout=5,
                                 headers={"Accept": "application/json"}).json().get("version"))
        except (requests.RequestException, ValueError) as e:
            v = f"error: {type(e).__name__}"
        seen[v] = seen.get(v, 0) + 1
    if set(seen) != {version}:
        raise RolloutAssertion(f"frontend answers in namespace {ns}\n  expected: every answer "
                               f"from version {version}\n  observed ({requests_} requests): "
                               f"{seen}")


# -- cleanup ---------------------------------------------------------------------------------


def wait_generated_gone(ctx: ScenarioContext, name: str, ns: str) -> None:
    """The objects Flagger generates for a Canary (names by its conventions) are removed."""
    client = ctx.env.client()
    wanted = [("apps/v1", "Deployment", f"{name}-primary"), ("v1", "Service", f"{name}-primary"),
              ("v1", "Service", f"{name}-canary"), (HTTPROUTE_VERSIONS[0], "HTTPRoute", name)]

    def left() -> list[str]:
        out = []
        for av, kind, n in wanted:
            try:
                if client.get_or_none(av, kind, n, ns) is not None:
                    out.append(f"{kind} {n}")
            except Exception:  # noqa: BLE001 - kind not served: nothing left of it
                continue
        return out

    try:
        wait_for(lambda: True if not left() else None, ctx.wall(0), poll=0.1, story=str)
    except RolloutAssertion:
        assert_nothing_left([f"{x} in namespace {ns} (owned by the deleted Canary)"
                             for x in left()])


def wait_namespace_gone(ctx: ScenarioContext, ns: str) -> None:
    client = ctx.env.client()
    try:
        wait_for(lambda: True if client.get_or_none("v1", "Namespace", ns) is None else None,
                 ctx.wall(0) + 30, poll=0.2, story=str)
    except RolloutAssertion:
        assert_nothing_left([f"namespace {ns}"])


def interrupted_run(ctx: ScenarioContext, feature: str, name: str, ns: str, phase: str) -> None:
    """Runs ``feature`` in a child pytest against this cluster and sends it SIGTERM once the
    canary is in ``phase``; the child's log lands in the diagnostics."""
    from canary.harness.canary_checks import wait_phase

    source = resolve_manifest(feature, [ctx.feature_dir, Path.cwd()])
    out_dir = Path(ctx.env.workdir) / "interrupted-run" / ctx.names.token
    out_dir.mkdir(parents=True, exist_ok=True)
    # the child runs the feature in this scenario's namespaces, as written from there on
    path = out_dir / source.name
    path.write_text(ctx.names.text(source.read_text()))
    cmd = [sys.executable, "-m", "pytest", str(path), "-p", "no:cacheprovider", "-q",
           "--env", "existing", "--kubeconfig", str(ctx.env.kubeconfig),
           "--allow-existing-cluster", "--no-engine", "--time-scale", str(ctx.time_scale),
           "--canary-namespaces", "as-written", "--report-dir", str(out_dir / "reports"),
           "-o", "testpaths=", "--rootdir", str(out_dir)]
    log = out_dir / "pytest.log"
    ctx.record(ns)
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_phase(ctx, name, ns, phase, ctx.last_action, ctx.wall(600))
        ctx.mark(f"SIGTERM to pytest pid {proc.pid}")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    except BaseException:
        proc.kill()
        proc.wait(10)
        raise
    finally:
        ctx.diagnostics["interrupted pytest run"] = log.read_text(errors="replace")


# -- diagnostics -----------------------------------------------------------------------------


def collect_diagnostics(ctx: Any) -> dict[str, str]:
    """Events, Canary/HTTPRoute YAML, pod logs and the engine log of the scenario's namespaces."""
    env = ctx.env
    out: dict[str, str] = {}
    namespaces = ctx.recorder.namespaces if ctx.recorder else []
    for ns in namespaces:
        p = env.kubectl(["-n", ns, "get", "events", "--sort-by=.lastTimestamp"], check=False,
                        timeout=20)
        out[f"events in {ns}"] = p.stdout or p.stderr
        kinds = "canaries.flagger.app,httproutes.gateway.networking.k8s.io"
        p = env.kubectl(["-n", ns, "get", kinds, "-o", "yaml"], check=False, timeout=20)
        out[f"Canary and HTTPRoute YAML in {ns}"] = p.stdout or p.stderr
        out.update(env.pod_logs(ns))
    engine = getattr(env, "engine", None)
    if engine is not None:
        out["engine log"] = engine.tail(400)
    return out
