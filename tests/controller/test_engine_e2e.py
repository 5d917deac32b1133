"""Issue 4 acceptance 3 and 4 on the full sandbox: real API server, node agent, mesh, real
Prometheus, and `canary engine` as a separate process that the tests SIGKILL.

The seed's Canary and MetricTemplate verbatim, the demo applied (its load generator keeps traffic
flowing through the mesh), time scale 0.05: an analysis interval of 10s is 0.5s wall.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from support.poll import wait_for

from canary.clock import format_duration
from canary.kube.client import ApiError, ApiUnavailable, KubeClient
from canary.sandbox.manager import Sandbox, pid_alive
from canary.sandbox.prometheus import PrometheusError, find_binary

# what "not yet" looks like while things start
TRANSIENT = (ApiError, ApiUnavailable)

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "fixtures" / "manifests"
SCALE = 0.05
TICK = 10 * SCALE  # the seed's `interval: 10s`, in wall seconds
NS = "test"
ROUTE = ("gateway.networking.k8s.io/v1beta1", "HTTPRoute")
CANARY = ("flagger.app/v1beta1", "Canary")
COPYING = "Copying podinfo.test template spec to podinfo-primary.test"
NO_VALUES = "Halt advancement no values found for custom metric: success-rate: no values found"


def _prometheus_missing() -> str | None:
    try:
        find_binary()
        return None
    except PrometheusError as e:
        return str(e)


pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(_prometheus_missing() is not None,
                       reason=f"needs the prometheus binary: {_prometheus_missing()}"),
]


# -- helpers -----------------------------------------------------------------------------------





class Recorder(threading.Thread):
    """Watches one object and records each distinct consecutive value of ``extract(obj)``,
    with the wall time it arrived. Long watch timeouts: a reconnect would deliver the events it
    missed in one burst and blur their arrival times."""

    def __init__(self, client: KubeClient, kind: tuple[str, str], name: str,
                 extract: Callable[[dict], Any]) -> None:
        super().__init__(daemon=True)
        self.client, self.kind, self.name, self.extract = client, kind, name, extract
        self.samples: list[tuple[float, Any]] = []
        self.stop_event = threading.Event()

    @property
    def values(self) -> list[Any]:
        return [v for _, v in self.samples]

    def run(self) -> None:
        rv = None
        while not self.stop_event.is_set():
            try:
                for _type, obj in self.client.watch(*self.kind, NS, resource_version=rv,
                                                    field_selector=f"metadata.name={self.name}",
                                                    timeout_seconds=60):
                    rv = obj["metadata"].get("resourceVersion")
                    if obj["metadata"].get("name") != self.name:
                        continue
                    value = self.extract(obj)
                    if value is not None and (not self.samples or self.samples[-1][1] != value):
                        self.samples.append((time.monotonic(), value))
                    if self.stop_event.is_set():
                        return
            except Exception:  # noqa: BLE001 - reconnect; relist when the rv is gone
                rv = None
                self.stop_event.wait(0.05)


def canary_weight(route: dict) -> int | None:
    refs = route["spec"]["rules"][0]["backendRefs"]
    return next((r["weight"] for r in refs if r["name"] == "podinfo-canary"), None)


def route_weights(route: dict) -> list[int]:
    return [r["weight"] for r in route["spec"]["rules"][0]["backendRefs"]]


class Stack:
    """A fresh sandbox with the demo, plus the engine processes a test starts."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.engines: list[subprocess.Popen] = []
        self.recorders: list[Recorder] = []
        self.sb = Sandbox.start(directory / "sandbox", time_scale=SCALE)
        try:
            self.client = self.sb.client()
            self.kubectl("create", "ns", NS)
            self.kubectl("apply", "-f", str(MANIFESTS / "crds"))
            self.kubectl("-n", NS, "apply", "-f", str(MANIFESTS / "podinfo-demo.yaml"))
        except BaseException:
            self.sb.stop()
            raise

    def kubectl(self, *args: str) -> str:
        proc = subprocess.run(["kubectl", *args], capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, KUBECONFIG=str(self.sb.kubeconfig)))
        assert proc.returncode == 0, f"kubectl {' '.join(args)} failed:\n{proc.stderr}"
        return proc.stdout

    def start_engine(self) -> subprocess.Popen:
        n = len(self.engines) + 1
        log = open(self.dir / f"engine-{n}.log", "wb")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            [sys.executable, "-m", "canary.cli", "engine", "--kubeconfig", str(self.sb.kubeconfig),
             "--time-scale", str(SCALE), "--log-format", "json",
             "--sandbox-dir", str(self.sb.layout.root)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=str(self.dir))
        log.close()
        self.engines.append(proc)
        return proc

    def kill_engine(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the group is only the engine
        proc.wait(10)

    def record(self, kind: tuple[str, str], name: str, extract: Callable[[dict], Any]) -> Recorder:
        rec = Recorder(self.client, kind, name, extract)
        rec.start()
        self.recorders.append(rec)
        # the watch's initial ADDED event proves it is running before anything changes
        wait_for(f"the watch on {kind[1]} {name}", lambda: rec.samples, 10, ignore=TRANSIENT)
        return rec

    def close(self) -> None:
        for rec in self.recorders:
            rec.stop_event.set()
        try:
            for proc in self.engines:
                self.kill_engine(proc)
        finally:
            self.sb.stop()

    # -- the seed's objects --------------------------------------------------------------------

    def apply_seed(self) -> None:
        self.kubectl("apply", "-f", str(MANIFESTS / "podinfo-canary.yaml"))

    def canary(self) -> dict:
        return self.client.get(*CANARY, "podinfo", NS)

    def phase(self) -> str:
        return (self.canary().get("status") or {}).get("phase", "")

    def wait_phase(self, phase: str, timeout: float) -> dict:
        wait_for(f"canary phase {phase}", lambda: self.phase() == phase, timeout, ignore=TRANSIENT)
        return self.canary()

    def route(self) -> dict:
        return self.client.get(*ROUTE, "podinfo", NS)

    def image(self, deployment: str) -> str:
        dep = self.client.get("apps/v1", "Deployment", deployment, NS)
        return dep["spec"]["template"]["spec"]["containers"][0]["image"]

    def events(self) -> list[dict]:
        return [e for e in self.client.items("v1", "Event", NS)
                if e["involvedObject"].get("kind") == "Canary"]

    def event_count(self, message: str, type_: str | None = None) -> int:
        """Occurrences of an event, summing ``count`` over every Event object that holds it (a
        restarted engine starts its aggregation cache afresh and creates a new object)."""
        return sum(int(e.get("count") or 1) for e in self.events()
                   if e["message"] == message and (type_ is None or e["type"] == type_))

    # -- Prometheus ----------------------------------------------------------------------------

    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.sb.layout.read_config()['prometheus_port']}"

    def seed_success_rate(self, target: str) -> float | None:
        """The seed's MetricTemplate query, rendered as the engine renders it for ``target``."""
        docs = list(yaml.safe_load_all((MANIFESTS / "podinfo-canary.yaml").read_text()))
        template = next(d for d in docs if d["kind"] == "MetricTemplate")
        query = (template["spec"]["query"].replace("{{ namespace }}", NS)
                 .replace("{{ target }}", target)
                 .replace("{{ interval }}", format_duration(60 * SCALE)))  # `interval: 1m`
        query = re.sub(r"\s+", " ", query).strip()
        try:
            resp = requests.get(self.prometheus_url() + "/api/v1/query",
                                params={"query": query}, timeout=2)
            result = resp.json()["data"]["result"]
            value = float(result[-1]["value"][1]) if result else None
        except (requests.RequestException, ValueError, KeyError, IndexError):
            return None
        return None if value is None or value != value else value  # NaN: no traffic yet

    def ready_for_a_release(self) -> None:
        """Initialized, and Prometheus answers the seed's query for the primary: otherwise the
        first checks fail with "no values found" for reasons unrelated to these tests."""
        self.wait_phase("Initialized", 30)
        wait_for("Prometheus to answer the seed's success-rate query for podinfo-primary",
                 lambda: self.seed_success_rate("podinfo-primary"), 30, 0.1, ignore=TRANSIENT)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    s = Stack(tmp_path)
    try:
        yield s
    finally:
        s.close()


