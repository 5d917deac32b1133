"""`canary engine` as a process against the sandbox API server: the seed's Canary verbatim.

Readiness is simulated by writing Deployment status (no node agent); metrics come from a small
HTTP server answering Prometheus' /api/v1/query. Time scale 0.02: a 10s interval is 0.2s.
"""

from __future__ import annotations

import copy
import json
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from support.flagger_sandbox import (
    CRDS,
    ApiServer,
    Engine,
    FakePrometheus,
    ReadinessSimulator,
    RouteRecorder,
)
from support.local_http import Peer
from support.poll import wait_for

from canary.kube.client import ApiError, KubeClient, retry_on_conflict

# what "not yet" looks like while things start
TRANSIENT = (ApiError,)

pytestmark = pytest.mark.timeout(90)

SCALE = 0.02
# the seed's Canary + MetricTemplate, verbatim
CANARY, TEMPLATE = yaml.safe_load_all((CRDS.parent / "podinfo-canary.yaml").read_text())

DEMO = [
    {"apiVersion": "apps/v1", "kind": "Deployment",
     "metadata": {"name": "podinfo", "namespace": "test", "labels": {"app": "podinfo"}},
     "spec": {"selector": {"matchLabels": {"app": "podinfo"}},
              "template": {"metadata": {"labels": {"app": "podinfo"},
                                        "annotations": {"linkerd.io/inject": "enabled"}},
                           "spec": {"containers": [{
                               "name": "podinfod", "image": "quay.io/stefanprodan/podinfo:1.7.0",
                               "command": ["./podinfo", "--port=9898"],
                               "ports": [{"containerPort": 9898}]}]}}}},
    {"apiVersion": "v1", "kind": "Service",
     "metadata": {"name": "podinfo", "namespace": "test"},
     "spec": {"selector": {"app": "podinfo"}, "ports": [{"port": 9898}]}},
]


class Env:
    def __init__(self, d: Path) -> None:
        self.dir = d
        self.api = ApiServer(d)
        self.client: KubeClient = self.api.client
        try:
            self.client.create({"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": "test"}})
            for obj in DEMO:
                self.client.create(copy.deepcopy(obj))
        except Exception:
            self.api.stop()
            raise
        self.sim = ReadinessSimulator(self.client, "test")
        self.sim.start()
        self.prom = FakePrometheus()
        self.engine: Engine | None = None
        self.recorder = RouteRecorder(self.client)

    def start_engine(self, log_format: str = "text", args: tuple[str, ...] = ()) -> Engine:
        self.engine = Engine(self.api.kubeconfig, self.prom.url, SCALE, self.dir / "engine.log",
                             log_format, args)
        return self.engine

    def apply_seed(self) -> None:
        self.client.create(copy.deepcopy(TEMPLATE))
        self.client.create(copy.deepcopy(CANARY))

    def canary(self) -> dict:
        return self.client.get("flagger.app/v1beta1", "Canary", "podinfo", "test")

    def phase(self) -> str:
        return (self.canary().get("status") or {}).get("phase", "")

    def wait_phase(self, phase: str, timeout: float = 20) -> dict:
        wait_for(f"phase {phase}", lambda: self.phase() == phase, timeout, ignore=TRANSIENT)
        return self.canary()

    def set_image(self, tag: str, args: list[str] | None = None) -> None:
        def write() -> dict:
            dep = self.client.get("apps/v1", "Deployment", "podinfo", "test")
            c = dep["spec"]["template"]["spec"]["containers"][0]
            c["image"] = f"quay.io/stefanprodan/podinfo:{tag}"
            if args is not None:
                c["command"] = ["./podinfo", "--port=9898", *args]
            return self.client.update(dep)

        retry_on_conflict(write)

    def messages(self) -> list[str]:
        evs = self.client.items("v1", "Event", "test")
        evs.sort(key=lambda e: (e.get("firstTimestamp", ""), e["metadata"]["name"]))
        return [e["message"] for e in evs
                if e["involvedObject"].get("kind") == "Canary"]

    def event(self, message: str) -> dict | None:
        return next((e for e in self.client.items("v1", "Event", "test")
                     if e["message"] == message), None)

    def close(self) -> None:
        self.recorder.stop_event.set()
        if self.engine:
            self.engine.stop()
        self.sim.stop_event.set()
        self.prom.stop()
        self.api.stop()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    try:
        yield e
    finally:
        e.close()


