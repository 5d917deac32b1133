"""The Argo Rollouts image's entrypoint serves /healthz and /metrics on two ports, as the real
controller (--healthzPort 8080, --metricsPort 8090): the install's Deployment declares both
and, having no readiness probe, is Ready only once its first port (metrics) listens."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from support.apiserver import ApiServer
from support.poll import wait_for

pytestmark = pytest.mark.timeout(60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, str] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, r.read().decode()
    except OSError:
        return None


def test_argo_flags_move_healthz_and_metrics_to_their_own_ports(tmp_path):
    server = ApiServer(tmp_path)
    server.start()
    healthz, metrics = _free_port(), _free_port()
    p = subprocess.Popen(
        [sys.executable, "-m", "canary.sandbox.apps.rollouts_controller",
         "--kubeconfig", str(server.kubeconfig), f"--healthzPort={healthz}",
         "--metricsPort", str(metrics)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "POD_NAMESPACE": "default"})
    try:
        ok = wait_for("the controller's /healthz", lambda: _get(healthz, "/healthz"), 30,
                      procs=[p])
        assert ok == (200, "ok\n")
        status, body = wait_for("its /metrics", lambda: _get(metrics, "/metrics"), 10)
        assert status == 200 and "# TYPE" in body
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
        server.stop()
    assert p.returncode == 0, err
    assert "Traceback" not in err
