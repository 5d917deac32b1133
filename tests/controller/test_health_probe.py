"""The engine's /healthz answers the probes the controllers' Deployments declare: Flagger's
`wget --spider` (a HEAD request) and Argo's httpGet."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import requests
from prometheus_client import CollectorRegistry

from canary.controller.observability import ObservabilityServer


@pytest.fixture
def server():
    s = ObservabilityServer(CollectorRegistry(), 0)
    s.start()
    yield s
    s.stop()


def test_head_and_get_on_healthz(server):
    url = f"http://127.0.0.1:{server.port}/healthz"
    head = requests.head(url, timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert requests.get(url, timeout=5).text == "ok\n"
    assert requests.head(f"http://127.0.0.1:{server.port}/nope", timeout=5).status_code == 404


@pytest.mark.skipif(shutil.which("wget") is None, reason="wget is not installed")
def test_flaggers_wget_probe_passes(server):
    # fluxcd/flagger kustomize/base/flagger/deployment.yaml livenessProbe, on our port
    cmd = ["wget", "--quiet", "--tries=1", "--timeout=2", "--spider",
           f"http://localhost:{server.port}/healthz"]
    assert subprocess.run(cmd, timeout=10).returncode == 0