def _set_new_image(stack: Stack) -> None:
    stack.kubectl("-n", NS, "set", "image", "deployment/podinfo",
                  "podinfod=quay.io/stefanprodan/podinfo:1.7.1")


# -- acceptance 4 ------------------------------------------------------------------------------


def test_engine_sigkilled_mid_progression_resumes_without_skipping_a_weight(stack: Stack) -> None:
    first = stack.start_engine()
    stack.apply_seed()
    stack.ready_for_a_release()
    weights = stack.record(ROUTE, "podinfo", canary_weight)
    _set_new_image(stack)

    wait_for("canary weight 30", lambda: weights.values[-1:] == [30], 20, 0.005, ignore=TRANSIENT)
    stack.kill_engine(first)
    time.sleep(1.0)  # two ticks' worth of wall time with no engine at all
    stack.start_engine()

    c = stack.wait_phase("Succeeded", 30)
    wait_for("the route back to the primary", lambda: weights.values[-1:] == [0], 10,
             ignore=TRANSIENT)
    # consecutive repeats are folded by the recorder; a skipped or revisited value is not
    assert weights.values == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 0], weights.values
    assert route_weights(stack.route()) == [100, 0]
    assert stack.event_count(COPYING, "Normal") == 1, [e["message"] for e in stack.events()]
    assert stack.event_count("Promotion completed! Scaling down podinfo.test") == 1
    assert c["status"]["lastPromotedSpec"] == c["status"]["lastAppliedSpec"]
    assert stack.image("podinfo-primary") == "quay.io/stefanprodan/podinfo:1.7.1"
    assert stack.client.get("apps/v1", "Deployment", "podinfo", NS)["spec"]["replicas"] == 0