def _image(client: KubeClient, name: str) -> str:
    dep = client.get("apps/v1", "Deployment", name, "test")
    return dep["spec"]["template"]["spec"]["containers"][0]["image"]


def test_initialization_creates_flagger_objects(env: Env) -> None:
    engine = env.start_engine()
    assert engine.metrics_url
    env.apply_seed()
    c = env.wait_phase("Initialized")
    cl = env.client
    cond = c["status"]["conditions"][0]
    assert (cond["type"], cond["status"]) == ("Promoted", "True")
    owner = {"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "name": "podinfo",
             "uid": c["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
    primary = cl.get("apps/v1", "Deployment", "podinfo-primary", "test")
    assert primary["spec"]["selector"]["matchLabels"] == {"app": "podinfo-primary"}
    assert primary["spec"]["template"]["metadata"]["labels"]["app"] == "podinfo-primary"
    assert primary["metadata"]["ownerReferences"] == [owner]
    assert _image(cl, "podinfo-primary") == "quay.io/stefanprodan/podinfo:1.7.0"
    wait_for("target scaled to 0", lambda: cl.get("apps/v1", "Deployment", "podinfo",
             "test")["spec"]["replicas"] == 0, 5, ignore=TRANSIENT)
    selectors = {n: cl.get("v1", "Service", n, "test")["spec"]["selector"]
                 for n in ("podinfo", "podinfo-primary", "podinfo-canary")}
    assert selectors == {"podinfo": {"app": "podinfo-primary"},
                         "podinfo-primary": {"app": "podinfo-primary"},
                         "podinfo-canary": {"app": "podinfo"}}
    assert cl.get("v1", "Service", "podinfo-canary", "test")["metadata"]["ownerReferences"] \
        == [owner]
    route = cl.get("gateway.networking.k8s.io/v1beta1", "HTTPRoute", "podinfo", "test")
    assert route["metadata"]["ownerReferences"] == [owner]
    assert route["spec"]["parentRefs"] == [{"group": "core", "kind": "Service", "name": "podinfo",
                                            "namespace": "test", "port": 9898}]
    rule = route["spec"]["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert [(b["name"], b["port"], b["weight"]) for b in rule["backendRefs"]] == [
        ("podinfo-primary", 9898, 100), ("podinfo-canary", 9898, 0)]
    ev = wait_for("init event", lambda: env.event("Initialization done! podinfo.test"), 5,
                  ignore=TRANSIENT)
    assert (ev["type"], ev["reason"], ev["source"]["component"]) == ("Normal", "Synced",
                                                                     "flagger")
    metrics = requests.get(engine.metrics_url + "/metrics", timeout=5).text
    assert 'flagger_canary_total{namespace="test"} 1.0' in metrics
    assert requests.get(engine.metrics_url + "/healthz", timeout=5).status_code == 200


def test_promotion_records_every_weight(env: Env) -> None:
    env.start_engine()
    env.apply_seed()
    env.wait_phase("Initialized")
    env.recorder.start()
    env.set_image("1.7.1")
    c = env.wait_phase("Succeeded", 30)
    wait_for("route back to 0", lambda: env.recorder.weights[-1:] == [0], 5, ignore=TRANSIENT)
    assert env.recorder.weights == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 0]
    assert _image(env.client, "podinfo-primary") == "quay.io/stefanprodan/podinfo:1.7.1"
    assert env.client.get("apps/v1", "Deployment", "podinfo", "test")["spec"]["replicas"] == 0
    assert c["status"]["lastPromotedSpec"] == c["status"]["lastAppliedSpec"]
    msgs = env.messages()
    for m in ["New revision detected! Scaling up podinfo.test",
              "Starting canary analysis for podinfo.test",
              "Advance podinfo.test canary weight 10", "Advance podinfo.test canary weight 100",
              "Copying podinfo.test template spec to podinfo-primary.test",
              "Routing all traffic to primary",
              "Promotion completed! Scaling down podinfo.test"]:
        assert m in msgs
    assert any("[1200ms]" in q and 'deployment=~"podinfo"' in q for q in env.prom.queries)
    metrics = requests.get(env.engine.metrics_url + "/metrics", timeout=5).text
    assert 'flagger_canary_metric_analysis{metric="success-rate",name="podinfo",' \
           'namespace="test"} 100.0' in metrics
    assert 'flagger_canary_status{name="podinfo",namespace="test"} 1.0' in metrics
    assert 'flagger_canary_weight{namespace="test",workload="podinfo-primary"} 100.0' in metrics
    assert 'flagger_canary_weight{namespace="test",workload="podinfo"} 0.0' in metrics
    assert 'flagger_canary_duration_seconds_count{name="podinfo",namespace="test"}' in metrics
    assert 'flagger_canary_successes_total{analysis_status="completed",deployment_strategy=' \
           '"canary",name="podinfo",namespace="test"} 1.0' in metrics
    # the engine's own cost: API requests by verb and resource, the schedule's depth
    patches = re.search(r'canary_engine_api_requests_total\{code="200",resource="canaries/status",'
                        r'verb="patch"\} (\d+)', metrics)
    assert patches and int(patches.group(1)) >= 10, metrics  # at least one per weight step
    assert 'canary_engine_queue_depth{loop="flagger"} 1.0' in metrics


def _counter(metrics: str, metric: str, **labels: str) -> float:
    """The sum of a counter's samples whose labels include ``labels``."""
    total = 0.0
    for m in re.finditer(rf"^{metric}\{{([^}}]*)\}} (\S+)$", metrics, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(2))
    return total


def test_idle_ticks_read_nothing_from_the_api_and_a_new_interval_applies_at_once(env: Env
                                                                                ) -> None:
    engine = env.start_engine()
    env.apply_seed()
    env.wait_phase("Initialized")
    time.sleep(0.5)

    def scrape() -> str:
        return requests.get(engine.metrics_url + "/metrics", timeout=5).text

    before = scrape()
    time.sleep(2.0)  # ten 0.2s intervals
    after = scrape()
    ticks = (_counter(after, "flagger_canary_duration_seconds_count", name="podinfo")
             - _counter(before, "flagger_canary_duration_seconds_count", name="podinfo"))
    assert ticks >= 5, after
    for verb in ("get", "list"):  # the watch delivered everything these ticks looked at
        assert _counter(after, "canary_engine_api_requests_total", verb=verb) == \
            _counter(before, "canary_engine_api_requests_total", verb=verb), after

    # a new interval takes effect at once (Flagger restarts the canary's job): with 10m (12s
    # here) a new image waits; set back to 10s, the next tick runs now and finds it
    def interval(value: str) -> None:
        def write() -> dict:
            c = env.canary()
            c["spec"]["analysis"]["interval"] = value
            return env.client.update(c)

        retry_on_conflict(write)

    interval("10m")
    time.sleep(0.5)
    env.set_image("1.7.1")
    time.sleep(1.0)
    assert env.phase() == "Initialized"
    interval("10s")
    env.wait_phase("Progressing", timeout=4)


def test_failing_metric_rolls_back(env: Env) -> None:
    env.start_engine()
    env.apply_seed()
    env.wait_phase("Initialized")
    env.prom.value = 42.857
    env.set_image("1.7.1", ["--random-error"])
    wait_for("failedChecks 5",
             lambda: (env.canary().get("status") or {}).get("failedChecks") == 5, 20,
             ignore=TRANSIENT)
    c = env.wait_phase("Failed", 10)
    assert (c["status"]["failedChecks"], c["status"]["canaryWeight"]) == (0, 0)
    halt = env.event("Halt podinfo.test advancement success-rate 42.86 < 99")
    assert halt is not None and halt["type"] == "Warning" and halt["count"] >= 5
    for m in ["Rolling back podinfo.test failed checks threshold reached 5",
              "Canary failed! Scaling down podinfo.test"]:
        ev = wait_for(m, lambda m=m: env.event(m), 5, ignore=TRANSIENT)
        assert ev["type"] == "Warning"
    route = env.client.get("gateway.networking.k8s.io/v1beta1", "HTTPRoute", "podinfo", "test")
    assert [b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]] == [100, 0]
    assert _image(env.client, "podinfo-primary") == "quay.io/stefanprodan/podinfo:1.7.0"
    assert env.client.get("apps/v1", "Deployment", "podinfo", "test")["spec"]["replicas"] == 0


