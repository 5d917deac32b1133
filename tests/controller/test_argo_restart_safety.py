"""Issue 12 acceptance 5: the Argo engine SIGKILLed at each write boundary of the completion
and the abort paths, restarted, never moves traffic backwards.

The engine runs as a process (`canary engine --mode argo`) against a real sandbox API server.
Each drill brings the seed's Rollout to its first pause with a plain engine, SIGKILLs it there,
starts one with CANARY_ARGO_KILL_AFTER_WRITE (canary/controller/argo_drill.py) so that it
SIGKILLs itself right after one chosen write (route, Service selector, status, ReplicaSet) of
the path the user then triggers (promote or abort), starts a fresh engine, and records the
HTTPRoute's canary weight through a watch, as `kubectl get httproute -w` shows it. ReplicaSet
pods are made ready by the test (no node agent).
The known failure this guards against: killed between the completion route write and the status
write, a restarted engine replayed the last steps and the route went canary 100, 0, 80, 100, 0.
"""

from __future__ import annotations

import copy
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.apiserver import ApiServer, serving_crds
from support.argo_seed import corrected_rollout_docs
from support.instant_kubelet import make_replicasets_ready
from support.poll import wait_for

from canary.cli import rollouts as rollouts_cli
from canary.controller.argo_drill import KILL_ENV, LOG_ENV, split_spec
from canary.kube.client import ApiError, ApiUnavailable, KubeClient
from canary.spec.rollout import parse_rollout

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "fixtures" / "manifests"
SCALE = 0.05  # the seed's 10s pauses are 0.5s, scaleDownDelaySeconds 30s is 1.5s
NEW_IMAGE = "quay.io/stefanprodan/podinfo:1.7.1"
ROUTE = ("gateway.networking.k8s.io/v1", "HTTPRoute")
ROLLOUT = ("argoproj.io/v1alpha1", "Rollout")
NAME = "rollouts-demo"
TRANSIENT = (ApiError, ApiUnavailable)
COMPLETED = [0, 30, 40, 60, 80, 100, 0]  # the seed's steps, then back to the new stable
ABORTED = [0, 30, 0]

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[KubeClient, ApiServer]]:
    with serving_crds(tmp_path_factory.mktemp("argo-drill")) as (server, client):
        yield client, server


