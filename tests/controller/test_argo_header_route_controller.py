"""setHeaderRoute through the real controller loop against the sandbox API server: the managed
rule appears on the HTTPRoute during the update, every write keeps the unmanaged backend, and
the rule is gone after completion and after an abort. ReplicaSet readiness is written by the
test (no node agent)."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.apiserver import serving_crds
from support.instant_kubelet import make_replicasets_ready
from support.poll import wait_for

from canary.clock import Clock
from canary.controller.argo_loop import RolloutController
from canary.kube.client import KubeClient

MANIFESTS = Path(__file__).resolve().parents[2] / "fixtures" / "manifests"
ROUTE_API = "gateway.networking.k8s.io/v1"
RO_API = "argoproj.io/v1alpha1"

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeClient]:
    with serving_crds(tmp_path_factory.mktemp("argo-header")) as (_server, client):
        yield client


def _kubelet(client: KubeClient, ns: str, stop: threading.Event) -> None:
    while not stop.is_set():
        make_replicasets_ready(client, ns)
        stop.wait(0.03)


@pytest.fixture
def ns(client: KubeClient, request: pytest.FixtureRequest) -> Iterator[str]:
    ns = f"hdr-{request.node.name[-18:].replace('_', '-')}"
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for doc in yaml.safe_load_all((MANIFESTS / "argo-rollout-corrected.yaml").read_text()):
        doc = copy.deepcopy(doc)
        doc["metadata"]["namespace"] = ns
        if doc["kind"] == "HTTPRoute":
            doc["apiVersion"] = ROUTE_API
            doc["spec"]["parentRefs"][0]["namespace"] = ns
            refs = doc["spec"]["rules"][0]["backendRefs"]
            for ref in refs:
                ref["namespace"] = ns
            refs.append({"name": "unmanaged", "port": 9898, "weight": 7})
        if doc["kind"] == "Rollout":
            canary = doc["spec"]["strategy"]["canary"]
            canary["trafficRouting"]["plugins"]["argoproj-labs/gatewayAPI"]["namespace"] = ns
            canary["trafficRouting"]["managedRoutes"] = [{"name": "beta"}]
            canary["steps"] = [
                {"setWeight": 30},
                {"setHeaderRoute": {"name": "beta", "match": [
                    {"headerName": "X-Beta", "headerValue": {"prefix": "yes"}}]}},
                {"pause": {}}]
        client.create(doc)
    stop = threading.Event()
    ctl = RolloutController(client, Clock(0.05), ns, logging.getLogger("test.argo"))
    threads = [threading.Thread(target=ctl.run, args=(stop,), daemon=True),
               threading.Thread(target=_kubelet, args=(client, ns, stop), daemon=True)]
    for t in threads:
        t.start()
    try:
        yield ns
    finally:
        stop.set()
        for t in threads:
            t.join(10)


def _route(client: KubeClient, ns: str) -> dict[str, Any]:
    return client.get(ROUTE_API, "HTTPRoute", "argo-rollouts-http-route", ns)


def _phase(client: KubeClient, ns: str, phase: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        ro = client.get(RO_API, "Rollout", "rollouts-demo", ns)
        st = ro.get("status") or {}
        ok = st.get("observedGeneration") == str(ro["metadata"]["generation"])
        return st if ok and st.get("phase") == phase else None
    return wait_for(f"rollout {phase}", check, 20)


def _update(client: KubeClient, ns: str) -> None:
    client.patch(RO_API, "Rollout", "rollouts-demo", {"spec": {"template": {"metadata": {
        "annotations": {"update": "1"}}}}}, ns)


def _unmanaged_kept(route: dict[str, Any]) -> None:
    refs = route["spec"]["rules"][0]["backendRefs"]
    assert refs[2] == {"name": "unmanaged", "port": 9898, "weight": 7}


def test_header_rule_during_the_update_then_removed_on_completion(client: KubeClient,
                                                                  ns: str) -> None:
    _phase(client, ns, "Healthy")
    assert len(_route(client, ns)["spec"]["rules"]) == 1  # never on the first revision
    _update(client, ns)
    st = _phase(client, ns, "Paused")
    assert st["currentStepIndex"] == 2
    route = _route(client, ns)
    rules = route["spec"]["rules"]
    assert [r.get("name") for r in rules] == [None, "beta"]
    assert rules[1]["matches"] == [{"headers": [
        {"name": "X-Beta", "type": "RegularExpression", "value": "yes.*"}]}]
    assert [b["name"] for b in rules[1]["backendRefs"]] == ["podinfo-canary"]
    assert [b.get("weight") for b in rules[0]["backendRefs"]] == [70, 30, 7]
    _unmanaged_kept(route)
    client.patch_status(RO_API, "Rollout", "rollouts-demo", {"status": {
        "pauseConditions": None}}, ns)  # what `kubectl argo rollouts promote` sends
    _phase(client, ns, "Healthy")
    wait_for("header rule removed", lambda: len(_route(client, ns)["spec"]["rules"]) == 1, 10)
    # Healthy is written before the route goes back to the stable Service (the completion
    # order of test_argo_restart_safety.py), so the last weights may follow a pass later
    wait_for("weights back to stable", lambda: [b.get("weight") for b in _route(client, ns)[
        "spec"]["rules"][0]["backendRefs"]] == [100, 0, 7], 10)
    _unmanaged_kept(_route(client, ns))


def test_abort_removes_the_header_rule(client: KubeClient, ns: str) -> None:
    _phase(client, ns, "Healthy")
    _update(client, ns)
    _phase(client, ns, "Paused")
    assert len(_route(client, ns)["spec"]["rules"]) == 2
    client.patch_status(RO_API, "Rollout", "rollouts-demo", {"status": {"abort": True}}, ns)
    _phase(client, ns, "Degraded")
    wait_for("header rule removed", lambda: len(_route(client, ns)["spec"]["rules"]) == 1, 10)
    _unmanaged_kept(_route(client, ns))