def test_prometheus_down_never_advances(env: Env) -> None:
    env.start_engine()
    env.apply_seed()
    env.wait_phase("Initialized")
    env.recorder.start()
    env.set_image("1.7.1")
    wait_for("weight 20", lambda: env.recorder.weights[-1:] == [20], 10, ignore=TRANSIENT)
    env.prom.stop()
    c = env.wait_phase("Failed", 20)
    assert max(env.recorder.weights) <= 30  # at most the tick already in flight
    assert env.recorder.weights[-1] == 0
    assert c["status"]["lastPromotedSpec"] != c["status"]["lastAppliedSpec"]
    assert any(m.startswith("Metric query failed for success-rate: request to ")
               for m in env.messages())
    assert _image(env.client, "podinfo-primary") == "quay.io/stefanprodan/podinfo:1.7.0"


def test_sigkill_mid_rollout_resumes_without_skipping(env: Env) -> None:
    engine = env.start_engine()
    env.apply_seed()
    env.wait_phase("Initialized")
    env.recorder.start()
    env.set_image("1.7.1")
    wait_for("weight 40", lambda: env.recorder.weights[-1:] == [40], 10, ignore=TRANSIENT)
    engine.kill()
    env.start_engine()
    env.wait_phase("Succeeded", 30)
    wait_for("route back to 0", lambda: env.recorder.weights[-1:] == [0], 5, ignore=TRANSIENT)
    assert env.recorder.weights == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 0]
    assert env.messages().count("Promotion completed! Scaling down podinfo.test") == 1


