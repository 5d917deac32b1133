"""EventRecorder against the sandbox API server: client-go naming, fields and aggregation."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.flagger_sandbox import ApiServer

from canary.clock import FakeClock
from canary.kube.client import KubeClient, KubeConfig
from canary.kube.events import EventRecorder

pytestmark = pytest.mark.timeout(30)


def test_events_created_and_aggregated(tmp_path: Path) -> None:
    api = ApiServer(tmp_path)
    try:
        client = api.client
        client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test"}})
        canary = client.create({
            "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": "test"},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                   "name": "podinfo"},
                     "service": {"port": 9898}, "analysis": {"interval": "10s",
                                                             "threshold": 1, "stepWeight": 10}}})
        clock = FakeClock()
        rec = EventRecorder(client, "flagger", clock.now)
        rec.emit(canary, "Normal", "Synced", "Initialization done! podinfo.test")
        clock.advance(10)
        rec.emit(canary, "Warning", "Synced", "Halt podinfo.test advancement x 1.00 < 99")
        clock.advance(10)
        rec.emit(canary, "Warning", "Synced", "Halt podinfo.test advancement x 1.00 < 99")
        evs = {e["message"]: e for e in client.items("v1", "Event", "test")}
        assert set(evs) == {"Initialization done! podinfo.test",
                            "Halt podinfo.test advancement x 1.00 < 99"}
        init = evs["Initialization done! podinfo.test"]
        assert init["metadata"]["name"].startswith("podinfo.")
        assert init["involvedObject"] == {
            "apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "podinfo",
            "namespace": "test", "uid": canary["metadata"]["uid"],
            "resourceVersion": canary["metadata"]["resourceVersion"]}
        assert (init["type"], init["reason"], init["source"], init["count"]) == (
            "Normal", "Synced", {"component": "flagger"}, 1)
        halt = evs["Halt podinfo.test advancement x 1.00 < 99"]
        assert halt["count"] == 2 and halt["type"] == "Warning"
        assert halt["firstTimestamp"] == "2023-11-14T22:13:30Z"
        assert halt["lastTimestamp"] == "2023-11-14T22:13:40Z"
    finally:
        api.stop()
    # the API server is gone: recording must not raise
    dead = EventRecorder(KubeClient(KubeConfig(server="http://127.0.0.1:9")), "flagger",
                         FakeClock().now)
    dead.emit(canary, "Normal", "Synced", "nobody hears this")
