"""Node agent parts without an API server: pods' deletion order, ReplicaSet status, Endpoints,
selectors, pod IPs, container env, probes and back-off."""

from __future__ import annotations

import http.server
import socket
import threading
from pathlib import Path

import pytest

from canary.sandbox.node.endpoints import endpoint_subsets, slice_endpoints
from canary.sandbox.node.ipam import IPAM
from canary.sandbox.node.podenv import container_env, expand
from canary.sandbox.node.pods import backoff, image_id
from canary.sandbox.node.probes import probe_timing, run_probe
from canary.sandbox.node.replicasets import deletion_order, pod_from_template, replicaset_status
from canary.sandbox.node.selectors import selector_matcher
from canary.sandbox.node.workqueue import WorkQueue


def pod(name: str, ip: str = "", ready: bool = False, phase: str = "Running",
        labels: dict | None = None, created: str = "2024-01-01T00:00:00Z",
        restarts: int = 0, ready_since: str = "2024-01-01T00:00:10Z") -> dict:
    return {"metadata": {"name": name, "namespace": "test", "uid": f"uid-{name}",
                         "labels": labels or {"app": "podinfo"}, "creationTimestamp": created},
            "spec": {"nodeName": "sandbox",
                     "containers": [{"name": "c", "ports": [
                         {"name": "http", "containerPort": 9898}]}]},
            "status": {"phase": phase, "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": ready_since}],
                       "containerStatuses": [{"name": "c", "restartCount": restarts}]}}


def test_scale_down_prefers_pending_then_unready_then_newer_pods():
    running_ready_old = pod("a", ready=True, created="2024-01-01T00:00:00Z")
    running_ready_new = pod("b", ready=True, created="2024-01-02T00:00:00Z",
                            ready_since="2024-01-02T00:00:10Z")
    unready = pod("c", ready=False)
    pending = pod("d", phase="Pending")
    order = deletion_order([running_ready_old, running_ready_new, unready, pending])
    assert [p["metadata"]["name"] for p in order] == ["d", "c", "b", "a"]


def test_replicaset_status_counts_ready_and_labelled_pods():
    rs = {"metadata": {"name": "r", "namespace": "test", "generation": 3},
          "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "podinfo"}}}},
          "status": {}}
    st = replicaset_status(rs, [pod("a", ready=True), pod("b"),
                                pod("c", labels={"other": "x"}, ready=True)], 0)
    assert st == {"replicas": 3, "fullyLabeledReplicas": 2, "readyReplicas": 2,
                  "availableReplicas": 2, "observedGeneration": 3}


def test_pod_from_template_is_owned_and_labelled():
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "podinfo-abc", "namespace": "test", "uid": "rs1"},
          "spec": {"template": {"metadata": {"labels": {"app": "podinfo",
                                                        "pod-template-hash": "abc"},
                                             "annotations": {"linkerd.io/inject": "enabled"}},
                                "spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    p = pod_from_template(rs, "podinfo-abc-xyz12", {"linkerd.io/proxy-deployment": "podinfo"})
    md = p["metadata"]
    assert md["labels"]["pod-template-hash"] == "abc"
    assert md["labels"]["linkerd.io/proxy-deployment"] == "podinfo"
    assert md["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                      "name": "podinfo-abc", "uid": "rs1", "controller": True,
                                      "blockOwnerDeletion": True}]
    assert md["annotations"] == {"linkerd.io/inject": "enabled"}


def service(target: object = "http") -> dict:
    return {"metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {"selector": {"app": "podinfo"},
                     "ports": [{"name": "http", "port": 9898, "targetPort": target}]}}


def test_endpoints_split_ready_and_not_ready_and_resolve_named_ports():
    pods = [pod("a", "127.1.0.2", ready=True), pod("b", "127.1.0.1", ready=True),
            pod("c", "127.1.0.3"), pod("d", "127.1.0.4", labels={"app": "other"}),
            pod("e", "")]  # no IP yet: not listed
    subsets = endpoint_subsets(service(), pods)
    assert len(subsets) == 1
    assert [a["ip"] for a in subsets[0]["addresses"]] == ["127.1.0.1", "127.1.0.2"]
    assert [a["ip"] for a in subsets[0]["notReadyAddresses"]] == ["127.1.0.3"]
    assert subsets[0]["addresses"][0]["targetRef"]["name"] == "b"
    assert subsets[0]["ports"] == [{"port": 9898, "protocol": "TCP", "name": "http"}]
    eps, ports = slice_endpoints(service(8080), pods)
    assert ports == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert [(e["addresses"][0], e["conditions"]["ready"]) for e in eps] == [
        ("127.1.0.1", True), ("127.1.0.2", True), ("127.1.0.3", False)]


