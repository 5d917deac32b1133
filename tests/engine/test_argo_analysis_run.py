"""AnalysisRun scheduling and assessment (canary.engine.argo_analysis) on a fake clock, with the
limits, counters and messages of argo-rollouts analysis/analysis.go."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from canary.clock import FakeClock
from canary.engine.argo_analysis import Outcome, assess, due_metrics
from canary.engine.argo_expr import format_value
from canary.spec.analysis import RolloutAnalysis, TemplateRef, build_run_spec

TEMPLATE = Path(__file__).parents[2] / "fixtures" / "manifests" / \
    "argo-success-rate-template.yaml"
ARGS = [{"name": "namespace", "value": "test"}, {"name": "canary-hash", "value": "abc"}]


def template(**metric: Any) -> dict[str, Any]:
    tpl = yaml.safe_load(TEMPLATE.read_text())
    tpl["spec"]["metrics"][0].update(metric)
    for k in [k for k, v in metric.items() if v is None]:
        del tpl["spec"]["metrics"][0][k]
    return tpl


def new_run(tpl: dict[str, Any], **ref: Any) -> dict[str, Any]:
    r = RolloutAnalysis(templates=[TemplateRef("success-rate")], **ref)
    return {"metadata": {"name": "rollouts-demo-abc-2"},
            "spec": build_run_spec([("AnalysisTemplate", tpl)], r, ARGS)}


class Runner:
    """Drives one run the way the controller does: measure what is due, assess, repeat."""

    def __init__(self, run: dict[str, Any], answer: Callable[[int], Any],
                 scale: float = 1.0) -> None:
        self.run = run
        self.answer = answer  # measurement number -> value (list of floats) or Exception
        self.clock = FakeClock(scale=scale)
        self.taken = 0
        self.events: list[str] = []
        self.queries: list[str] = []

    def step(self) -> float | None:
        outcomes = {}
        for m in due_metrics(self.run, self.clock.now(), self.clock.scale):
            self.queries.append(m.query)
            v = self.answer(self.taken)
            self.taken += 1
            now = self.clock.now()
            outcomes[m.name] = (Outcome(now, now, error=str(v)) if isinstance(v, Exception)
                                else Outcome(now, now, value=v, value_text=format_value(v),
                                             query=m.query))
        d = assess(self.run, outcomes, self.clock.now(), self.clock.scale)
        self.run = {**self.run, "status": d.status}
        self.events += [f"{e.reason}: {e.message}" for e in d.events]
        return d.requeue_after

    def until_done(self, limit: int = 50) -> dict[str, Any]:
        for _ in range(limit):
            wait = self.step()
            if self.run["status"].get("phase") in ("Successful", "Failed", "Error",
                                                   "Inconclusive"):
                return self.run["status"]
            self.clock.advance(wait if wait is not None else 1.0)
        raise AssertionError(f"run did not finish: {self.run['status']}")


def test_args_are_substituted_into_the_query() -> None:
    r = Runner(new_run(template(count=1, interval=None)), lambda n: [1.0])
    r.until_done()
    assert 'rollouts_pod_template_hash="abc"' in r.queries[0]
    assert "{{" not in r.queries[0]
    assert r.run["status"]["metricResults"][0]["metadata"]["ResolvedPrometheusQuery"] == \
        r.queries[0]


def test_first_failed_measurement_fails_the_run_with_argos_message() -> None:
    r = Runner(new_run(template()), lambda n: [0.97])
    st = r.until_done()
    assert st["phase"] == "Failed"
    assert st["message"] == 'Metric "success-rate" assessed Failed due to failed (1) > ' \
        "failureLimit (0)"
    res = st["metricResults"][0]
    assert res["failed"] == 1 and res["count"] == 1 and res["measurements"][0]["value"] == \
        "[0.97]"
    assert st["runSummary"] == {"count": 1, "failed": 1}
    assert "MetricFailed: Metric 'success-rate' Completed. Result: Failed" in r.events
    assert "AnalysisRunFailed: Analysis Completed. Result: Failed" in r.events


def test_initial_delay_then_one_measurement_per_interval() -> None:
    r = Runner(new_run(template(count=3, failureLimit=1)), lambda n: [[0.97], [1.0], [1.0]][n])
    r.step()
    assert r.taken == 0  # initialDelay 30s: nothing yet
    r.clock.advance(29)
    r.step()
    assert r.taken == 0
    r.clock.advance(1)
    r.step()
    assert r.taken == 1
    r.clock.advance(9)
    r.step()
    assert r.taken == 1  # interval 10s
    st = r.until_done()
    assert r.taken == 3 and st["phase"] == "Successful"  # 1 failure <= failureLimit 1
    assert st["metricResults"][0]["failed"] == 1


def test_time_scale_compresses_the_schedule() -> None:
    r = Runner(new_run(template(count=2)), lambda n: [1.0], scale=0.05)
    r.step()
    r.clock.advance(30)  # spec seconds: 1.5 s of wall time
    r.step()
    assert r.taken == 1
    started = r.run["status"]["metricResults"][0]["measurements"][0]["startedAt"]
    assert started.endswith("Z")
    assert r.step() == pytest.approx(10.0)  # the next one is due one spec interval later


def test_five_consecutive_errors_end_the_run_in_error() -> None:
    r = Runner(new_run(template()), lambda n: RuntimeError("connection refused"))
    st = r.until_done()
    assert r.taken == 5  # consecutiveErrorLimit 4: the 5th error ends it
    assert st["phase"] == "Error"
    assert st["message"].startswith('Metric "success-rate" assessed Error due to '
                                    "consecutiveErrors (5) > consecutiveErrorLimit (4)")
    assert 'Error Message: connection refused' in st["message"]


def test_errors_then_success_reset_the_consecutive_count() -> None:
    answers: list[Any] = [RuntimeError("x")] * 4 + [[1.0]] + [RuntimeError("x")] * 4 + [[0.5]]
    r = Runner(new_run(template()), lambda n: answers[n])
    st = r.until_done()
    assert st["phase"] == "Failed" and st["metricResults"][0]["error"] == 8


def test_inconclusive_when_neither_condition_holds() -> None:
    r = Runner(new_run(template(failureCondition="result[0] < 0.9")), lambda n: [0.95])
    st = r.until_done()
    assert st["phase"] == "Inconclusive"
    assert st["message"] == 'Metric "success-rate" assessed Inconclusive due to inconclusive ' \
        "(1) > inconclusiveLimit (0)"


def test_terminating_a_run_without_count_makes_it_successful() -> None:
    r = Runner(new_run(template()), lambda n: [1.0])
    for _ in range(5):
        r.step()
        r.clock.advance(10)
    assert r.run["status"]["phase"] == "Running"
    r.run = copy.deepcopy(r.run)
    r.run["spec"]["terminate"] = True
    r.step()
    st = r.run["status"]
    assert st["phase"] == "Successful" and st["message"] == "Run Terminated"
    assert st["metricResults"][0]["successful"] == r.taken


def test_dry_run_metric_never_fails_the_run() -> None:
    r = Runner(new_run(template(count=1, interval=None),
                       dry_run=[{"metricName": "success-rate"}]), lambda n: [0.5])
    st = r.until_done()
    assert st["phase"] == "Successful"
    assert st["dryRunSummary"] == {"count": 1, "failed": 1}
    assert st["metricResults"][0]["dryRun"] is True
    assert st["metricResults"][0]["message"].startswith("Metric assessed Failed due to failed")


def test_measurement_retention_keeps_the_newest() -> None:
    r = Runner(new_run(template(count=6), retention=[{"metricName": "*", "limit": 2}]),
               lambda n: [1.0 - n / 1000])
    st = r.until_done()
    ms = st["metricResults"][0]["measurements"]
    assert [m["value"] for m in ms] == ["[0.996]", "[0.995]"]
    assert st["metricResults"][0]["count"] == 6


def test_default_history_is_ten_measurements() -> None:
    r = Runner(new_run(template(count=12)), lambda n: [1.0])
    st = r.until_done()
    assert len(st["metricResults"][0]["measurements"]) == 10


def test_a_missing_argument_ends_the_run_in_error() -> None:
    run = new_run(template())
    run["spec"]["args"] = [{"name": "namespace", "value": "test"}, {"name": "canary-hash"}]
    r = Runner(run, lambda n: [1.0])
    st = r.until_done()
    assert st["phase"] == "Error"
    assert st["message"] == 'Unable to resolve metric arguments: argument "canary-hash" was ' \
        "not supplied"
    assert r.taken == 0


@pytest.mark.parametrize(("metric", "problem"), [
    ({"count": 3, "interval": None}, "interval must be specified when count > 1"),
    ({"interval": "10"}, 'invalid interval string: time: missing unit in duration "10"'),
    ({"failureLimit": -1}, "failureLimit and consecutiveSuccessLimit cannot both be disabled"),
    ({"count": 1, "failureLimit": 2, "interval": None},
     "count (1) must be >= failureLimit + consecutiveSuccessLimit (2 + 0) if both >= 0"),
    ({"provider": {"prometheus": {"query": "q"}, "web": {"url": "x"}}},
     "multiple providers specified"),
    ({"provider": {"datadog": {"query": "q"}}}, "provider not supported by this engine"),
])
def test_invalid_metrics_are_named_by_field(metric: dict, problem: str) -> None:
    from canary.spec.analysis import RunBuildError

    with pytest.raises(RunBuildError, match="spec.metrics\\[0\\]"):
        try:
            new_run(template(**metric))
        except RunBuildError as e:
            assert problem in str(e), str(e)
            raise


def test_rollout_args_override_template_defaults_and_all_must_resolve() -> None:
    from canary.spec.analysis import RunBuildError

    tpl = template()
    tpl["spec"]["args"][0]["value"] = "default-ns"
    r = RolloutAnalysis(templates=[TemplateRef("success-rate")])
    spec = build_run_spec([("AnalysisTemplate", tpl)], r, ARGS)
    assert spec["args"][0] == {"name": "namespace", "value": "test"}
    with pytest.raises(RunBuildError, match="args.canary-hash was not resolved"):
        build_run_spec([("AnalysisTemplate", tpl)], r, ARGS[:1])
