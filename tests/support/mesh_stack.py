"""Start the real API server and the mesh as processes in a temp sandbox dir (for tests/bench)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import requests
import yaml

from canary.kube.client import AlreadyExists, KubeClient, NotFound
from canary.sandbox.layout import SandboxLayout
from support import CRDS
from support import REPO as ROOT
from support.poll import wait_for

HTTPROUTE_CRD = CRDS / "gateway.networking.k8s.io_httproutes.yaml"





class Stack:
    def __init__(self, root: Path, time_scale: float = 0.05) -> None:
        self.layout = SandboxLayout.at(root)
        self.layout.root.mkdir(parents=True, exist_ok=True)
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        self.layout.update_config(time_scale=time_scale)
        self.token = secrets.token_hex(8)
        self.procs: list[subprocess.Popen] = []

    def _spawn(self, module: str, *args: str) -> subprocess.Popen:
        log = open(self.layout.log(module.rsplit(".", 1)[1]), "ab")  # noqa: SIM115
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        p = subprocess.Popen([sys.executable, "-m", module, "--dir", str(self.layout.root),
                              *args], stdout=log, stderr=subprocess.STDOUT, env=env,
                             stdin=subprocess.DEVNULL)
        log.close()
        self.procs.append(p)
        return p

    def start_apiserver(self, port: int = 0) -> KubeClient:
        self.layout.update_config(api_port=None)
        self.apiserver = self._spawn("canary.sandbox.apiserver", "--port", str(port),
                                     "--token", self.token)
        port = wait_for("api_port", lambda: self.layout.read_config().get("api_port"), 20,
                        procs=[self.apiserver])
        url = f"http://127.0.0.1:{port}"
        wait_for("API server", lambda: _ok(url + "/api", self.token), 20, procs=[self.apiserver])
        if not self.layout.kubeconfig.exists() or self.token not in \
                self.layout.kubeconfig.read_text():
            self.layout.kubeconfig.write_text(yaml.safe_dump({
                "apiVersion": "v1", "kind": "Config", "current-context": "sandbox",
                "clusters": [{"name": "sandbox", "cluster": {"server": url}}],
                "users": [{"name": "sandbox", "user": {"token": self.token}}],
                "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox",
                                                             "user": "sandbox"}}]}))
        self.client = KubeClient.from_kubeconfig(str(self.layout.kubeconfig))
        return self.client

    def restart_apiserver(self) -> KubeClient:
        """Stop the API server and start it again on its port with a new token."""
        port = int(self.layout.read_config()["api_port"])
        self.apiserver.terminate()
        self.apiserver.wait(10)
        self.procs.remove(self.apiserver)
        self.token = secrets.token_hex(8)
        return self.start_apiserver(port)

    def install_httproute_crd(self) -> None:
        crd = yaml.safe_load(HTTPROUTE_CRD.read_text())
        try:
            self.client.create(crd)
        except AlreadyExists:
            pass

        def served() -> bool:
            try:
                self.client.resource("gateway.networking.k8s.io/v1", "HTTPRoute")
                return True
            except NotFound:
                return False
        wait_for("HTTPRoute CRD to be served", served, 10)

    def start_mesh(self) -> int:
        self._spawn("canary.sandbox.mesh")
        port = wait_for("mesh_metrics_port",
                        lambda: self.layout.read_config().get("mesh_metrics_port"), 20,
                        procs=self.procs)
        wait_for("mesh ready", lambda: _ok(f"http://127.0.0.1:{port}/ready"), 20, procs=self.procs)
        self.mesh_port = port
        return port

    def listening(self, ip: str, port: int) -> bool:
        r = requests.get(f"http://127.0.0.1:{self.mesh_port}/listeners", timeout=2)
        return f"{ip}:{port}" in json.loads(r.text)

    def stop(self) -> None:
        for p in reversed(self.procs):  # the mesh first, then the API server it watches
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _ok(url: str, token: str | None = None) -> bool:
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(url, headers=headers, timeout=1).status_code == 200
    except requests.RequestException:
        return False
