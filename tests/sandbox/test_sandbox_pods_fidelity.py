"""Pods behave as on a cluster: localhost is the pod, images listen where a cluster's would,
state survives `down` until `reset` (one sandbox, the stock kubectl, time-scaled)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from canary.sandbox.manager import Sandbox

ROOT = Path(__file__).resolve().parents[1] / "support"
SCALE = 0.05

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="the per-pod loopback library needs a C compiler")


def kubectl(sb: Sandbox, *args: str, stdin: str | None = None, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ, KUBECONFIG=str(sb.kubeconfig)))
    assert not check or r.returncode == 0, f"kubectl {' '.join(args)}:\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory):
    sb = Sandbox.start(tmp_path_factory.mktemp("pods"), time_scale=SCALE)
    try:
        kubectl(sb, "create", "ns", "t")
        yield sb
    finally:
        sb.stop()


def test_flaggers_tester_manifest_becomes_ready(sandbox: Sandbox) -> None:
    """Its probes run `wget --spider http://localhost:8080/healthz` inside the pod."""
    kubectl(sandbox, "-n", "t", "apply", "-f", str(ROOT / "data" / "flagger-tester.yaml"))
    kubectl(sandbox, "-n", "t", "rollout", "status", "deploy/flagger-loadtester",
            "--timeout=60s")
    ip = kubectl(sandbox, "-n", "t", "get", "svc", "flagger-loadtester", "-o",
                 "jsonpath={.spec.clusterIP}").stdout
    assert requests.get(f"http://{ip}:80/healthz", timeout=5).text == "OK"
    # the liveness probe (the same wget) never failed the container: no restart
    restarts = kubectl(sandbox, "-n", "t", "get", "pods", "-l", "app=flagger-loadtester", "-o",
                       "jsonpath={.items[*].status.containerStatuses[*].restartCount}").stdout
    assert restarts.split() == ["0"]


def test_nginx_on_container_port_80_is_ready_and_answers_through_its_service(
        sandbox: Sandbox) -> None:
    if os.geteuid() != 0:
        pytest.skip("binding port 80 needs root")
    kubectl(sandbox, "-n", "t", "create", "deployment", "web", "--image=nginx:1.27",
            "--port=80")
    kubectl(sandbox, "-n", "t", "expose", "deployment", "web", "--port=80")
    kubectl(sandbox, "-n", "t", "rollout", "status", "deploy/web", "--timeout=60s")
    pod_ip = kubectl(sandbox, "-n", "t", "get", "pods", "-l", "app=web", "-o",
                     "jsonpath={.items[0].status.podIP}").stdout
    ip = kubectl(sandbox, "-n", "t", "get", "svc", "web", "-o",
                 "jsonpath={.spec.clusterIP}").stdout
    # nginx answers (its demo upstream is absent here, so as nginx does: 502 Bad Gateway)
    r = requests.get(f"http://{ip}:80/", timeout=5)
    assert r.status_code in (200, 502)
    assert requests.get(f"http://{pod_ip}:80/", timeout=5).status_code == r.status_code


def test_a_container_reaches_its_sidecar_on_localhost(sandbox: Sandbox) -> None:
    """Two containers of one pod: the sidecar listens on 127.0.0.1, the main one connects to
    localhost; a second pod with the same ports does not collide."""
    images = sandbox.layout.root / "images.yaml"
    images.write_text(
        "images:\n"
        "  - image: example.com/pyhttp:*\n"
        f"    command: [{sys.executable!r}, -m, http.server, '9000', --bind, 127.0.0.1]\n")
    manifest = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: duo}
spec:
  replicas: 2
  selector: {matchLabels: {app: duo}}
  template:
    metadata: {labels: {app: duo}}
    spec:
      containers:
      - name: sidecar
        image: example.com/pyhttp:1
        ports: [{containerPort: 9000}]
      - name: main
        image: example.com/pyhttp:1
        command: ["/bin/sh", "-c", "while true; do sleep 1; done"]
        readinessProbe:
          exec: {command: [wget, -q, -O, /dev/null, "http://localhost:9000/"]}
          periodSeconds: 1
"""
    kubectl(sandbox, "-n", "t", "apply", "-f", "-", stdin=manifest)
    kubectl(sandbox, "-n", "t", "rollout", "status", "deploy/duo", "--timeout=60s")
    ips = kubectl(sandbox, "-n", "t", "get", "pods", "-l", "app=duo", "-o",
                  "jsonpath={.items[*].status.podIP}").stdout.split()
    assert len(set(ips)) == 2
    for ip in ips:  # each pod's sidecar owns port 9000 on its own address
        assert requests.get(f"http://{ip}:9000/", timeout=5).status_code == 200


def test_down_keeps_state_and_reset_starts_empty(tmp_path: Path) -> None:
    canary = [sys.executable, "-m", "canary.cli", "sandbox"]
    d = str(tmp_path / "sb")
    env = dict(os.environ, KUBECONFIG=f"{d}/kubeconfig")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([*canary, *args, "--dir", d], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        return r

    def namespaces() -> list[str]:
        return subprocess.run(["kubectl", "get", "ns", "-o", "name"], env=env, check=True,
                              capture_output=True, text=True).stdout.split()

    run("up", "--time-scale", str(SCALE))
    try:
        subprocess.run(["kubectl", "create", "ns", "kept"], env=env, check=True,
                       capture_output=True)
    finally:
        down = run("down")
    assert "state kept in" in down.stdout and "canary sandbox reset" in down.stdout
    run("up", "--time-scale", str(SCALE))
    try:
        assert "namespace/kept" in namespaces()
    finally:
        run("down")
    assert "store" in run("reset").stdout
    run("up", "--fresh", "--time-scale", str(SCALE))
    try:
        names = namespaces()
        assert "namespace/kept" not in names and "namespace/default" in names
    finally:
        run("down")
