"""The watch-based recorder against the sandbox's real API server: every weight change is
recorded, even when the route is rewritten faster than any poller would look."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from canary.harness.recorder import TimelineRecorder
from canary.harness.timeline import (
    Timeline,
    TimelineBuffer,
    compress,
    events_for,
    phase_changes,
    route_canary_weights,
)
from canary.kube.client import KubeClient, KubeConfig

CRDS = Path(__file__).resolve().parents[1] / "canary" / "manifests" / "crds"


@pytest.fixture
def api(tmp_path):
    if importlib_missing("canary.sandbox.apiserver.server"):
        pytest.skip("the sandbox API server is not in this build")
    token = secrets.token_hex(8)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "canary.sandbox.apiserver", "--dir",
                             str(tmp_path), "--port", str(port), "--token", token],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            env=dict(os.environ, CANARY_SANDBOX_DIR=str(tmp_path)))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None, "the API server exited at start"
            assert time.monotonic() < deadline, "the API server did not come up"
            time.sleep(0.05)
        client = KubeClient(KubeConfig(server=f"http://127.0.0.1:{port}", token=token))
        for f in sorted(CRDS.glob("*.yaml")):
            client.create(yaml.safe_load(f.read_text()))
        deadline = time.monotonic() + 10
        while True:
            client.forget_resources()
            try:
                client.resource("gateway.networking.k8s.io/v1", "HTTPRoute")
                client.resource("flagger.app/v1beta1", "Canary")
                break
            except Exception:
                assert time.monotonic() < deadline, "CRDs not served"
                time.sleep(0.05)
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test"}})
        yield client
    finally:
        proc.terminate()
        proc.wait(10)


def importlib_missing(mod: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(mod) is None
    except ModuleNotFoundError:
        return True


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _route(w: int) -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {"parentRefs": [{"name": "podinfo", "kind": "Service", "group": "core"}],
                     "rules": [{"backendRefs": [
                         {"name": "podinfo-primary", "port": 9898, "weight": 100 - w},
                         {"name": "podinfo-canary", "port": 9898, "weight": w}]}]}}


def _wait_for(pred, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_every_weight_change_phase_and_event_is_recorded(api: KubeClient):
    buf = TimelineBuffer(Timeline(time_scale=0.05), time.time)
    rec = TimelineRecorder(api, buf, time_scale=0.05)
    rec.watch_namespace("test")
    try:
        route = api.create(_route(0))
        canary = api.create({"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
                             "metadata": {"name": "podinfo", "namespace": "test"},
                             "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                    "name": "podinfo"},
                                      "service": {"port": 9898},
                                      # Flagger's CRD requires interval and threshold
                                      "analysis": {"interval": "10s", "threshold": 5,
                                                   "stepWeight": 10}}})
        weights = [10, 20, 30, 40, 50, 0]
        for w in weights:  # back to back, no pause: a poller would miss most of these
            route["spec"] = _route(w)["spec"]
            route = api.update(route)
        for phase in ("Initialized", "Progressing", "Succeeded"):
            canary["status"] = {"phase": phase, "canaryWeight": 0, "failedChecks": 0}
            canary = api.update_status(canary)
        api.create({"apiVersion": "v1", "kind": "Event",
                    "metadata": {"name": "podinfo.1", "namespace": "test"},
                    "involvedObject": {"kind": "Canary", "name": "podinfo", "namespace": "test"},
                    "reason": "Synced", "type": "Normal", "count": 1,
                    "message": "Advance podinfo.test canary weight 10"})

        def done() -> bool:
            tl = buf.snapshot()
            return (compress(w for _, w in route_canary_weights(tl, "podinfo"))[-1:] == [0]
                    and len(phase_changes(tl, "podinfo")) >= 3 and events_for(tl))

        _wait_for(done)
    finally:
        rec.stop()
    tl = buf.snapshot()
    assert compress(w for _, w in route_canary_weights(tl, "podinfo")) == [0, *weights]
    assert [p for _, p in phase_changes(tl, "podinfo")][-3:] == ["Initialized", "Progressing",
                                                                  "Succeeded"]
    assert events_for(tl, "Canary/podinfo")[0]["message"] == \
        "Advance podinfo.test canary weight 10"
