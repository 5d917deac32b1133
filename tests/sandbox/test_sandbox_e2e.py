"""The whole sandbox, started as a user starts it, driven with the stock kubectl.

Covers issue 3's acceptance on a fresh sandbox with the demo applied.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from support.poll import wait_for

from canary.clock import format_duration
from canary.sandbox.manager import Sandbox, pid_alive
from canary.sandbox.resolver import http_request

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "fixtures" / "manifests"
SCALE = 0.05


def kubectl(sb: Sandbox, *args: str, stdin: str | None = None, timeout: float = 30) -> str:
    proc = subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, KUBECONFIG=str(sb.kubeconfig)))
    assert proc.returncode == 0, f"kubectl {' '.join(args)} failed:\n{proc.stderr}"
    return proc.stdout





@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    sb = Sandbox.start(tmp_path_factory.mktemp("sandbox"), time_scale=SCALE)
    try:
        kubectl(sb, "create", "ns", "test")
        kubectl(sb, "apply", "-f", str(MANIFESTS / "crds"))
        kubectl(sb, "-n", "test", "apply", "-f", str(MANIFESTS / "podinfo-demo.yaml"))
        yield sb
    finally:
        sb.stop()


def test_cli_up_status_down(tmp_path):
    canary = [sys.executable, "-m", "canary.cli", "sandbox"]
    d = str(tmp_path / "sb")
    up = subprocess.run([*canary, "up", "--dir", d, "--time-scale", "0.1"], capture_output=True,
                        text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    assert f"KUBECONFIG={d}/kubeconfig" in up.stdout
    pids = json.loads((tmp_path / "sb" / "pids.json").read_text())
    try:
        assert set(pids) == {"apiserver", "node", "mesh", "prometheus"}
        st = subprocess.run([*canary, "status", "--dir", d], capture_output=True, text=True)
        assert st.returncode == 0 and st.stdout.count("running") == 4, st.stdout
        ns = subprocess.run(["kubectl", "get", "ns", "-o", "name"], capture_output=True, text=True,
                            env=dict(os.environ, KUBECONFIG=f"{d}/kubeconfig"), timeout=30)
        assert "namespace/linkerd-viz" in ns.stdout, ns.stderr
        again = subprocess.run([*canary, "up", "--dir", d], capture_output=True, text=True)
        assert again.returncode == 1 and "already running" in again.stderr
    finally:
        down = subprocess.run([*canary, "down", "--dir", d], capture_output=True, text=True,
                              timeout=60)
    assert down.returncode == 0 and "apiserver" in down.stdout
    assert not any(pid_alive(p) for p in pids.values())


def test_demo_rolls_out_and_frontend_answers_podinfo_json(sandbox):
    kubectl(sandbox, "-n", "test", "rollout", "status", "deploy", "podinfo", "--timeout=30s")
    kubectl(sandbox, "-n", "test", "rollout", "status", "deploy", "frontend", "--timeout=30s")
    url = sandbox.resolve_url("http://frontend.test:8080/")
    status, _, body = wait_for("frontend to answer 200", lambda: (r := http_request("GET", url,
                               timeout=5))[0] == 200 and r)
    info = json.loads(body)
    assert info["version"] == "1.7.0"
    assert info["hostname"].startswith("podinfo-")


def test_port_forward_reaches_the_frontend(sandbox):
    proc = subprocess.Popen([sys.executable, "-m", "canary.cli", "sandbox", "port-forward",
                             "svc/frontend", "18080:8080", "-n", "test",
                             "--dir", str(sandbox.layout.root)], stdout=subprocess.PIPE, text=True)
    try:
        assert "Forwarding from 127.0.0.1:18080" in proc.stdout.readline()
        status, _, body = http_request("GET", "http://127.0.0.1:18080/", timeout=5)
        assert status == 200 and json.loads(body)["version"] == "1.7.0"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_seed_kubectl_port_forward_reaches_the_frontend(sandbox):
    """The seed's `kubectl -n test port-forward svc/frontend 8080`, with the stock kubectl."""
    proc = subprocess.Popen(["kubectl", "-n", "test", "port-forward", "svc/frontend",
                             "18081:8080"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, KUBECONFIG=str(sandbox.kubeconfig)))
    try:
        assert "Forwarding from 127.0.0.1:18081" in proc.stdout.readline()
        for _ in range(2):
            status, _, body = http_request("GET", "http://127.0.0.1:18081/", timeout=5)
            assert status == 200 and json.loads(body)["version"] == "1.7.0"
    finally:
        proc.terminate()
        proc.wait(10)


