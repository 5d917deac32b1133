"""A host process exposed as a pod behind its Service: kubectl port-forward svc/... works."""

from __future__ import annotations

import http.server
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support.apiserver import KUBECTL, ApiServer, read_lines_until

from canary.kube.client import KubeClient, KubeConfig
from canary.sandbox.system_pods import HOST_PROCESS, expose


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ApiServer]:
    s = ApiServer(tmp_path)
    s.start()
    yield s
    s.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_port_forward_to_a_service_reaches_the_host_process(server: ApiServer) -> None:
    class Ready(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"Prometheus Server is Ready.\n")

        def log_message(self, *_a: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = httpd.server_address[1]
    client = KubeClient(KubeConfig(server=server.url, token=server.token))
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "linkerd-viz"}})
    client.create({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "prometheus", "namespace": "linkerd-viz"},
                   "spec": {"ports": [{"name": "admin-http", "port": 9090,
                                       "targetPort": port}]}})
    labels = {"linkerd.io/extension": "viz", "component": "prometheus"}
    expose(client, "linkerd-viz", "prometheus", labels, "prometheus", "prom/prometheus", port,
           1234)
    expose(client, "linkerd-viz", "prometheus", labels, "prometheus", "prom/prometheus", port,
           1234)  # a second start (new port in real life) replaces the pod
    pods = client.items("v1", "Pod", "linkerd-viz")
    assert [p["metadata"]["name"] for p in pods] == ["prometheus-sandbox"]
    assert HOST_PROCESS in pods[0]["metadata"]["annotations"]
    assert client.get("v1", "Service", "prometheus", "linkerd-viz")["spec"]["selector"] == labels
    local = _free_port()
    proc = subprocess.Popen([KUBECTL, "--kubeconfig", str(server.kubeconfig), "-n",
                             "linkerd-viz", "port-forward", "svc/prometheus", f"{local}:9090"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = read_lines_until(proc, lambda ls: any("Forwarding from" in x for x in ls), 15)
        assert any("Forwarding from 127.0.0.1" in x for x in lines), lines
        deadline = time.monotonic() + 5
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{local}/-/ready", timeout=3)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert r.text == "Prometheus Server is Ready.\n"
    finally:
        proc.terminate()
        proc.wait(5)
        httpd.shutdown()
