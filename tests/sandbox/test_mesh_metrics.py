"""Linkerd metric families and label sets, as the seed's success-rate query selects them."""

from __future__ import annotations

import re

from support.mesh_objects import pod

from canary.sandbox.mesh import labels as L
from canary.sandbox.mesh.metrics import LATENCY_BUCKETS_MS, MeshMetrics, classify

CANARY = pod("podinfo-6d9f8b7c4d-abcde", "127.1.0.5", "podinfo")
PRIMARY = pod("podinfo-primary-5c7f9d8b6-xyz12", "127.1.0.6", "podinfo-primary",
              hash_="5c7f9d8b6", app="podinfo-primary")
LOAD = pod("load-7f5d4c9b8-qwert", "127.1.0.7", "load", hash_="7f5d4c9b8")

SERIES = re.compile(r'^(\w+)\{(.*)\} (\S+)$')


def parse(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SERIES.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        lab = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        out.append((m.group(1), lab, float(m.group(3))))
    return out


def select(samples, name: str, **match: str):
    return [(lab, v) for n, lab, v in samples
            if n == name and all(lab.get(k) == val for k, val in match.items())]


def test_deployment_label_comes_from_the_owning_replicaset():
    assert L.owner(CANARY) == ("deployment", "podinfo")
    assert L.owner(PRIMARY) == ("deployment", "podinfo-primary")


def test_classification_is_failure_for_5xx_only():
    assert [classify(s) for s in (200, 302, 400, 404, 409, 499)] == ["success"] * 6
    assert [classify(s) for s in (500, 502, 503, 599)] == ["failure"] * 4
    assert classify(None) == "failure"  # proxy-level error


def test_inbound_series_carry_the_labels_the_seed_query_selects():
    m = MeshMetrics()
    lab = L.inbound_labels(CANARY, "127.1.0.5", 9898, LOAD, True)
    for status in (200, 200, 500):
        m.request(lab)
        m.response(lab, status, 3.2)
    samples = parse(m.render())
    resp = select(samples, "response_total", namespace="test", deployment="podinfo",
                  direction="inbound")
    by_class = {lab["classification"]: v for lab, v in resp}
    assert by_class == {"success": 2.0, "failure": 1.0}
    one = resp[0][0]
    assert one["pod"] == "podinfo-6d9f8b7c4d-abcde"
    assert one["pod_template_hash"] == "6d9f8b7c4d"
    assert one["app"] == "podinfo"
    assert one["target_addr"] == "127.1.0.5:9898" and one["target_port"] == "9898"
    assert one["tls"] == "true"
    assert one["client_id"] == "default.test.serviceaccount.identity.linkerd.cluster.local"
    assert one["srv_name"] == "all-unauthenticated" and one["route_name"] == "default"
    assert one["job"] == "linkerd-proxy" and one["instance"] == "127.1.0.5:4191"
    assert "authority" not in one  # inbound authority labels are off by default
    assert select(samples, "request_total", deployment="podinfo")[0][1] == 3.0


def test_primary_pods_are_deployment_podinfo_primary_so_the_anchored_regex_skips_them():
    m = MeshMetrics()
    m.response(L.inbound_labels(PRIMARY, "127.1.0.6", 9898, LOAD, True), 200, 1)
    samples = parse(m.render())
    deployments = {lab["deployment"] for n, lab, _ in samples if "deployment" in lab}
    assert deployments == {"podinfo-primary"}
    assert not [1 for d in deployments if re.fullmatch("podinfo", d)]


def test_unmeshed_client_shows_no_identity():
    lab = dict(L.inbound_labels(CANARY, "127.1.0.5", 9898, None, False))
    assert lab["tls"] == "no_identity" and lab["no_tls_reason"] == "no_tls_from_remote"


def test_outbound_series_carry_dst_labels_of_the_endpoint():
    lab = dict(L.outbound_labels(LOAD, "test", "podinfo-canary", 9898, "127.1.0.5", 9898,
                                 CANARY, True))
    assert lab["direction"] == "outbound"
    assert lab["authority"] == "podinfo-canary.test.svc.cluster.local:9898"
    assert lab["dst_namespace"] == "test" and lab["dst_service"] == "podinfo-canary"
    assert lab["dst_deployment"] == "podinfo" and lab["dst_pod"] == CANARY["metadata"]["name"]
    assert lab["dst_pod_template_hash"] == "6d9f8b7c4d"
    assert lab["deployment"] == "load" and lab["namespace"] == "test"
    assert lab["server_id"].startswith("default.test.serviceaccount.identity.linkerd")


def test_latency_histogram_uses_linkerd_buckets_and_is_cumulative():
    m = MeshMetrics()
    lab = L.inbound_labels(CANARY, "127.1.0.5", 9898, LOAD, True)
    for ms in (0.5, 7, 250, 60000):
        m.response(lab, 200, ms)
    samples = parse(m.render())
    buckets = {b["le"]: v for b, v in select(samples, "response_latency_ms_bucket")}
    assert list(buckets) == [str(b) for b in LATENCY_BUCKETS_MS] + ["+Inf"]
    assert buckets["1"] == 1 and buckets["10"] == 2 and buckets["300"] == 3
    assert buckets["50000"] == 3 and buckets["+Inf"] == 4
    assert select(samples, "response_latency_ms_count")[0][1] == 4
    assert select(samples, "response_latency_ms_sum")[0][1] == 60257.5
    assert all(b.get("status_code") == "200" for b, _ in
               select(samples, "response_latency_ms_bucket"))


def test_transport_error_is_a_failure_without_status_code():
    m = MeshMetrics()
    lab = L.inbound_labels(CANARY, "127.1.0.5", 9898, LOAD, True)
    m.response(lab, None, 1, "unexpected")
    [(resp, v)] = select(parse(m.render()), "response_total")
    assert resp["classification"] == "failure" and "status_code" not in resp
    assert resp["error"] == "unexpected"


def test_pod_label_names_are_sanitised_and_values_escaped():
    p = pod("x-1", "127.1.0.9", "x")
    p["metadata"]["labels"]["app.kubernetes.io/name"] = 'we"ird\\'
    m = MeshMetrics()
    m.response(L.inbound_labels(p, "127.1.0.9", 80, None, False), 200, 1)
    text = m.render()
    assert 'app_kubernetes_io_name="we\\"ird\\\\"' in text


def test_forget_drops_a_deleted_pods_series():
    m = MeshMetrics()
    m.response(L.inbound_labels(CANARY, "127.1.0.5", 9898, LOAD, True), 200, 1)
    m.response(L.inbound_labels(PRIMARY, "127.1.0.6", 9898, LOAD, True), 200, 1)
    m.forget(lambda lab: lab.get("pod") == CANARY["metadata"]["name"])
    pods = {lab["pod"] for _, lab, _ in parse(m.render())}
    assert pods == {PRIMARY["metadata"]["name"]}


def test_deleted_pods_series_leave_the_exposition_after_the_retention():
    import time

    from canary.sandbox.mesh.metrics import expire_deleted_pods
    from canary.sandbox.mesh.state import MeshState

    state = MeshState()
    state.replace("Pod", [CANARY, PRIMARY])
    m = MeshMetrics()
    m.response(L.inbound_labels(CANARY, "127.1.0.5", 9898, LOAD, True), 200, 1)
    m.response(L.inbound_labels(PRIMARY, "127.1.0.6", 9898, LOAD, True), 200, 1)
    expire_deleted_pods(state, m, retain_s=0.05)
    state.apply("Pod", "DELETED", CANARY)
    assert CANARY["metadata"]["name"] in m.render()  # kept for the last scrapes
    deadline = time.monotonic() + 2
    while CANARY["metadata"]["name"] in m.render():
        assert time.monotonic() < deadline, "deleted pod's series were never dropped"
        time.sleep(0.01)
    assert PRIMARY["metadata"]["name"] in m.render()