def test_unknown_image_backs_off_and_sandbox_keeps_serving(sandbox):
    kubectl(sandbox, "-n", "test", "create", "deployment", "ghost",
            "--image=registry.invalid/ghost:1.0")
    out = wait_for("ImagePullBackOff in kubectl get pods",
                   lambda: "ImagePullBackOff" in (o := kubectl(sandbox, "-n", "test", "get", "pods",
                                                               "-l", "app=ghost")) and o)
    assert "ghost-" in out
    deploy = json.loads(kubectl(sandbox, "-n", "test", "get", "deploy", "ghost", "-o", "json"))
    assert deploy["status"].get("availableReplicas", 0) == 0
    kubectl(sandbox, "-n", "test", "delete", "deployment", "ghost")
    assert "podinfo" in kubectl(sandbox, "-n", "test", "get", "deploy")


def test_killed_pod_process_is_restarted_and_endpoints_follow(sandbox):
    kubectl(sandbox, "-n", "test", "scale", "deploy", "podinfo", "--replicas=2")
    kubectl(sandbox, "-n", "test", "rollout", "status", "deploy", "podinfo", "--timeout=30s")
    pods = json.loads(kubectl(sandbox, "-n", "test", "get", "pods", "-l", "app=podinfo",
                              "-o", "json"))["items"]
    victim = pods[0]
    ip = victim["status"]["podIP"]
    pid = _pid_listening_on(ip, 9898)
    assert pid, f"no process listens on {ip}:9898"
    os.kill(pid, signal.SIGKILL)

    def restarted():
        pod = json.loads(kubectl(sandbox, "-n", "test", "get", "pod",
                                 victim["metadata"]["name"], "-o", "json"))
        cs = pod["status"].get("containerStatuses", [{}])[0]
        return cs.get("restartCount", 0) >= 1 and cs.get("ready") and pod

    wait_for("the killed container to restart", restarted, 30)
    url = sandbox.resolve_url("http://podinfo.test:9898/")
    for _ in range(10):
        assert http_request("GET", url, timeout=5)[0] == 200

    def endpoints_have_both():
        ep = json.loads(kubectl(sandbox, "-n", "test", "get", "endpoints", "podinfo", "-o", "json"))
        ips = {a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []}
        return len(ips) == 2 and ips

    wait_for("endpoints to list both pods again", endpoints_have_both)
    kubectl(sandbox, "-n", "test", "scale", "deploy", "podinfo", "--replicas=1")


def _pid_listening_on(ip: str, port: int) -> int | None:
    out = subprocess.run(["ss", "-Hltnp", f"src {ip}:{port}"], capture_output=True, text=True)
    for part in out.stdout.split("pid=")[1:]:
        return int(part.split(",")[0])
    return None


def _success_rate(sandbox: Sandbox, target: str, spec_seconds: float = 60) -> float | None:
    from support.seed_query import render

    interval = format_duration(spec_seconds * SCALE)  # the seed's `interval: 1m`, time-scaled
    url = sandbox.resolve_url("http://prometheus.linkerd-viz:9090/api/v1/query")
    resp = requests.get(url, params={"query": render("test", target, interval)}, timeout=5)
    result = resp.json()["data"]["result"]
    return float(result[-1]["value"][1]) if result else None


def test_seed_query_sees_podinfo_random_error_through_real_prometheus(sandbox):
    kubectl(sandbox, "-n", "test", "rollout", "status", "deploy", "podinfo", "--timeout=30s")
    healthy = wait_for("a success rate for healthy podinfo", lambda: _success_rate(sandbox,
                       "podinfo"), 30)
    assert healthy >= 99, healthy

    kubectl(sandbox, "-n", "test", "patch", "deploy", "podinfo", "--type", "json", "-p",
            '[{"op":"add","path":"/spec/template/spec/containers/0/command/-",'
            '"value":"--random-error"}]')
    kubectl(sandbox, "-n", "test", "rollout", "status", "deploy", "podinfo", "--timeout=30s")
    window = 60 * SCALE
    time.sleep(5 * window + 1)  # five of the seed's windows, all the faulty revision's
    # podinfo fails 1 request in 3 with 500/400/409, in one-(spec-)second bursts: about 1 in 9 is
    # a 5xx, so about 89%. One 1m window holds only 60 bursts (and fewer when the machine is
    # busy and the load generator sends less): 100 % was seen once under pytest -n 2; over
    # five windows' 300 bursts the rate is 89 % +- 2 %.
    seed_window = _success_rate(sandbox, "podinfo")
    five = _success_rate(sandbox, "podinfo", 5 * 60)
    assert seed_window is not None and five is not None
    assert 80 <= five <= 95, (five, seed_window)
