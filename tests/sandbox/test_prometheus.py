"""The real Prometheus scraping the mesh answers the seed's success-rate query."""

from __future__ import annotations

import math
import random
import threading
import time

import pytest
import requests
import yaml
from support.mesh_backends import Demo
from support.mesh_objects import httproute
from support.seed_query import TIME_SCALE, Traffic, prometheus_missing, render

from canary.sandbox import prometheus as prom
from canary.sandbox.layout import SandboxLayout
from canary.sandbox.mesh.metrics import MeshMetrics
from canary.sandbox.mesh.metrics_server import MetricsServer
from canary.sandbox.mesh.proxy import Listeners, Mesh


def test_scrape_interval_is_linkerd_viz_10s_scaled(tmp_path):
    layout = SandboxLayout.at(tmp_path)
    cfg = yaml.safe_load(prom.write_config(layout, ["127.0.0.1:1", "127.0.0.1:2"], 0.05)
                         .read_text())
    assert cfg["global"]["scrape_interval"] == "500ms"
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    assert jobs["linkerd-proxy"]["honor_labels"] is True
    assert jobs["linkerd-proxy"]["static_configs"] == [{"targets": ["127.0.0.1:1"]}]
    assert jobs["canary-engine"]["static_configs"] == [{"targets": ["127.0.0.1:2"]}]
    assert prom.scrape_interval(1.0) == 10.0 and prom.scrape_interval(0.001) == 0.1


def test_missing_binary_names_the_package(monkeypatch):
    monkeypatch.setenv("CANARY_PROMETHEUS", "/nonexistent/prometheus")
    with pytest.raises(prom.PrometheusError) as e:
        prom.find_binary()
    assert "apt-get install -y prometheus" in str(e.value)
    assert "CANARY_PROMETHEUS" in str(e.value)


def test_start_without_mesh_port_is_a_clear_error(tmp_path):
    if prometheus_missing():
        pytest.skip(prometheus_missing())
    with pytest.raises(prom.PrometheusError, match="mesh_metrics_port"):
        prom.start_prometheus(SandboxLayout.at(tmp_path), TIME_SCALE)


def query(port: int, q: str) -> float | None:
    r = requests.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": q}, timeout=5)
    r.raise_for_status()
    result = r.json()["data"]["result"]
    if not result:
        return None
    value = float(result[-1]["value"][1])
    return None if math.isnan(value) else value


def wait_for_value(port: int, q: str, ok, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = query(port, q)
        if value is not None and ok(value):
            return value
        time.sleep(0.25)
    return value


@pytest.mark.timeout(60)
def test_seed_success_rate_query_through_real_prometheus(tmp_path):
    if prometheus_missing():
        pytest.skip(prometheus_missing())
    layout = SandboxLayout.at(tmp_path)
    layout.update_config(time_scale=TIME_SCALE)
    demo = Demo(canary_error_every=0)
    demo.state.apply("HTTPRoute", "MODIFIED", httproute(50, 50))
    metrics = MeshMetrics()
    listeners = Listeners(Mesh(demo.state, metrics, rng=random.Random(1)))
    listeners.sync()
    server = MetricsServer(("127.0.0.1", 0), metrics, demo.state, listeners)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    layout.update_config(mesh_metrics_port=server.server_address[1])
    traffic = Traffic(demo)
    proc = prom.start_prometheus(layout, TIME_SCALE)
    try:
        port = layout.read_config()["prometheus_port"]
        prom.wait_ready(port, timeout=20, proc=proc)
        traffic.start()
        # interval "1m" time-scaled by 0.05 is 3s.
        q = render("test", "podinfo", "3s")
        healthy = wait_for_value(port, q, lambda v: v > 99, timeout=15)
        assert healthy is not None and healthy == pytest.approx(100, abs=0.5), healthy
        # The canary starts failing 1 request in 3 with a 5xx: the rate drops to ~66.7%.
        demo.canary.error_every = 3
        degraded = wait_for_value(port, q, lambda v: 60 <= v <= 75, timeout=15)
        assert degraded is not None and 60 <= degraded <= 75, degraded
        # The primary's pods (deployment podinfo-primary) never match deployment=~"podinfo".
        primary = query(port, 'sum(response_total{namespace="test",'
                              'deployment=~"podinfo-primary",direction="inbound"})')
        canary_only = query(port, 'sum(response_total{namespace="test",'
                                  'deployment=~"podinfo",direction="inbound"})')
        assert primary and canary_only and primary > 0 and canary_only > 0
    finally:
        traffic.stop_event.set()
        proc.terminate()
        proc.wait(10)
        server.shutdown()
        listeners.close()
        demo.stop()
