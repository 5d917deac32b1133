"""Test helpers: a sandbox API server process, a readiness simulator and a fixed Prometheus.

The readiness simulator stands in for the node agent: it writes Deployment status as a
finished rollout would. The Prometheus stand-in is a real HTTP peer answering /api/v1/query
with a vector whose value the test sets.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import yaml
from local_http import serve

from canary.kube.client import ApiError, KubeClient, KubeConfig

ROOT = Path(__file__).resolve().parent.parent
CRDS = ROOT / "fixtures" / "manifests" / "crds"
PY = sys.executable


class ApiServer:
    def __init__(self, d: Path, port: int = 0, install_crds: bool = True) -> None:
        self.dir = d
        self.log = open(d / "apiserver.log", "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [PY, "-m", "canary.sandbox.apiserver", "--dir", str(d), "--port", str(port),
             "--token", "tok"], stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=ROOT)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"apiserver did not start: {line!r}; see {d}/apiserver.log")
        self.port = port = int(m.group(1))
        self.kubeconfig = d / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "s", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
            "users": [{"name": "s", "user": {"token": "tok"}}],
            "contexts": [{"name": "s", "context": {"cluster": "s", "user": "s"}}],
            "current-context": "s"}))
        self.client = KubeClient(KubeConfig.load(str(self.kubeconfig)))
        if install_crds:
            try:
                for f in sorted(CRDS.glob("*.yaml")):
                    self.client.create(yaml.safe_load(f.read_text()))
            except Exception:
                self.stop()  # never leave a server behind when setup fails
                raise
            self.client.forget_resources()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class ReadinessSimulator(threading.Thread):
    """Marks every Deployment in ``namespace`` rolled out (what the node agent would report)."""

    def __init__(self, client: KubeClient, namespace: str) -> None:
        super().__init__(daemon=True)
        self.client, self.namespace = client, namespace
        self.stop_event = threading.Event()
        self.hold: set[str] = set()  # deployments kept unready

    def run(self) -> None:
        while not self.stop_event.wait(0.03):
            try:
                for dep in self.client.items("apps/v1", "Deployment", self.namespace):
                    self._mark(dep)
            except Exception:  # noqa: BLE001,S112 - the API may be restarting; try again
                continue

    def _mark(self, dep: dict[str, Any]) -> None:
        if dep["metadata"]["name"] in self.hold:
            return
        n = dep["spec"].get("replicas", 1)
        gen = dep["metadata"].get("generation", 1)
        want = {"observedGeneration": gen, "replicas": n, "updatedReplicas": n,
                "readyReplicas": n, "availableReplicas": n,
                "conditions": [{"type": "Available", "status": "True",
                                "reason": "MinimumReplicasAvailable"}]}
        st = dep.get("status") or {}
        if all(st.get(k) == v for k, v in want.items() if k != "conditions"):
            return
        dep["status"] = want
        try:
            self.client.update_status(dep)
        except ApiError:
            pass


class FakePrometheus:
    """/api/v1/query answering a one-series vector with ``value`` (None: empty result)."""

    def __init__(self) -> None:
        self.value: float | None = 100.0
        self.queries: list[str] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                from urllib.parse import parse_qs, urlsplit
                q = parse_qs(urlsplit(self.path).query).get("query", [""])[0]
                outer.queries.append(q)
                v = outer.value
                result = [] if v is None else [{"metric": {}, "value": [time.time(), str(v)]}]
                body = json.dumps({"status": "success",
                                   "data": {"resultType": "vector", "result": result}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a: object) -> None:
                pass

        self.httpd, self.url = serve(H)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Engine:
    def __init__(self, kubeconfig: Path, prom: str, scale: float, log: Path,
                 log_format: str = "text") -> None:
        self.log_path = log
        self.log = open(log, "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [PY, "-m", "canary.controller.main", "--kubeconfig", str(kubeconfig),
             "--metrics-address-override", prom, "--time-scale", str(scale), "--namespace", "test",
             "--log-format", log_format],
            stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=ROOT)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        m = re.search(r"127\.0\.0\.1:(\d+)/metrics", line)
        self.metrics_url = f"http://127.0.0.1:{m.group(1)}" if m else ""

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class RouteRecorder(threading.Thread):
    """Records every distinct canary weight the HTTPRoute ``podinfo`` shows, via watch."""

    def __init__(self, client: KubeClient) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.weights: list[int] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        rv = None
        while not self.stop_event.is_set():
            try:
                for _type, obj in self.client.watch("gateway.networking.k8s.io/v1beta1",
                                                    "HTTPRoute", "test", resource_version=rv,
                                                    timeout_seconds=2):
                    rv = obj["metadata"].get("resourceVersion")
                    refs = obj["spec"]["rules"][0]["backendRefs"]
                    w = next(r["weight"] for r in refs if r["name"] == "podinfo-canary")
                    if not self.weights or self.weights[-1] != w:
                        self.weights.append(w)
                    if self.stop_event.is_set():
                        return
            except Exception:  # noqa: BLE001 - reconnect; relist when the server restarted
                rv = None
                time.sleep(0.05)


def wait_for(fn: Any, timeout: float, what: str) -> Any:
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = fn()
        except ApiError:
            last = None
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def env_ok() -> bool:
    return os.path.exists(CRDS)
