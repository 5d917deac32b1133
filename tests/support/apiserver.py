"""A real sandbox API server as a subprocess, with kubectl and official-client access."""

from __future__ import annotations

import base64
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from canary.kube.client import KubeClient, KubeConfig, NotFound
from support import CRDS, REPO
from support.poll import wait_for

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


class ApiServer:
    """One API server process on 127.0.0.1; ``kill()`` + ``start()`` restarts on the same port."""

    def __init__(self, directory: Path, history: int = 10000) -> None:
        self.dir = directory
        self.history = history
        self.token = secrets.token_hex(12)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        cmd = [sys.executable, "-m", "canary.sandbox.apiserver", "--dir", str(self.dir),
               "--port", str(self.port), "--token", self.token,
               "--watch-history", str(self.history)]
        log = open(self.dir / "apiserver.log", "ab")  # noqa: SIM115 - child keeps it
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, cwd=REPO)
        log.close()
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 200)
                if not chunk:
                    break
                line += chunk
        if b"listening on http://127.0.0.1:" not in line:
            self.stop()
            raise RuntimeError("API server did not start:\n"
                               + (self.dir / "apiserver.log").read_text()[-3000:])
        self.port = int(line.split(b":")[-1].strip())
        self._write_kubeconfig()

    def _write_kubeconfig(self) -> None:
        ca = (self.dir / "store" / "apiserver.crt").read_bytes()
        doc = {
            "apiVersion": "v1", "kind": "Config", "current-context": "sandbox",
            "clusters": [{"name": "sandbox", "cluster": {
                "server": self.https_url,
                "certificate-authority-data": base64.b64encode(ca).decode()}}],
            "users": [{"name": "sandbox", "user": {"token": self.token}}],
            "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox",
                                                         "user": "sandbox"}}],
        }
        self.kubeconfig.write_text(yaml.safe_dump(doc))

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def kubectl(self, *args: str, input: str | None = None,  # noqa: A002
                timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        res = subprocess.run([KUBECTL, *args], input=input, capture_output=True, text=True,
                             env=env, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{res.stderr}")
        return res

    def kubectl_stream(self, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        return subprocess.Popen([KUBECTL, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env=env)

    def kube(self) -> KubeClient:
        """The project's own client on this server (what the engine and harness use)."""
        return KubeClient(KubeConfig.load(str(self.kubeconfig)))

    def install_crds(self) -> KubeClient:
        """Create every packaged CRD and wait until the server serves them all."""
        client = self.kube()
        for f in sorted(CRDS.glob("*.yaml")):
            for doc in yaml.safe_load_all(f.read_text()):
                if doc:
                    client.create(doc)

        def served() -> bool:
            client.forget_resources()
            try:
                for f in sorted(CRDS.glob("*.yaml")):
                    crd = yaml.safe_load(f.read_text())
                    version = crd["spec"]["versions"][0]["name"]
                    client.resource(f"{crd['spec']['group']}/{version}",
                                    crd["spec"]["names"]["kind"])
            except NotFound:
                return False
            return True

        wait_for("the CRDs served", served, 10)
        return client

    def client(self) -> k8s.ApiClient:
        cfg = k8s.Configuration()
        k8s_config.load_kube_config(config_file=str(self.kubeconfig),
                                    client_configuration=cfg)
        return k8s.ApiClient(cfg)


@contextmanager
def serving_crds(directory: Path) -> Iterator[tuple[ApiServer, KubeClient]]:
    """A started API server with every packaged CRD served, and a client; stopped after."""
    server = ApiServer(directory)
    server.start()
    try:
        yield server, server.install_crds()
    finally:
        server.stop()


def read_lines_until(proc: subprocess.Popen[str], predicate, timeout: float) -> list[str]:
    """Lines a streaming subprocess printed, until ``predicate(lines)`` or timeout."""
    assert proc.stdout is not None
    lines: list[str] = []
    buf = ""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline and not predicate(lines):
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        chunk = os.read(fd, 4096).decode()
        if not chunk:
            break
        buf += chunk
        *done, buf = buf.split("\n")
        lines.extend(done)
    return lines
