"""The Rollout loop is a work queue: an update of one Rollout reconciles that Rollout (its own
events and its ReplicaSets'), not every Rollout of the cluster (rollout/controller.go
enqueueRollout and its ReplicaSet handler's owner lookup)."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from support.apiserver import serving_crds
from support.instant_kubelet import make_replicasets_ready
from support.poll import wait_for

from canary.clock import Clock
from canary.controller import argo_loop
from canary.controller.argo_loop import RolloutController
from canary.controller.metrics_registry import EngineMetrics
from canary.kube.client import KubeClient

API = "argoproj.io/v1alpha1"
NS = "queue"
SCALE = 0.1  # a resync every 3 wall seconds, longer than the update below

pytestmark = pytest.mark.timeout(60)


def _rollout(name: str) -> dict:
    labels = {"app": name}
    return {"apiVersion": API, "kind": "Rollout", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "img:1"}]}},
                     "strategy": {"canary": {"steps": [{"setWeight": 50},
                                                       {"pause": {"duration": "2s"}}]}}}}


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[KubeClient]:
    with serving_crds(tmp_path) as (_server, kube):
        yield kube


def test_an_update_reconciles_its_rollout_not_the_others(client: KubeClient) -> None:
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    names = [f"ro{i}" for i in range(5)]
    for n in names:
        client.create(_rollout(n))
    stop = threading.Event()
    metrics = EngineMetrics()
    ctl = RolloutController(client, Clock(SCALE), NS, logging.getLogger("test.queue"),
                            metrics=metrics)
    counts: Counter[str] = Counter()
    reconcile = ctl.reconcile

    def counted(ro, *a, **kw):  # type: ignore[no-untyped-def]
        counts[ro["metadata"]["name"]] += 1
        return reconcile(ro, *a, **kw)

    ctl.reconcile = counted  # type: ignore[method-assign]

    def kubelet() -> None:
        while not stop.wait(0.03):
            make_replicasets_ready(client, NS)

    threads = [threading.Thread(target=f, daemon=True) for f in (kubelet, lambda: ctl.run(stop))]
    for t in threads:
        t.start()
    try:
        def phases() -> dict[str, str]:
            return {ro["metadata"]["name"]: (ro.get("status") or {}).get("phase", "")
                    for ro in client.items(API, "Rollout", NS)}

        wait_for("all Healthy", lambda: set(phases().values()) == {"Healthy"}, 20)
        stop.wait(0.3)  # the last events of the first rollout-out settle
        before = Counter(counts)
        ro = client.get(API, "Rollout", "ro0", NS)
        ro["spec"]["template"]["spec"]["containers"][0]["image"] = "img:2"
        client.update(ro)
        wait_for("ro0 paused at 50 %", lambda: phases()["ro0"] == "Paused", 5)
        after = Counter(counts)
        after.subtract(before)
        assert after["ro0"] >= 2  # its own update, its new ReplicaSet's events
        assert all(after[n] == 0 for n in names[1:]), dict(after)
        # the timed pause is a requeue hint: it comes back by itself, and is counted
        wait_for("ro0 Healthy after its pause", lambda: phases()["ro0"] == "Healthy",
                 2 * argo_loop.RESYNC * SCALE)
        text = generate_latest(metrics.registry).decode()
        m = re.search(r'^canary_engine_tick_lateness_seconds_count\{loop="argo"\} (\S+)$',
                      text, re.M)
        assert m and float(m.group(1)) >= 1, text
    finally:
        stop.set()
