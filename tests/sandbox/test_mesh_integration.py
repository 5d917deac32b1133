"""The mesh process against the real sandbox API server: objects arrive by watch."""

from __future__ import annotations

import http.client
import math
import time

import pytest
import requests
from support.mesh_backends import Backend, call, random_net
from support.mesh_objects import endpoints, httproute, namespace, pod, service
from support.mesh_stack import Stack

from canary.kube.client import retry_on_conflict
from canary.sandbox.prometheus import register_prometheus_service

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    st = Stack(tmp_path_factory.mktemp("sandbox"))
    backends: list[Backend] = []
    try:
        client = st.start_apiserver()
        st.install_httproute_crd()
        st.start_mesh()
        pods_net, _ = random_net()
        primary = Backend("primary", pods_net + "1")
        canary = Backend("canary", pods_net + "2")
        backends += [primary, canary]
        client.create(namespace("test"))
        p_pod = pod("podinfo-primary-5c7f9d8b6-aaaaa", primary.ip, "podinfo-primary",
                    hash_="5c7f9d8b6", port=primary.port)
        c_pod = pod("podinfo-6d9f8b7c4d-bbbbb", canary.ip, "podinfo", port=canary.port)
        load = pod("load-7f5d4c9b8-ccccc", pods_net + "3", "load", hash_="7f5d4c9b8")
        curl = pod("curl", pods_net + "4", meshed=False)
        for p in (p_pod, c_pod, load, curl):
            own_owner(client, p)
            created = client.create({k: v for k, v in p.items() if k != "status"})
            created["status"] = p["status"]
            client.update_status(created)
        ips = {}
        for name, target in (("podinfo", primary.port), ("podinfo-primary", primary.port),
                             ("podinfo-canary", canary.port)):
            svc = service(name, "", 9898, target)
            del svc["spec"]["clusterIP"]  # allocated by the API server
            ips[name] = client.create(svc)["spec"]["clusterIP"]
        client.create(endpoints("podinfo", [p_pod], primary.port))
        client.create(endpoints("podinfo-primary", [p_pod], primary.port))
        client.create(endpoints("podinfo-canary", [c_pod], canary.port))
        client.create(httproute(70, 30, api_version="v1beta1"))
        deadline = time.monotonic() + 10
        while not st.listening(ips["podinfo"], 9898):
            assert time.monotonic() < deadline, "mesh never listened on the podinfo ClusterIP"
            time.sleep(0.05)
        st.apex = ips["podinfo"]
        st.load, st.curl = pods_net + "3", pods_net + "4"
        yield st
    finally:
        st.stop()
        for b in backends:
            b.stop()


