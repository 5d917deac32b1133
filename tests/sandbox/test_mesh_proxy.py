"""The mesh data plane over real sockets, fed with objects directly (no API server)."""

from __future__ import annotations

import http.client
import math
import random
import time

import pytest
from support.mesh_backends import Demo, call
from support.mesh_objects import endpoints, httproute, service

from canary.sandbox.mesh.metrics import MeshMetrics
from canary.sandbox.mesh.proxy import Listeners, Mesh

SVC_PORT = 9898


@pytest.fixture
def demo():
    d = Demo()
    metrics = MeshMetrics()
    listeners = Listeners(Mesh(d.state, metrics, rng=random.Random(42)))
    listeners.sync()
    yield {"state": d.state, "metrics": metrics, "listeners": listeners, "apex": d.apex,
           "load": d.load, "outsider": d.outsider, "svc_net": d.svc_net, "canary": d.canary}
    listeners.close()
    d.stop()


def share(apex: str, source: str, n: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    conn = http.client.HTTPConnection(apex, SVC_PORT, timeout=10, source_address=(source, 0))
    try:
        for _ in range(n):
            status, body = call(apex, SVC_PORT, "/", conn=conn)
            assert status == 200, body
            counts[body["name"]] = counts.get(body["name"], 0) + 1
    finally:
        conn.close()
    return counts


def test_meshed_client_is_split_70_30(demo):
    n = 1000
    counts = share(demo["apex"], demo["load"], n)
    sigma = math.sqrt(n * 0.3 * 0.7)
    assert abs(counts.get("canary", 0) - 300) < 3 * sigma, counts


def test_unmeshed_client_ignores_the_route(demo):
    assert share(demo["apex"], demo["outsider"], 200) == {"primary": 200}
    assert share(demo["apex"], "127.0.0.1", 50) == {"primary": 50}


def test_route_change_applies_to_the_next_request(demo):
    demo["state"].apply("HTTPRoute", "MODIFIED", httproute(0, 100))
    assert share(demo["apex"], demo["load"], 100) == {"canary": 100}


def test_backend_with_wrong_port_answers_500(demo):
    demo["state"].apply("HTTPRoute", "MODIFIED", httproute(0, 100, canary_port=8080))
    status, body = call(demo["apex"], SVC_PORT, "/", source=demo["load"])
    assert status == 500 and "8080" in body


def test_no_ready_endpoint_answers_503(demo):
    demo["state"].apply("Endpoints", "MODIFIED", endpoints("podinfo", []))
    status, body = call(demo["apex"], SVC_PORT, "/", source=demo["outsider"])
    assert status == 503 and "no ready endpoints" in body


def test_meshed_client_identity_is_passed_to_meshed_pods(demo):
    demo["state"].apply("HTTPRoute", "MODIFIED", httproute(0, 100))
    _, body = call(demo["apex"], SVC_PORT, "/", source=demo["load"])
    assert body["client_id"] == "default.test.serviceaccount.identity.linkerd.cluster.local"


def test_inbound_and_outbound_series_are_recorded(demo):
    demo["state"].apply("HTTPRoute", "MODIFIED", httproute(0, 100))
    for path in ("/", "/", "/status/503", "/status/404"):
        call(demo["apex"], SVC_PORT, path, source=demo["load"])
    text = demo["metrics"].render()
    inbound = [line for line in text.splitlines() if line.startswith("response_total{")
               and 'direction="inbound"' in line and 'deployment="podinfo"' in line]
    got = sorted((line.split('status_code="')[1][:3], line.split('classification="')[1]
                  .split('"')[0], line.rsplit(" ", 1)[1]) for line in inbound)
    assert got == [("200", "success", "2"), ("404", "success", "1"), ("503", "failure", "1")]
    assert 'direction="outbound"' in text and 'dst_deployment="podinfo"' in text


def test_listeners_follow_services(demo):
    state, listeners = demo["state"], demo["listeners"]
    extra = service("extra", demo["svc_net"] + "9", 8080, demo["canary"].port)
    state.apply("Service", "ADDED", extra)
    state.apply("Endpoints", "ADDED", endpoints(
        "extra", [state.pod("test", "podinfo-6d9f8b7c4d-bbbbb")], demo["canary"].port))
    listeners.sync()
    assert call(demo["svc_net"] + "9", 8080, "/")[1]["name"] == "canary"
    state.apply("Service", "DELETED", extra)
    listeners.sync()
    deadline = time.monotonic() + 3
    while (demo["svc_net"] + "9", 8080) in listeners.addresses() or _accepts(
            demo["svc_net"] + "9", 8080):
        assert time.monotonic() < deadline, "listener still open after the Service was deleted"
        time.sleep(0.05)


def _accepts(ip: str, port: int) -> bool:
    import socket
    try:
        socket.create_connection((ip, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _dead_pod(demo, name: str, ip_suffix: str) -> dict:
    from support.mesh_objects import pod

    ip = demo["svc_net"].replace("127.100.", "127.1.") + ip_suffix
    p = pod(name, ip, "podinfo", port=demo["canary"].port)  # nothing listens there
    demo["state"].apply("Pod", "ADDED", p)
    return p


def test_endpoint_whose_process_is_down_is_skipped(demo):
    state = demo["state"]
    dead = _dead_pod(demo, "podinfo-6d9f8b7c4d-dead1", "77")
    live = state.pod("test", "podinfo-6d9f8b7c4d-bbbbb")
    state.apply("Endpoints", "MODIFIED",
                endpoints("podinfo-canary", [dead, live], demo["canary"].port))
    state.apply("HTTPRoute", "MODIFIED", httproute(0, 100))
    assert share(demo["apex"], demo["load"], 50) == {"canary": 50}
    text = demo["metrics"].render()
    assert "podinfo-6d9f8b7c4d-dead1" not in text  # nothing reached it, nothing recorded


def test_only_endpoint_down_answers_502_recorded_as_failure(demo):
    state = demo["state"]
    dead = _dead_pod(demo, "podinfo-6d9f8b7c4d-dead2", "78")
    state.apply("Endpoints", "MODIFIED",
                endpoints("podinfo-canary", [dead], demo["canary"].port))
    state.apply("HTTPRoute", "MODIFIED", httproute(0, 100))
    status, _ = call(demo["apex"], SVC_PORT, "/", source=demo["load"])
    assert status == 502
    failures = [line for line in demo["metrics"].render().splitlines()
                if line.startswith("response_total{") and "dead2" in line
                and 'direction="inbound"' in line]
    assert len(failures) == 1 and 'classification="failure"' in failures[0]
    assert "status_code" not in failures[0]