# -- acceptance 3 ------------------------------------------------------------------------------


def test_prometheus_down_mid_analysis_never_advances_and_counts_failed_checks(
        stack: Stack) -> None:
    stack.start_engine()
    stack.apply_seed()
    stack.ready_for_a_release()
    weights = stack.record(ROUTE, "podinfo", canary_weight)
    failed = stack.record(CANARY, "podinfo",
                          lambda c: int((c.get("status") or {}).get("failedChecks") or 0))
    _set_new_image(stack)

    wait_for("canary weight 20", lambda: weights.values[-1:] == [20], 20, 0.005, ignore=TRANSIENT)
    # what the watches had seen when Prometheus died: everything later happened without it
    seen_at_kill, failed_at_kill = len(weights.samples), len(failed.samples)
    prom_pid = stack.sb.layout.read_pids()["prometheus"]
    killed_at = time.monotonic()
    os.kill(prom_pid, signal.SIGKILL)
    wait_for("Prometheus to die", lambda: not pid_alive(prom_pid), 5, ignore=TRANSIENT)
    with pytest.raises(requests.RequestException):
        requests.get(stack.prometheus_url() + "/-/ready", timeout=1)

    c = stack.wait_phase("Failed", 20)
    wait_for("the route back to the primary", lambda: weights.values[-1:] == [0], 10,
             ignore=TRANSIENT)

    # What may still advance: a tick whose metric query had already succeeded when Prometheus
    # died can still write its route (query, then route write, then status write, serialized
    # per canary). That is at most one step, to 30, and only right after the kill: every later
    # tick has to query the dead Prometheus first. Nothing else may raise the weight before the
    # rollback sets it to 0.
    after = weights.values[seen_at_kill:]
    assert after[-1] == 0 and after[:-1] in ([], [30]), weights.values
    assert max(weights.values) <= 30, weights.values
    if after[:-1]:
        # in flight means written within the tick that was running at the kill
        assert weights.samples[seen_at_kill][0] - killed_at < TICK, weights.samples

    # Flagger counts each failed metric query as one failed check, one per tick, and rolls back
    # at the start of the tick after the threshold; the Failed status resets the counter to 0.
    # Before the kill the first checks at weight 10 may have failed, as with Flagger on a real
    # cluster: the canary's pod got traffic only an interval earlier, Prometheus (scraping once
    # per interval) holds fewer than two samples of its response_total, rate() has no value
    # ("no values found"). Those count too, so Prometheus' outage only has to add the rest.
    messages = [(e["type"], e["message"]) for e in stack.events()]
    counts = failed.values
    before = counts[:failed_at_kill]
    assert before == list(range(len(before))) and len(before) <= 3, (counts, messages)
    assert stack.event_count(NO_VALUES, "Warning") == before[-1], messages
    assert counts[failed_at_kill:] == [*range(before[-1] + 1, 6), 0], counts
    query_failures = sum(int(e.get("count") or 1) for e in stack.events()
                         if e["type"] == "Warning"
                         and e["message"].startswith("Metric query failed for success-rate: "))
    assert query_failures == 5 - before[-1], messages
    times = [t for t, v in failed.samples[failed_at_kill:] if v]
    gaps = [round(b - a, 3) for a, b in zip(times, times[1:], strict=False)]
    assert all(g >= 0.4 * TICK for g in gaps), f"more than one failed check per tick: {gaps}"
    assert times[-1] - times[0] >= (len(times) - 1.5) * TICK, gaps

    assert stack.event_count("Rolling back podinfo.test failed checks threshold reached 5",
                             "Warning") == 1, messages
    assert stack.event_count("Canary failed! Scaling down podinfo.test", "Warning") == 1, messages
    assert stack.event_count(COPYING) == 0, messages

    assert c["status"]["lastPromotedSpec"] != c["status"]["lastAppliedSpec"]
    assert route_weights(stack.route()) == [100, 0]
    assert stack.image("podinfo-primary") == "quay.io/stefanprodan/podinfo:1.7.0"
    assert stack.client.get("apps/v1", "Deployment", "podinfo", NS)["spec"]["replicas"] == 0