def test_endpoints_skip_pods_without_the_named_port():
    assert endpoint_subsets(service("metrics"), [pod("a", "127.1.0.2", ready=True)]) == []


def test_label_selector_expressions():
    m = selector_matcher({"matchLabels": {"app": "p"},
                          "matchExpressions": [{"key": "tier", "operator": "In",
                                                "values": ["a", "b"]},
                                               {"key": "canary", "operator": "DoesNotExist"}]})
    assert m({"app": "p", "tier": "a"})
    assert not m({"app": "p", "tier": "c"})
    assert not m({"app": "p", "tier": "a", "canary": "1"})
    assert not selector_matcher({})({"app": "p"})
    with pytest.raises(ValueError, match="Bogus"):
        selector_matcher({"matchExpressions": [{"key": "a", "operator": "Bogus"}]})


def test_pod_ips_are_distinct_persisted_and_not_reused_at_once(tmp_path: Path):
    ipam = IPAM(tmp_path / "ipam.json")
    a, b = ipam.allocate("a"), ipam.allocate("b")
    assert a != b and a.startswith("127.1.") and b.startswith("127.1.")
    assert ipam.allocate("a") == a
    again = IPAM(tmp_path / "ipam.json")  # a restarted agent
    assert again.allocate("a") == a
    c = again.allocate("c")
    assert c not in (a, b)
    again.release("b")
    assert again.allocate("d") != b
    again.retain_only({"a"})
    assert again.allocations() == {"a": a}


def test_container_env_values_field_refs_and_expansion():
    p = pod("web", "127.1.0.9")
    container = {"name": "c", "env": [
        {"name": "A", "value": "x"},
        {"name": "B", "value": "$(A)-y-$$(A)"},
        {"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "R", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}]}
    warnings: list[str] = []
    env = container_env(p, container, None, warnings.append)
    assert env == {"A": "x", "B": "x-y-$(A)", "ME": "web", "IP": "127.1.0.9", "APP": "podinfo"}
    assert len(warnings) == 1 and "R left unset" in warnings[0]
    assert expand("--port=$(PORT) $(UNKNOWN)", {"PORT": "80"}) == "--port=80 $(UNKNOWN)"


def test_probe_timing_is_scaled_and_floored():
    t = probe_timing({"periodSeconds": 10, "initialDelaySeconds": 4, "failureThreshold": 2},
                     0.05)
    assert t.period == pytest.approx(0.5) and t.initial_delay == pytest.approx(0.2)
    assert t.failure_threshold == 2 and t.success_threshold == 1
    assert probe_timing({"periodSeconds": 1}, 0.001).period == 0.05


def test_crash_backoff_doubles_to_five_minutes_scaled():
    assert backoff(1, 1.0) == 10 and backoff(2, 1.0) == 20 and backoff(10, 1.0) == 300
    assert backoff(1, 0.05) == pytest.approx(0.5)
    assert image_id("quay.io/stefanprodan/podinfo:1.7.0").startswith(
        "quay.io/stefanprodan/podinfo@sha256:")


@pytest.fixture
def http_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200 if self.path == "/readyz" else 503)
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_http_and_tcp_probes_against_a_real_listener(http_server: int):
    container = {"name": "c", "ports": [{"name": "http", "containerPort": http_server}]}
    ok, _ = run_probe({"httpGet": {"path": "/readyz", "port": "http"}}, container,
                      "127.0.0.1", 1.0)
    assert ok
    ok, msg = run_probe({"httpGet": {"path": "/other", "port": http_server}}, container,
                        "127.0.0.1", 1.0)
    assert not ok and msg == "HTTP probe failed with statuscode: 503"
    assert run_probe({"tcpSocket": {"port": http_server}}, container, "127.0.0.1", 1.0)[0]
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    free = s.getsockname()[1]
    s.close()
    ok, msg = run_probe({"tcpSocket": {"port": free}}, container, "127.0.0.1", 1.0)
    assert not ok and "connection refused" in msg


def test_work_queue_deduplicates_and_delays():
    q = WorkQueue("t")
    q.add("a")
    q.add("a")
    q.add_after("b", 0.01)
    assert q.get() == "a"
    q.add("a")  # re-added while processing: comes back after done()
    q.done("a")
    assert q.get() == "a"
    q.done("a")
    assert q.get() == "b"
    q.done("b")
    q.shutdown()
    assert q.get() is None
