"""The watch-based recorder against the sandbox's real API server: every weight change is
recorded, even when the route is rewritten faster than any poller would look."""

from __future__ import annotations

import time

import pytest
from support.apiserver import ApiServer
from support.poll import wait_for

from canary.harness.recorder import TimelineRecorder
from canary.harness.timeline import (
    Timeline,
    TimelineBuffer,
    compress,
    events_for,
    phase_changes,
    route_canary_weights,
)
from canary.kube.client import KubeClient


@pytest.fixture
def api(tmp_path):
    server = ApiServer(tmp_path)
    server.start()
    try:
        client = server.install_crds()
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test"}})
        yield client
    finally:
        server.stop()


def _route(w: int) -> dict:
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {"parentRefs": [{"name": "podinfo", "kind": "Service", "group": "core"}],
                     "rules": [{"backendRefs": [
                         {"name": "podinfo-primary", "port": 9898, "weight": 100 - w},
                         {"name": "podinfo-canary", "port": 9898, "weight": w}]}]}}





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

        wait_for("the condition", done)
    finally:
        rec.stop()
    tl = buf.snapshot()
    assert compress(w for _, w in route_canary_weights(tl, "podinfo")) == [0, *weights]
    assert [p for _, p in phase_changes(tl, "podinfo")][-3:] == ["Initialized", "Progressing",
                                                                  "Succeeded"]
    assert events_for(tl, "Canary/podinfo")[0]["message"] == \
        "Advance podinfo.test canary weight 10"