class Drill:
    """One namespace with the seed's objects, a pod 'kubelet', a route recorder and engines."""

    def __init__(self, client: KubeClient, server: ApiServer, ns: str, tmp: Path) -> None:
        self.client, self.server, self.ns, self.tmp = client, server, ns, tmp
        self.stop = threading.Event()
        self.weights: list[int] = []
        self.engines: list[subprocess.Popen[bytes]] = []
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for doc in corrected_rollout_docs(ns):
            if doc["kind"] == "Rollout":
                self.seed = doc
            client.create(doc)
        self.old_hash = parse_rollout(self.seed).pod_hash
        new = copy.deepcopy(self.seed)
        new["spec"]["template"]["spec"]["containers"][0]["image"] = NEW_IMAGE
        self.new_hash = parse_rollout(new).pod_hash
        for target in (self._kubelet, self._record):
            threading.Thread(target=target, daemon=True).start()

    # -- the engine ----------------------------------------------------------------------------

    def start_engine(self, kill_after: str | None = None) -> subprocess.Popen[bytes]:
        n = len(self.engines) + 1
        env = dict(os.environ, **{LOG_ENV: str(self.tmp / f"writes-{n}.log")})
        env.pop(KILL_ENV, None)
        if kill_after:
            env[KILL_ENV] = kill_after
        log = open(self.tmp / f"engine-{n}.log", "wb")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            [sys.executable, "-m", "canary.cli", "engine", "--kubeconfig",
             str(self.server.kubeconfig), "--mode", "argo", "--namespace", self.ns,
             "--time-scale", str(SCALE), "--log-format", "json"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True, cwd=str(self.tmp))
        log.close()
        self.engines.append(proc)
        return proc

    def writes(self, n: int) -> list[str]:
        path = self.tmp / f"writes-{n}.log"
        return path.read_text().splitlines() if path.exists() else []

    def close(self) -> None:
        self.stop.set()
        for proc in self.engines:
            self.kill(proc)

    # -- the cluster's side --------------------------------------------------------------------

    def _kubelet(self) -> None:
        """Every ReplicaSet's pods exist and are ready as soon as it asks for them."""
        while not self.stop.is_set():
            make_replicasets_ready(self.client, self.ns)
            self.stop.wait(0.03)

    def _record(self) -> None:
        rv = None
        while not self.stop.is_set():
            try:
                for _t, route in self.client.watch(*ROUTE, self.ns, resource_version=rv,
                                                   timeout_seconds=30):
                    rv = route["metadata"].get("resourceVersion")
                    for ref in route["spec"]["rules"][0]["backendRefs"]:
                        if ref["name"] == "podinfo-canary" and "weight" in ref:
                            if not self.weights or self.weights[-1] != ref["weight"]:
                                self.weights.append(ref["weight"])
                    if self.stop.is_set():
                        return
            except TRANSIENT:
                rv = None
                self.stop.wait(0.1)

    def status(self) -> dict[str, Any]:
        return self.client.get(*ROLLOUT, NAME, self.ns).get("status") or {}

    def wait_phase(self, phase: str, timeout: float = 30.0, **want: Any) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            ro = self.client.get(*ROLLOUT, NAME, self.ns)
            st = ro.get("status") or {}
            ok = (st.get("observedGeneration") == str(ro["metadata"]["generation"])
                  and st.get("phase") == phase
                  and all(st.get(k) == v for k, v in want.items()))
            return st if ok else None
        return wait_for(f"rollout {phase} {want or ''}", check, timeout, ignore=TRANSIENT)

    def replicas(self, h: str) -> int:
        return int(self.client.get("apps/v1", "ReplicaSet", f"{NAME}-{h}", self.ns)[
            "spec"]["replicas"])

    def selector(self, service: str) -> str:
        svc = self.client.get("v1", "Service", service, self.ns)
        return svc["spec"]["selector"].get("rollouts-pod-template-hash", "")

    def route_weights(self) -> dict[str, int]:
        route = self.client.get(*ROUTE, "argo-rollouts-http-route", self.ns)
        return {r["name"]: r.get("weight") for r in route["spec"]["rules"][0]["backendRefs"]}

    def cli(self, *args: str) -> None:
        assert rollouts_cli.main(["-n", self.ns, "--kubeconfig", str(self.server.kubeconfig),
                                  *args]) == 0

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def paused_at_step_1_then_armed(self, pattern: str) -> subprocess.Popen[bytes]:
        """Deploy, update and reach the indefinite pause with a plain engine, SIGKILL it there
        (a quiet moment), and start the engine that kills itself after ``pattern``."""
        plain = self.start_engine()
        self.wait_phase("Healthy", stableRS=self.old_hash)
        self.cli("set-image", NAME, f"podinfod={NEW_IMAGE}")
        self.wait_phase("Paused", currentStepIndex=1, currentPodHash=self.new_hash)
        self.kill(plain)
        return self.start_engine(kill_after=pattern)


@pytest.fixture
def drill(api: tuple[KubeClient, ApiServer], request: pytest.FixtureRequest,
          tmp_path: Path) -> Iterator[Drill]:
    client, server = api
    path = "completion" if "completion" in request.node.name else "abort"
    ns = f"drill-{path}-" + request.node.callspec.id.lower().replace("_", "-")[:40]
    d = Drill(client, server, ns, tmp_path)
    try:
        yield d
    finally:
        d.close()


def _killed_and_restarted(d: Drill, armed: subprocess.Popen[bytes], pattern: str) -> None:
    """The armed engine must have died by its own SIGKILL right after the chosen write; then a
    fresh engine takes over from what the API holds."""
    wait_for(f"the engine to SIGKILL itself after a write matching {pattern!r}",
             lambda: armed.poll() is not None, 40)
    assert armed.returncode == -signal.SIGKILL, (armed.returncode, d.writes(2)[-5:])
    last = d.writes(2)[-1]
    assert re.search(split_spec(pattern)[0], last), f"killed after {last!r}, not {pattern!r}"
    d.start_engine()


