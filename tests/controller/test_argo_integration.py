"""The seed's Argo Rollout against the sandbox API server, driven by the real controller loop.

ReplicaSet readiness is simulated by writing ReplicaSet status from the test (no node agent);
the time scale is small so the seed's 10s pauses take half a second. Route weights are recorded
through a watch, as a user running `kubectl get httproute -w` would see them.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.apiserver import serving_crds
from support.argo_seed import corrected_rollout_docs
from support.instant_kubelet import make_replicasets_ready
from support.poll import wait_for

from canary.cli import rollouts as rollouts_cli
from canary.clock import Clock
from canary.controller.argo_loop import RolloutController
from canary.kube.client import ApiError, ApiUnavailable, KubeClient
from canary.spec.rollout import expected_route_weights

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "fixtures" / "manifests"
SCALE = 0.05
NEW_IMAGE = "podinfod=quay.io/stefanprodan/podinfo:1.7.1"
ROUTE_API = "gateway.networking.k8s.io/v1"

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KubeClient, str]]:
    with serving_crds(tmp_path_factory.mktemp("argo-sandbox")) as (server, client):
        yield client, str(server.kubeconfig)


class Cluster:
    """One namespace with the seed's objects, the controller, an RS 'kubelet' and a recorder."""

    def __init__(self, client: KubeClient, kubeconfig: str, ns: str, service_port: int) -> None:
        self.client, self.kubeconfig, self.ns = client, kubeconfig, ns
        self.stop = threading.Event()
        self.weights: list[int] = []
        self.threads: list[threading.Thread] = []
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for doc in corrected_rollout_docs(ns):
            if doc["kind"] == "Service":
                doc["spec"]["ports"][0]["port"] = service_port
                doc["spec"]["ports"][0]["targetPort"] = service_port
            client.create(doc)
        self.start_controller()
        for target in (self._kubelet, self._record):
            t = threading.Thread(target=target, args=(self.stop,), daemon=True)
            t.start()
            self.threads.append(t)

    def start_controller(self) -> None:
        self.ctl_stop = threading.Event()
        ctl = RolloutController(self.client, Clock(SCALE), self.ns, logging.getLogger("test.argo"))
        self.ctl_thread = threading.Thread(target=ctl.run, args=(self.ctl_stop,), daemon=True)
        self.ctl_thread.start()

    def stop_controller(self) -> None:
        self.ctl_stop.set()
        self.ctl_thread.join(10)
        assert not self.ctl_thread.is_alive()

    def close(self) -> None:
        self.stop_controller()
        self.stop.set()
        self.threads[0].join(10)

    def _kubelet(self, stop: threading.Event) -> None:
        """Make every ReplicaSet's pods ready at once, as a perfect node agent would."""
        while not stop.is_set():
            make_replicasets_ready(self.client, self.ns)
            stop.wait(0.03)

    def _record(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                for _t, route in self.client.watch(ROUTE_API, "HTTPRoute", self.ns,
                                                   timeout_seconds=5):
                    for ref in route["spec"]["rules"][0]["backendRefs"]:
                        if ref["name"] == "podinfo-canary" and "weight" in ref:
                            if not self.weights or self.weights[-1] != ref["weight"]:
                                self.weights.append(ref["weight"])
                    if stop.is_set():
                        return
            except (ApiError, ApiUnavailable):
                stop.wait(0.1)

    def rollout(self) -> dict[str, Any]:
        return self.client.get("argoproj.io/v1alpha1", "Rollout", "rollouts-demo", self.ns)

    def status(self) -> dict[str, Any]:
        return self.rollout().get("status") or {}

    def wait_phase(self, phase: str, timeout: float = 20.0) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            ro = self.rollout()
            st = ro.get("status") or {}
            gen_ok = st.get("observedGeneration") == str(ro["metadata"]["generation"])
            return st if gen_ok and st.get("phase") == phase else None
        return wait_for(f"rollout {phase}", check, timeout)

    def cli(self, *args: str) -> int:
        return rollouts_cli.main(["-n", self.ns, "--kubeconfig", self.kubeconfig, *args])

    def route_weights(self) -> dict[str, int]:
        route = self.client.get(ROUTE_API, "HTTPRoute", "argo-rollouts-http-route", self.ns)
        return {r["name"]: r.get("weight") for r in route["spec"]["rules"][0]["backendRefs"]}

    def events(self) -> list[dict[str, Any]]:
        return self.client.items("v1", "Event", self.ns)


@pytest.fixture
def cluster(api: tuple[KubeClient, str], request: pytest.FixtureRequest) -> Iterator[Cluster]:
    client, kubeconfig = api
    port = getattr(request, "param", 9898)
    ns = f"argo-{request.node.name.split('[')[0][-20:].replace('_', '-')}-{port}"
    c = Cluster(client, kubeconfig, ns, port)
    try:
        yield c
    finally:
        c.close()


def _paused_at_step_1(c: Cluster, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    first = c.wait_phase("Healthy")
    assert c.route_weights() == {"podinfo-stable": 100, "podinfo-canary": 0}
    assert c.cli("set-image", "rollouts-demo", NEW_IMAGE) == 0
    st = c.wait_phase("Paused")
    assert st["message"] == "CanaryPauseStep" and st["currentStepIndex"] == 1
    assert c.route_weights() == {"podinfo-stable": 70, "podinfo-canary": 30}
    assert st["stableRS"] == first["stableRS"] != st["currentPodHash"]
    capsys.readouterr()
    return st


def test_seed_rollout_promoted_through_timed_pauses(cluster: Cluster,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    c = cluster
    st = _paused_at_step_1(c, capsys)
    new = st["currentPodHash"]
    svc = c.client.get("v1", "Service", "podinfo-canary", c.ns)
    assert svc["spec"]["selector"] == {"app": "podinfo", "rollouts-pod-template-hash": new}
    assert svc["metadata"]["annotations"][
        "argo-rollouts.argoproj.io/managed-by-rollouts"] == "rollouts-demo"
    assert c.cli("get", "rollout", "rollouts-demo") == 0
    view = capsys.readouterr().out
    assert "॥ Paused" in view and "Step:          1/8" in view and "SetWeight:     30" in view
    live, stop_watch = io.StringIO(), threading.Event()
    watcher = threading.Thread(target=rollouts_cli.watch,
                               args=(c.client, c.ns, "rollouts-demo", live, 30, stop_watch))
    watcher.start()
    assert c.cli("promote", "rollouts-demo") == 0
    assert capsys.readouterr().out == "rollout 'rollouts-demo' promoted\n"
    st = c.wait_phase("Healthy")
    time.sleep(0.5)  # one more render of the watch view (it polls every 200 ms)
    stop_watch.set()
    watcher.join(5)
    views = live.getvalue().split("\nName:")
    steps = [ln.split()[-1] for v in views for ln in v.splitlines() if "Step:" in ln]
    assert steps[0] == "1/8" and "3/8" in steps and steps[-1] == "8/8"
    assert any("SetWeight:     60" in v and "॥ Paused" in v for v in views)
    assert "✔ Healthy" in views[-1]
    assert st["stableRS"] == new and st["currentStepIndex"] == 8
    wait_for("final weight 0", lambda: c.weights[-1:] == [0])
    assert c.weights == [0, 30, 40, 60, 80, 100, 0] == expected_route_weights(c.rollout())
    assert c.route_weights() == {"podinfo-stable": 100, "podinfo-canary": 0}
    stable_svc = c.client.get("v1", "Service", "podinfo-stable", c.ns)
    assert stable_svc["spec"]["selector"]["rollouts-pod-template-hash"] == new
    msgs = [e["message"] for e in c.events() if e["reason"] == "RolloutStepCompleted"]
    assert "Rollout step 1/8 completed (setWeight: 30)" in msgs
    assert "Rollout step 8/8 completed (pause: 10s)" in msgs
    # The old revision is scaled down after scaleDownDelaySeconds (30s * time scale).
    old = [rs for rs in c.client.items("apps/v1", "ReplicaSet", c.ns)
           if rs["metadata"]["labels"]["rollouts-pod-template-hash"] != new]
    assert len(old) == 1
    wait_for("old ReplicaSet scaled down", lambda: c.client.get("apps/v1", "ReplicaSet",
             old[0]["metadata"]["name"], c.ns)[
        "spec"]["replicas"] == 0, 10)


def test_abort_at_60_then_retry(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    c = cluster
    _paused_at_step_1(c, capsys)
    assert c.cli("promote", "rollouts-demo") == 0
    wait_for("weight 60", lambda: c.weights[-1:] == [60], 10)
    assert c.cli("abort", "rollouts-demo") == 0
    assert capsys.readouterr().out.endswith("rollout 'rollouts-demo' aborted\n")
    st = c.wait_phase("Degraded", timeout=5)
    assert st["message"] == "RolloutAborted: Rollout aborted update to revision 2"
    assert st["abort"] is True and st["currentStepIndex"] == 0
    assert c.route_weights() == {"podinfo-stable": 100, "podinfo-canary": 0}
    assert any(e["reason"] == "RolloutAborted" and e["type"] == "Warning" for e in c.events())
    assert c.cli("retry", "rollout", "rollouts-demo") == 0
    st = c.wait_phase("Paused")
    assert st["currentStepIndex"] == 1 and "abort" not in st
    assert c.route_weights()["podinfo-canary"] == 30
    assert c.weights[-3:] == [60, 0, 30]


def test_controller_restart_mid_pause_resumes_from_status(
        cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    c = cluster
    _paused_at_step_1(c, capsys)
    assert c.cli("promote", "rollouts-demo") == 0
    wait_for("weight 40", lambda: c.weights[-1:] == [40], 10)
    c.stop_controller()  # killed during the 10s (0.5s scaled) pause
    time.sleep(10 * SCALE + 0.2)
    assert c.weights[-1] == 40 and c.status()["currentStepIndex"] == 3
    c.start_controller()
    c.wait_phase("Healthy")
    wait_for("final weight 0", lambda: c.weights[-1:] == [0])
    assert c.weights == [0, 30, 40, 60, 80, 100, 0]
    done = [e["message"] for e in c.events() if e["reason"] == "RolloutStepCompleted"]
    assert sorted(set(done)) == sorted(done)  # no step completed twice


@pytest.mark.parametrize("cluster", [8989], indirect=True)
def test_seed_port_mismatch_is_reported_but_weights_still_move(
        cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    c = cluster
    _paused_at_step_1(c, capsys)
    cond = next(x for x in c.status()["conditions"] if x["type"] == "TrafficRoutingWarning")
    assert cond["reason"] == "BackendPortMismatch"
    assert (f"HTTPRoute {c.ns}/argo-rollouts-http-route rules[0].backendRefs[1] "
            f"(podinfo-canary:9898): Service {c.ns}/podinfo-canary does not expose port 9898 "
            "(it exposes 8989)") in cond["message"]
    warnings = [e for e in c.events() if e["reason"] == "BackendPortMismatch"]
    assert warnings and warnings[0]["type"] == "Warning"


def test_cli_reports_a_missing_rollout(api: tuple[KubeClient, str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _client, kubeconfig = api
    assert rollouts_cli.main(["-n", "nowhere", "--kubeconfig", kubeconfig,
                              "promote", "nope"]) == 1
    assert 'rollouts.argoproj.io "nope" not found' in capsys.readouterr().err


def test_cli_status_and_bad_set_image(cluster: Cluster,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    c = cluster
    c.wait_phase("Healthy")
    capsys.readouterr()
    assert c.cli("status", "rollouts-demo") == 0
    assert capsys.readouterr().out == "Healthy\n"
    assert c.cli("set", "image", "rollouts-demo", "podinfo=x:1") == 1
    assert capsys.readouterr().err == (
        'Error: unable to find container named "podinfo" in rollout rollouts-demo '
        "(containers: podinfod)\n")
    assert c.cli("set-image", "rollouts-demo", "podinfod") == 1
    assert "expected CONTAINER=IMAGE, got 'podinfod'" in capsys.readouterr().err