def own_owner(client, p: dict) -> None:
    """Create the ReplicaSet a pod's ownerReference names (else GC would delete the pod)."""
    for ref in p["metadata"].get("ownerReferences") or []:
        labels = dict(p["metadata"]["labels"])
        rs = client.create({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": ref["name"], "namespace": "test", "labels": labels},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "x"}]}}}})
        ref["uid"] = rs["metadata"]["uid"]


def set_weights(st: Stack, primary: int, canary: int, canary_port: int | None = None) -> None:
    def put() -> dict:
        route = st.client.get("gateway.networking.k8s.io/v1", "HTTPRoute", "podinfo", "test")
        route["spec"] = httproute(primary, canary, canary_port=canary_port)["spec"]
        return st.client.update(route)

    retry_on_conflict(put)  # the mesh writes route status, as Linkerd does


def shares(st: Stack, source: str, n: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    conn = http.client.HTTPConnection(st.apex, 9898, timeout=10, source_address=(source, 0))
    try:
        for _ in range(n):
            status, body = call(st.apex, 9898, "/", conn=conn)
            key = body["name"] if status == 200 else str(status)
            counts[key] = counts.get(key, 0) + 1
    finally:
        conn.close()
    return counts


def test_meshed_client_split_70_30_then_0_100_within_a_second(stack):
    set_weights(stack, 70, 30)
    time.sleep(0.3)  # let the watch deliver the reset (the fixture may have run other tests)
    n = 1000
    counts = shares(stack, stack.load, n)
    sigma = math.sqrt(n * 0.3 * 0.7)
    assert abs(counts.get("canary", 0) - 0.3 * n) < 3 * sigma, counts

    set_weights(stack, 0, 100)
    changed = time.monotonic()
    conn = http.client.HTTPConnection(stack.apex, 9898, timeout=10,
                                      source_address=(stack.load, 0))
    streak = 0
    while streak < 20:
        assert time.monotonic() - changed < 1.0, "route change took more than 1 s to apply"
        streak = streak + 1 if call(stack.apex, 9898, "/", conn=conn)[1]["name"] == "canary" \
            else 0
    conn.close()
    assert shares(stack, stack.load, 200) == {"canary": 200}


def test_unmeshed_client_ignores_the_route(stack):
    set_weights(stack, 0, 100)
    time.sleep(0.3)
    assert shares(stack, stack.curl, 100) == {"primary": 100}


def test_backend_with_a_wrong_port_answers_500(stack):
    set_weights(stack, 0, 100, canary_port=8080)
    deadline = time.monotonic() + 2
    while True:
        status, body = call(stack.apex, 9898, "/", source=stack.load)
        if status == 500:
            break
        assert time.monotonic() < deadline, f"still {status} {body}"
    assert "8080" in body
    set_weights(stack, 100, 0)


def test_metrics_show_the_canary_pods_inbound_traffic(stack):
    text = requests.get(f"http://127.0.0.1:{stack.mesh_port}/metrics", timeout=5).text
    lines = [x for x in text.splitlines() if x.startswith("response_total{")
             and 'direction="inbound"' in x and 'deployment="podinfo"' in x]
    assert lines and all('namespace="test"' in x and 'classification="success"' in x
                         for x in lines)


def test_prometheus_service_is_reachable_through_the_mesh(stack):
    fake_prom = Backend("prometheus", "127.0.0.1")
    try:
        register_prometheus_service(stack.client, fake_prom.port)
        register_prometheus_service(stack.client, fake_prom.port)  # idempotent
        svc = stack.client.get("v1", "Service", "prometheus", "linkerd-viz")
        ip = svc["spec"]["clusterIP"]
        assert svc["spec"]["ports"][0]["port"] == 9090
        deadline = time.monotonic() + 5
        while not stack.listening(ip, 9090):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        status, body = call(ip, 9090, "/api/v1/query")
        assert status == 200 and body["name"] == "prometheus"
    finally:
        fake_prom.stop()


def test_seed_query_via_prometheus_linkerd_viz_through_the_mesh(stack):
    """The whole chain: mesh process -> real Prometheus -> Service prometheus.linkerd-viz:9090."""
    from support.seed_query import Traffic, prometheus_missing, render

    if prometheus_missing():
        pytest.skip(prometheus_missing())
    from canary.sandbox import prometheus as prom

    set_weights(stack, 50, 50)
    proc = prom.start_prometheus(stack.layout, 0.05)
    traffic = Traffic(stack)
    try:
        port = stack.layout.read_config()["prometheus_port"]
        prom.wait_ready(port, timeout=20, proc=proc)
        register_prometheus_service(stack.client, port)
        ip = stack.client.get("v1", "Service", "prometheus", "linkerd-viz")["spec"]["clusterIP"]
        traffic.start()
        q = render("test", "podinfo", "3s")
        deadline = time.monotonic() + 15
        value = None
        while time.monotonic() < deadline:
            r = requests.get(f"http://{ip}:9090/api/v1/query", params={"query": q}, timeout=5)
            result = r.json()["data"]["result"]
            if result and float(result[0]["value"][1]) > 99:
                value = float(result[0]["value"][1])
                break
            time.sleep(0.25)
        assert value == pytest.approx(100, abs=0.5), r.text
    finally:
        traffic.stop_event.set()
        proc.terminate()
        proc.wait(10)


def test_route_status_reports_resolved_refs(stack):
    def reasons() -> dict[str, str]:
        route = stack.client.get("gateway.networking.k8s.io/v1", "HTTPRoute", "podinfo", "test")
        parents = (route.get("status") or {}).get("parents") or []
        return {c["type"]: c["reason"] for p in parents
                if p.get("controllerName") == "linkerd.io/policy-controller"
                for c in p.get("conditions") or []}

    def wait_for(expected: dict[str, str]) -> None:
        deadline = time.monotonic() + 3
        while reasons() != expected:
            assert time.monotonic() < deadline, reasons()
            time.sleep(0.05)

    set_weights(stack, 100, 0)
    wait_for({"Accepted": "Accepted", "ResolvedRefs": "ResolvedRefs"})
    set_weights(stack, 100, 0, canary_port=8080)
    wait_for({"Accepted": "Accepted", "ResolvedRefs": "BackendNotFound"})
    set_weights(stack, 100, 0)
    wait_for({"Accepted": "Accepted", "ResolvedRefs": "ResolvedRefs"})
