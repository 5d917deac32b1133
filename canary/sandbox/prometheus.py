"""The sandbox's real Prometheus: generated scrape config, launch, and in-cluster registration.

Prometheus scrapes the mesh's /metrics (which already carries linkerd-viz's labels, hence
``honor_labels: true``) every ``10s x time_scale``, like linkerd-viz's Prometheus every 10s. It is
registered as Service ``prometheus`` in namespace ``linkerd-viz`` port 9090 so the seed's
``http://prometheus.linkerd-viz:9090`` works through the mesh.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import requests
import yaml

from canary.clock import format_duration
from canary.kube.client import AlreadyExists, KubeClient
from canary.sandbox.layout import SandboxLayout

VIZ_NAMESPACE = "linkerd-viz"
SERVICE_PORT = 9090
BASE_SCRAPE_INTERVAL_S = 10.0  # linkerd-viz values.yaml scrape_interval
MIN_SCRAPE_INTERVAL_S = 0.1

MISSING_BINARY = ("prometheus binary not found: install the Debian package 'prometheus' "
                  "(apt-get install -y prometheus) or set CANARY_PROMETHEUS=/path/to/prometheus")


class PrometheusError(RuntimeError):
    pass


def find_binary() -> str:
    """The prometheus executable: $CANARY_PROMETHEUS, else PATH, else /usr/bin/prometheus."""
    env = os.environ.get("CANARY_PROMETHEUS")
    if env:
        if os.path.isfile(env) and os.access(env, os.X_OK):
            return env
        raise PrometheusError(f"CANARY_PROMETHEUS={env} is not an executable file. "
                              + MISSING_BINARY)
    found = shutil.which("prometheus")
    if found:
        return found
    if os.access("/usr/bin/prometheus", os.X_OK):
        return "/usr/bin/prometheus"
    raise PrometheusError(MISSING_BINARY)


def scrape_interval(time_scale: float) -> float:
    return max(MIN_SCRAPE_INTERVAL_S, BASE_SCRAPE_INTERVAL_S * time_scale)


def config_path(layout: SandboxLayout) -> Path:
    return layout.prometheus / "prometheus.yml"


def write_config(layout: SandboxLayout, scrape_targets: list[str], time_scale: float) -> Path:
    """Write DIR/prometheus/prometheus.yml scraping ``scrape_targets`` (host:port, /metrics).

    The first target is the mesh (job ``linkerd-proxy``); further targets form job
    ``canary-engine``.
    """
    interval = format_duration(scrape_interval(time_scale))
    jobs = []
    if scrape_targets:
        jobs.append({"job_name": "linkerd-proxy", "honor_labels": True,
                     "static_configs": [{"targets": scrape_targets[:1]}]})
    if len(scrape_targets) > 1:
        jobs.append({"job_name": "canary-engine", "honor_labels": True,
                     "static_configs": [{"targets": scrape_targets[1:]}]})
    cfg = {"global": {"scrape_interval": interval, "scrape_timeout": interval,
                      "evaluation_interval": interval},
           "scrape_configs": jobs}
    path = config_path(layout)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".yml.tmp")
    tmp.write_text(yaml.safe_dump(cfg, sort_keys=False))
    os.replace(tmp, path)
    return path


def targets_from_config(layout: SandboxLayout) -> list[str]:
    cfg = layout.read_config()
    if not cfg.get("mesh_metrics_port"):
        raise PrometheusError(f"{layout.config_file} has no mesh_metrics_port: start the mesh "
                              "(python -m canary.sandbox.mesh) before Prometheus")
    targets = [f"127.0.0.1:{int(cfg['mesh_metrics_port'])}"]
    if cfg.get("engine_metrics_port"):
        targets.append(f"127.0.0.1:{int(cfg['engine_metrics_port'])}")
    return targets


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_prometheus(layout: SandboxLayout, time_scale: float) -> subprocess.Popen:
    """Launch the real prometheus on 127.0.0.1:<free port>; writes ``prometheus_port``.

    Targets come from config.json (``mesh_metrics_port``, optional ``engine_metrics_port``).
    Output goes to DIR/logs/prometheus.log. Use :func:`wait_ready` before querying.
    """
    binary = find_binary()
    path = write_config(layout, targets_from_config(layout), time_scale)
    data = layout.prometheus / "data"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    layout.logs.mkdir(parents=True, exist_ok=True)
    log = open(layout.log("prometheus"), "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            [binary, f"--config.file={path}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1d",
             "--web.enable-lifecycle", "--log.level=warn",
             f"--query.lookback-delta={format_duration(max(1.0, 300.0 * time_scale))}"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    finally:
        log.close()
    layout.update_config(prometheus_port=port)
    return proc


def wait_ready(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Poll /-/ready until Prometheus answers 200; raise PrometheusError on timeout/exit."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise PrometheusError(f"prometheus exited with code {proc.returncode} before it "
                                  "was ready (see logs/prometheus.log)")
        try:
            if requests.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise PrometheusError(f"prometheus on 127.0.0.1:{port} not ready after {timeout}s")
        time.sleep(0.1)


def _upsert(client: KubeClient, obj: dict) -> dict:
    md = obj["metadata"]
    try:
        return client.create(obj)
    except AlreadyExists:
        current = client.get(obj["apiVersion"], obj["kind"], md["name"], md.get("namespace"))
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if obj["kind"] == "Service":
            # clusterIP is immutable: keep the allocated one.
            obj["spec"]["clusterIP"] = current.get("spec", {}).get("clusterIP")
        return client.update(obj)


def register_prometheus_service(client: KubeClient, prometheus_port: int) -> None:
    """Namespace linkerd-viz, Service prometheus:9090 (no selector) and its Endpoints."""
    try:
        client.create({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": VIZ_NAMESPACE}})
    except AlreadyExists:
        pass
    labels = {"linkerd.io/extension": "viz", "component": "prometheus"}
    _upsert(client, {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "prometheus", "namespace": VIZ_NAMESPACE, "labels": labels},
        "spec": {"type": "ClusterIP",
                 "ports": [{"name": "admin-http", "port": SERVICE_PORT, "protocol": "TCP",
                            "targetPort": prometheus_port}]}})
    _upsert(client, {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "prometheus", "namespace": VIZ_NAMESPACE, "labels": labels},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}],
                     "ports": [{"name": "admin-http", "port": prometheus_port,
                                "protocol": "TCP"}]}]})