def test_invalid_canary_is_reported_and_others_keep_running(env: Env) -> None:
    engine = env.start_engine("json")
    bad = copy.deepcopy(CANARY)
    bad["metadata"]["name"] = "broken"
    del bad["spec"]["service"]["gatewayRefs"]
    env.client.create(bad)
    env.apply_seed()
    env.wait_phase("Initialized")
    msg = ("Invalid Canary spec: spec.service.gatewayRefs: GatewayRefs must be specified when "
           "using Gateway API as a provider.")
    ev = wait_for("invalid-spec event", lambda: env.event(msg), 5, ignore=TRANSIENT)
    assert ev["type"] == "Warning" and ev["involvedObject"]["name"] == "broken"
    broken = env.client.get("flagger.app/v1beta1", "Canary", "broken", "test")
    cond = next(c for c in broken["status"]["conditions"] if c["type"] == "SpecValid")
    assert cond["status"] == "False" and "spec.service.gatewayRefs" in cond["message"]
    assert engine.stop() == 0  # SIGTERM: clean exit
    lines = [json.loads(x) for x in engine.log_path.read_text().splitlines()]
    assert any(x["msg"] == "podinfo.test: Initialization done! podinfo.test" for x in lines)
    assert not any("Traceback" in x["msg"] for x in lines)


def test_webhooks_receive_flagger_payloads(env: Env) -> None:
    peer = Peer(lambda _m, path, _q, _b: (500 if path == "/notify" else 200, "nope"))
    url = peer.url
    try:
        canary = copy.deepcopy(CANARY)
        canary["spec"]["analysis"]["webhooks"] = [
            {"name": "acceptance", "type": "pre-rollout", "url": f"{url}/pre",
             "metadata": {"type": "bash", "cmd": "curl -s http://podinfo-canary.test:9898/"}},
            {"name": "load", "type": "rollout", "url": f"{url}/load"},
            {"name": "notify", "type": "post-rollout", "url": f"{url}/notify"},
            {"name": "events", "type": "event", "url": f"{url}/events"}]
        env.start_engine()
        env.client.create(copy.deepcopy(TEMPLATE))
        env.client.create(canary)
        env.wait_phase("Initialized")
        env.set_image("1.7.1")
        env.wait_phase("Succeeded", 30)
        wait_for("post-rollout", lambda: env.event("Post-rollout hook notify failed nope"), 5,
                 ignore=TRANSIENT)
    finally:
        peer.stop()
    calls = [(path, body) for _m, path, _q, body in peer.calls]
    pre = [b for p, b in calls if p == "/pre"]
    assert pre[0]["name"] == "podinfo" and pre[0]["namespace"] == "test"
    assert pre[0]["phase"] == "Progressing" and pre[0]["checksum"]
    assert pre[0]["metadata"] == {"type": "bash",
                                  "cmd": "curl -s http://podinfo-canary.test:9898/"}
    assert len([p for p, _ in calls if p == "/load"]) >= 10  # every analysis tick
    assert [b["phase"] for p, b in calls if p == "/notify"] == ["Succeeded"]
    ev = [b["metadata"] for p, b in calls if p == "/events"]
    assert {"eventMessage": "Advance podinfo.test canary weight 10", "eventType": "Normal"} \
        .items() <= next(m for m in ev if m["eventMessage"].startswith("Advance")).items()
    assert "Pre-rollout check acceptance passed" in env.messages()


