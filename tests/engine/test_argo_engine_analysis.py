"""Analysis driving the Argo step walk: background analysis from ``startingStep`` and analysis
steps, through the corrected seed Rollout on a fake clock. AnalysisRuns live in an in-memory
store and are measured by the real assessment code with the measurements a test chooses."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from canary.clock import FakeClock
from canary.engine import argo
from canary.engine.argo_analysis import Outcome, assess, due_metrics
from canary.engine.argo_expr import format_value
from canary.engine.types import Event
from canary.spec.analysis import build_run_spec, rollout_args
from canary.spec.rollout import parse_rollout

MANIFESTS = Path(__file__).parents[2] / "fixtures" / "manifests"
NEW_IMAGE = "quay.io/stefanprodan/podinfo:1.7.1"
BACKGROUND = {"startingStep": 1, "templates": [{"templateName": "success-rate"}],
              "args": [{"name": "namespace",
                        "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                       {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}}]}


def seed_rollout(background: dict | None = BACKGROUND,
                 steps: list | None = None) -> dict[str, Any]:
    docs = yaml.safe_load_all((MANIFESTS / "argo-rollout-corrected.yaml").read_text())
    ro = next(d for d in docs if d["kind"] == "Rollout")
    ro["metadata"]["generation"] = 1
    ro["metadata"]["uid"] = "ro-uid"
    if background is not None:
        ro["spec"]["strategy"]["canary"]["analysis"] = copy.deepcopy(background)
    if steps is not None:
        ro["spec"]["strategy"]["canary"]["steps"] = steps
    return ro


TEMPLATE = yaml.safe_load((MANIFESTS / "argo-success-rate-template.yaml").read_text())


class World:
    """The Rollout, its ReplicaSets (ready at once) and AnalysisRuns, reconciled like the
    controller does: measure the runs, then reconcile the Rollout, apply its actions."""

    def __init__(self, rollout: dict[str, Any], rate: Callable[[str], float]) -> None:
        self.rollout = rollout
        self.rate = rate  # canary hash -> the success rate Prometheus would answer
        self.status: dict[str, Any] = {}
        self.clock = FakeClock(scale=0.05)
        self.rs: dict[str, argo.ReplicaSetObs] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.weights: list[int] = []
        self.events: list[Event] = []
        self.drop_status_write = False
        self.template = TEMPLATE

    def set_image(self, image: str) -> None:
        self.rollout["spec"]["template"]["spec"]["containers"][0]["image"] = image
        self.rollout["metadata"]["generation"] += 1

    def measure(self) -> None:
        for name, run in self.runs.items():
            outcomes = {}
            now = self.clock.now()
            for m in due_metrics(run, now, self.clock.scale):
                h = next(a["value"] for a in run["spec"]["args"] if a["name"] == "canary-hash")
                v = [self.rate(h)]
                outcomes[m.name] = Outcome(now, now, value=v, value_text=format_value(v))
            d = assess(run, outcomes, now, self.clock.scale)
            self.runs[name] = {**run, "status": d.status}

    def observed_runs(self) -> list[argo.AnalysisRunObs]:
        out = []
        for name, r in self.runs.items():
            labels = r["metadata"]["labels"]
            out.append(argo.AnalysisRunObs(
                name, labels["rollout-type"], labels["rollouts-pod-template-hash"],
                int(labels["step-index"]) if "step-index" in labels else None,
                (r.get("status") or {}).get("phase", ""),
                (r.get("status") or {}).get("message", ""),
                bool(r["spec"].get("terminate"))))
        return out

    def reconcile(self) -> argo.Decision:
        self.measure()
        spec = parse_rollout(self.rollout)
        assert not spec.errors, spec.errors
        obs = argo.Observations(now=self.clock.now(), replicasets=copy.deepcopy(self.rs),
                                generation=self.rollout["metadata"]["generation"],
                                scale=self.clock.scale, analysis_runs=self.observed_runs())
        d = argo.reconcile(spec, self.status, obs)
        for a in d.actions:
            self.apply(a)
        if not self.drop_status_write:
            self.status = d.status
            self.events.extend(d.events)
        return d

    def apply(self, a: argo.Action) -> None:
        if isinstance(a, argo.CreateReplicaSet):
            self.rs[a.hash] = argo.ReplicaSetObs(a.name, a.hash, a.revision, a.replicas)
        elif isinstance(a, argo.ScaleReplicaSet):
            rs = next(r for r in self.rs.values() if r.name == a.name)
            rs.replicas, rs.scale_down_at = a.replicas, a.scale_down_at
        elif isinstance(a, argo.SetWeight):
            if not self.weights or self.weights[-1] != a.canary_weight:
                self.weights.append(a.canary_weight)
        elif isinstance(a, argo.CreateAnalysisRun):
            assert a.name not in self.runs
            stable = self.status.get("stableRS", "")
            args = rollout_args(a.analysis, self.rollout, stable, a.pod_hash)
            labels = {"rollout-type": a.kind, "rollouts-pod-template-hash": a.pod_hash}
            if a.step_index is not None:
                labels["step-index"] = str(a.step_index)
            self.runs[a.name] = {"metadata": {"name": a.name, "labels": labels},
                                 "spec": build_run_spec([("AnalysisTemplate", self.template)],
                                                        a.analysis, args)}
        elif isinstance(a, argo.TerminateAnalysisRun):
            self.runs[a.name]["spec"]["terminate"] = True
        for rs in self.rs.values():
            rs.current = rs.ready = rs.available = rs.replicas

    def advance(self, spec_seconds: float, rounds: int = 1) -> None:
        for _ in range(rounds):
            self.clock.advance(spec_seconds)
            self.reconcile()

    def settle(self, rounds: int = 5) -> None:
        for _ in range(rounds):
            self.reconcile()

    def reasons(self) -> list[str]:
        return [e.reason for e in self.events]

    def phase(self) -> str:
        return self.status.get("phase", "")


def started(rate: Callable[[str], float], **kw: Any) -> World:
    w = World(seed_rollout(**kw), rate)
    w.settle()
    assert w.phase() == "Healthy" and not w.runs  # no analysis on the initial deploy
    return w


def test_background_analysis_starts_at_starting_step_and_completes_successful() -> None:
    w = started(lambda h: 1.0)
    w.set_image(NEW_IMAGE)
    w.settle()
    assert w.phase() == "Paused" and w.status["currentStepIndex"] == 1
    h = w.status["currentPodHash"]
    assert list(w.runs) == [f"rollouts-demo-{h}-2"]
    run = w.runs[f"rollouts-demo-{h}-2"]
    assert run["metadata"]["labels"] == {"rollout-type": "Background",
                                         "rollouts-pod-template-hash": h}
    assert {"name": "canary-hash", "value": h} in run["spec"]["args"]
    w.advance(10, rounds=6)
    assert w.runs[f"rollouts-demo-{h}-2"]["status"]["metricResults"][0]["successful"] >= 2
    w.status.pop("pauseConditions")  # promote
    w.advance(10, rounds=10)  # runs are cancelled the pass after the promotion
    assert w.phase() == "Healthy"
    run = w.runs[f"rollouts-demo-{h}-2"]
    assert run["spec"]["terminate"] is True
    assert run["status"]["phase"] == "Successful"
    assert len(w.runs) == 1
    # no longer current once promoted (Argo clears it too)
    assert "currentBackgroundAnalysisRunStatus" not in w.status["canary"]
    assert w.weights == [0, 30, 40, 60, 80, 100, 0]


def test_a_failing_background_analysis_aborts_with_argos_message() -> None:
    w = started(lambda h: 0.9)
    w.set_image(NEW_IMAGE)
    w.settle()
    w.advance(10, rounds=4)
    h = w.status["currentPodHash"]
    name = f"rollouts-demo-{h}-2"
    assert w.phase() == "Degraded"
    assert w.status["message"] == (
        "RolloutAborted: Rollout aborted update to revision 2: Background analysis phase "
        'error/failed: Metric "success-rate" assessed Failed due to failed (1) > failureLimit '
        "(0)")
    assert w.weights[-1] == 0 and w.status["canary"]["weights"]["canary"]["weight"] == 0
    assert w.runs[name]["status"]["phase"] == "Failed"
    msgs = [e.message for e in w.events if e.reason == "AnalysisRunFailed"]
    assert msgs == [f"Background Analysis Run '{name}' Status New: 'Failed' Previous: "
                    "'Running'"]
    # Stays aborted: the message is kept, no new run starts.
    w.advance(10, rounds=5)
    assert w.phase() == "Degraded" and len(w.runs) == 1
    assert w.status["message"].endswith("failed (1) > failureLimit (0)")
    assert "RolloutAborted" in w.reasons()


def test_retry_after_an_analysis_abort_starts_a_fresh_run() -> None:
    rates = {"now": 0.9}
    w = started(lambda h: rates["now"])
    w.set_image(NEW_IMAGE)
    w.settle()
    w.advance(10, rounds=4)
    assert w.phase() == "Degraded"
    rates["now"] = 1.0
    w.status.pop("abort")  # retry
    w.advance(10, rounds=2)
    assert w.phase() == "Paused" and w.status["currentStepIndex"] == 1
    h = w.status["currentPodHash"]
    assert sorted(w.runs) == [f"rollouts-demo-{h}-2", f"rollouts-demo-{h}-2.1"]
    assert w.status["canary"]["currentBackgroundAnalysisRunStatus"]["name"] == \
        f"rollouts-demo-{h}-2.1"
    w.advance(10, rounds=6)
    assert w.runs[f"rollouts-demo-{h}-2.1"]["status"]["phase"] == "Running"
    assert w.phase() == "Paused"


def test_an_inconclusive_run_pauses_the_rollout_and_promote_starts_a_new_one() -> None:
    tpl = copy.deepcopy(TEMPLATE)
    tpl["spec"]["metrics"][0]["failureCondition"] = "result[0] < 0.5"
    w = started(lambda h: 0.9)
    w.template = tpl
    w.set_image(NEW_IMAGE)
    w.settle()
    w.advance(10, rounds=4)
    h = w.status["currentPodHash"]
    assert w.runs[f"rollouts-demo-{h}-2"]["status"]["phase"] == "Inconclusive"
    assert w.phase() == "Paused"
    assert [p["reason"] for p in w.status["pauseConditions"]] == [
        "CanaryPauseStep", "InconclusiveAnalysisRun"]
    w.status.pop("pauseConditions")  # promote
    w.settle()
    assert f"rollouts-demo-{h}-2.1" in w.runs


def test_analysis_step_blocks_until_its_run_succeeds() -> None:
    tpl = copy.deepcopy(TEMPLATE)
    tpl["spec"]["metrics"][0]["count"] = 2
    step = {"analysis": {"templates": [{"templateName": "success-rate"}],
                         "args": BACKGROUND["args"]}}
    w = started(lambda h: 1.0, background=None,
                steps=[{"setWeight": 20}, step, {"setWeight": 50}])
    w.template = tpl
    w.set_image(NEW_IMAGE)
    w.settle()
    h = w.status["currentPodHash"]
    name = f"rollouts-demo-{h}-2-1"
    assert w.status["currentStepIndex"] == 1 and w.phase() == "Progressing"
    assert list(w.runs) == [name]
    assert w.runs[name]["metadata"]["labels"]["step-index"] == "1"
    assert w.status["canary"]["currentStepAnalysisRunStatus"]["name"] == name
    w.advance(10, rounds=3)  # initialDelay 30s, then the first of two measurements
    assert w.status["currentStepIndex"] == 1
    w.advance(10, rounds=4)  # the route goes back to 0 the pass after the promotion
    assert w.runs[name]["status"]["phase"] == "Successful"
    assert w.phase() == "Healthy"
    assert "Rollout step 2/3 completed (analysis)" in [e.message for e in w.events]
    assert w.weights == [0, 20, 50, 100, 0]


def test_a_failed_analysis_step_aborts() -> None:
    tpl = copy.deepcopy(TEMPLATE)
    tpl["spec"]["metrics"][0]["count"] = 1
    tpl["spec"]["metrics"][0].pop("interval")
    step = {"analysis": {"templates": [{"templateName": "success-rate"}],
                         "args": BACKGROUND["args"]}}
    w = started(lambda h: 0.5, background=None, steps=[{"setWeight": 20}, step])
    w.template = tpl
    w.set_image(NEW_IMAGE)
    w.settle()
    w.advance(10, rounds=4)
    assert w.phase() == "Degraded"
    assert "Step-based analysis phase error/failed: Metric \"success-rate\" assessed " \
        "Failed" in w.status["message"]
    assert w.status["currentStepIndex"] == 0 and w.weights[-1] == 0


def test_an_engine_killed_after_creating_a_run_adopts_it() -> None:
    w = started(lambda h: 1.0)
    w.set_image(NEW_IMAGE)
    w.drop_status_write = True  # the engine dies after its actions, before the status write
    w.reconcile()
    w.reconcile()
    w.drop_status_write = False
    w.settle()
    assert len(w.runs) == 1  # the live run was adopted, not duplicated
    assert w.phase() == "Paused"