# Each write of the completion path, in the order the engine makes them (H new, O old hash).
COMPLETION = {
    "route-100": r"^route \S+ canary=100$",  # all steps done: the canary takes all traffic
    "status-promoted": r"^status \S+ stableRS={H} ",  # promotion: status only
    "stable-service": r"^service \S+/podinfo-stable selects {H}$",
    "route-0": r"^route \S+ canary=0$",  # the route back to the new stable
    "status-after-route-0": r"^status \S+ stableRS={H} #2",
    "old-scaled-down": r"^replicaset \S+-{O} replicas=0$",  # after scaleDownDelaySeconds
}
ABORT = {
    "route-0": r"^route \S+ canary=0$",
    "canary-service": r"^service \S+/podinfo-canary selects {O}$",
    "status-aborted": r"^status \S+ .*aborted=True$",
    "canary-scaled-down": r"^replicaset \S+-{H} replicas=0$",  # after abortScaleDownDelaySeconds
}


@pytest.mark.parametrize("point", list(COMPLETION), ids=list(COMPLETION))
def test_killed_at_each_completion_write_the_route_never_rises_after_0(
        drill: Drill, point: str) -> None:
    d = drill
    pattern = COMPLETION[point].format(H=d.new_hash, O=d.old_hash)
    armed = d.paused_at_step_1_then_armed(pattern)
    d.cli("promote", NAME)
    _killed_and_restarted(d, armed, pattern)
    st = d.wait_phase("Healthy", stableRS=d.new_hash, currentStepIndex=8)
    wait_for("the old pods scaled down", lambda: d.replicas(d.old_hash) == 0, 20,
             ignore=TRANSIENT)
    wait_for("the route back at canary 0", lambda: d.weights[-1:] == [0], 10)
    assert d.weights == COMPLETED, (f"route canary weights {d.weights}; armed engine's last "
                                    f"writes {d.writes(2)[-6:]}; then {d.writes(3)}")
    assert d.route_weights() == {"podinfo-stable": 100, "podinfo-canary": 0}
    assert d.selector("podinfo-stable") == d.selector("podinfo-canary") == d.new_hash
    assert st["currentPodHash"] == d.new_hash and "abort" not in st
    # Argo records RolloutAddedToInformer at each controller start (rollout/controller.go:253)
    added = [e for e in d.client.items("v1", "Event", d.ns)
             if e["reason"] == "RolloutAddedToInformer"]
    # (counts are not compared: a restarted engine's recorder may fold its event into the
    # previous engine's Event object, as client-go's aggregation does across restarts)
    assert {e["message"] for e in added} == {f"Rollout resource added to informer: {d.ns}/{NAME}"}


@pytest.mark.parametrize("point", list(ABORT), ids=list(ABORT))
def test_killed_at_each_abort_write_the_route_stays_at_0(drill: Drill, point: str) -> None:
    d = drill
    pattern = ABORT[point].format(H=d.new_hash, O=d.old_hash)
    armed = d.paused_at_step_1_then_armed(pattern)
    d.cli("abort", NAME)
    _killed_and_restarted(d, armed, pattern)
    st = d.wait_phase("Degraded", abort=True)
    assert st["message"].startswith("RolloutAborted: Rollout aborted update to revision 2")
    wait_for("the canary pods scaled down", lambda: d.replicas(d.new_hash) == 0, 20,
             ignore=TRANSIENT)
    assert d.weights == ABORTED, (f"route canary weights {d.weights}; armed engine's last "
                                  f"writes {d.writes(2)[-6:]}; then {d.writes(3)}")
    assert d.route_weights() == {"podinfo-stable": 100, "podinfo-canary": 0}
    assert d.selector("podinfo-stable") == d.selector("podinfo-canary") == d.old_hash
    assert d.replicas(d.old_hash) == 1 and d.status()["stableRS"] == d.old_hash
