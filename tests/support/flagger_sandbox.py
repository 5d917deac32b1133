"""Test helpers: a sandbox API server process, a readiness simulator and a fixed Prometheus.

The readiness simulator stands in for the node agent: it writes Deployment status as a
finished rollout would. The Prometheus stand-in is a real HTTP peer answering /api/v1/query
with a vector whose value the test sets.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from canary.kube.client import ApiError, KubeClient
from support import CRDS
from support import REPO as ROOT
from support.apiserver import ApiServer as SandboxApiServer
from support.local_http import Peer

PY = sys.executable


class ApiServer(SandboxApiServer):
    """Started at once; ``client`` is the project's client, with the CRDs installed."""

    def __init__(self, d: Path) -> None:
        super().__init__(d)
        self.start()
        try:
            self.client = self.install_crds()
        except Exception:
            self.stop()  # never leave a server behind when setup fails
            raise


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


class FakePrometheus(Peer):
    """/api/v1/query answering a one-series vector with ``value`` (None: empty result)."""

    def __init__(self) -> None:
        self.value: float | None = 100.0
        super().__init__(self._answer)

    def _answer(self, method: str, path: str, query: dict, body: object) -> tuple[int, dict]:
        v = self.value
        result = [] if v is None else [{"metric": {}, "value": [time.time(), str(v)]}]
        return 200, {"status": "success", "data": {"resultType": "vector", "result": result}}

    @property
    def queries(self) -> list[str]:
        return [q.get("query", [""])[0] for _m, _p, q, _b in self.calls]


class Engine:
    def __init__(self, kubeconfig: Path, prom: str, scale: float, log: Path,
                 log_format: str = "text", args: tuple[str, ...] = ()) -> None:
        self.log_path = log
        self.log = open(log, "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [PY, "-m", "canary.controller.main", "--kubeconfig", str(kubeconfig),
             "--metrics-address-override", prom, "--time-scale", str(scale), "--namespace", "test",
             "--log-format", log_format, *args],
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





def env_ok() -> bool:
    return os.path.exists(CRDS)