def test_api_server_outage_pauses_the_rollout(env: Env) -> None:
    env.start_engine()
    env.apply_seed()
    env.wait_phase("Initialized")
    env.recorder.start()
    env.set_image("1.7.1")
    wait_for("weight 30", lambda: env.recorder.weights[-1:] == [30], 10, ignore=TRANSIENT)
    env.api.stop()
    time.sleep(1.0)  # five analysis intervals without an API server
    env.api.start()  # the same port and token
    c = env.wait_phase("Succeeded", 30)
    wait_for("route back to 0", lambda: env.recorder.weights[-1:] == [0], 5, ignore=TRANSIENT)
    weights = env.recorder.weights
    assert weights == sorted(weights[:-1]) + [0]
    assert [w for w in weights[:-1] if w] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert c["status"]["lastPromotedSpec"] == c["status"]["lastAppliedSpec"]
    assert "API server unreachable" in (env.dir / "engine.log").read_text()


def test_deleting_the_canary_leaves_the_target_at_zero(env: Env) -> None:
    env.start_engine()
    env.apply_seed()
    env.wait_phase("Initialized")
    env.client.delete("flagger.app/v1beta1", "Canary", "podinfo", "test")
    wait_for("primary garbage-collected", lambda: env.client.get_or_none("apps/v1", "Deployment",
             "podinfo-primary",
                                            "test") is None, 10, ignore=TRANSIENT)
    wait_for("route collected",
             lambda: env.client.get_or_none("gateway.networking.k8s.io/v1beta1", "HTTPRoute",
                                            "podinfo", "test") is None, 10, ignore=TRANSIENT)
    # as with Flagger (no revertOnDeletion): the target stays scaled to zero
    assert env.client.get("apps/v1", "Deployment", "podinfo", "test")["spec"]["replicas"] == 0
    log = env.dir / "engine.log"
    wait_for("engine unscheduled", lambda: "canary test/podinfo deleted" in log.read_text(), 5,
             ignore=TRANSIENT)
    assert "Traceback" not in log.read_text()


def test_repeated_sigkills_never_skip_a_weight_or_promote_twice(env: Env) -> None:
    rnd = random.Random(4)
    env.start_engine()
    env.apply_seed()
    env.wait_phase("Initialized")
    env.recorder.start()
    env.set_image("1.7.1")
    kills = 0
    end = time.monotonic() + 60
    while env.phase() != "Succeeded" and time.monotonic() < end:
        time.sleep(rnd.uniform(0.05, 0.6))
        assert env.engine is not None
        env.engine.kill()
        kills += 1
        env.start_engine()
    env.wait_phase("Succeeded", 30)
    wait_for("route back to 0", lambda: env.recorder.weights[-1:] == [0], 5, ignore=TRANSIENT)
    seen = [w for w in env.recorder.weights if w]
    assert sorted(set(seen)) == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], env.recorder.weights
    assert seen == sorted(seen)  # never backwards, repeats allowed
    assert kills >= 3
    assert env.messages().count("Promotion completed! Scaling down podinfo.test") == 1
    assert _image(env.client, "podinfo-primary") == "quay.io/stefanprodan/podinfo:1.7.1"
