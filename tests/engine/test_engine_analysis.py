"""Flagger's metric verdicts and Halt messages, one row per rule."""

from __future__ import annotations

import pytest
from support.flagger_world import canary_obj

from canary.engine.analysis import MetricOutcome, go_duration_ms, judge_metric
from canary.engine.hashing import template_hash
from canary.engine.readiness import deployment_readiness
from canary.spec.canary import parse_canary

C = parse_canary(canary_obj({"interval": "10s", "stepWeight": 10, "metrics": [
    {"name": "success-rate", "templateRef": {"name": "success-rate"},
     "thresholdRange": {"min": 99}, "interval": "1m"},
    {"name": "latency", "templateRef": {"name": "latency"}, "thresholdRange": {"max": 500}},
    {"name": "request-success-rate", "thresholdRange": {"min": 99}},
    {"name": "request-duration", "thresholdRange": {"max": 500}},
    {"name": "inline", "query": "vector(1)", "thresholdRange": {"min": 1}},
    {"name": "nothing"}]}))
SR, LAT, BSR, BDUR, INLINE, NOTHING = C.analysis.metrics


@pytest.mark.parametrize("metric,outcome,message", [
    (SR, MetricOutcome(100.0), None),
    (SR, MetricOutcome(42.857), "Halt podinfo.test advancement success-rate 42.86 < 99"),
    (LAT, MetricOutcome(612.3), "Halt podinfo.test advancement latency 612.30 > 500"),
    (SR, MetricOutcome(error_kind="no-values", error="no values found"),
     "Halt advancement no values found for custom metric: success-rate: no values found"),
    (SR, MetricOutcome(error_kind="query", error="error response: Status 400 Bad Request: x"),
     "Metric query failed for success-rate: error response: Status 400 Bad Request: x"),
    (SR, MetricOutcome(error_kind="template", template="success-rate.test",
                       error='metrictemplates.flagger.app "success-rate" not found'),
     'Metric template success-rate.test error: metrictemplates.flagger.app "success-rate" '
     'not found'),
    (SR, MetricOutcome(error_kind="render", template="success-rate.test", error="boom"),
     "Metric template success-rate.test query render error: boom"),
    (BSR, MetricOutcome(error_kind="no-values", error="no values found"),
     "Halt advancement no values found for linkerd metric request-success-rate probably "
     "podinfo.test is not receiving traffic: no values found"),
    (BSR, MetricOutcome(69.1666), "Halt podinfo.test advancement success rate 69.17% < 99%"),
    (BSR, MetricOutcome(error_kind="query", error="down"), "Prometheus query failed: down"),
    (BDUR, MetricOutcome(1500.0), "Halt podinfo.test advancement request duration 1.5s > 500ms"),
    (BDUR, MetricOutcome(499.0), None),
    (INLINE, MetricOutcome(error_kind="no-values", error="no values found"),
     "Halt advancement no values found for metric: inline"),
    (NOTHING, MetricOutcome(error_kind="unconfigured"),
     "Metric query failed for no usable metrics template and query were configured"),
])
def test_metric_verdicts(metric, outcome: MetricOutcome, message: str | None) -> None:
    ev = judge_metric(C, metric, outcome)
    assert (ev.message if ev else None) == message
    if ev:
        assert (ev.type, ev.reason) == ("Warning", "Synced")


def test_go_durations() -> None:
    assert [go_duration_ms(x) for x in (0, 0.5, 250, 1000, 1500, 61000)] == [
        "0s", "500µs", "250ms", "1s", "1.5s", "1m1s"]


def dep(**status) -> dict:
    return {"metadata": {"name": "podinfo", "generation": 2},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "a"}]}}},
            "status": {"observedGeneration": 2, **status}}


@pytest.mark.parametrize("d,ready,retriable,message", [
    (dep(replicas=2, updatedReplicas=2, availableReplicas=2), True, True, ""),
    (dep(observedGeneration=1), False, True, "waiting for rollout to finish: observed "
                                             "deployment generation less than desired generation"),
    (dep(replicas=2, updatedReplicas=1), False, True,
     "waiting for rollout to finish: 1 out of 2 new replicas have been updated"),
    (dep(replicas=3, updatedReplicas=2, availableReplicas=2), False, True,
     "waiting for rollout to finish: 1 old replicas are pending termination"),
    (dep(replicas=2, updatedReplicas=2, availableReplicas=1), False, True,
     "waiting for rollout to finish: 1 of 2 (readyThreshold 100%) updated replicas are "
     "available"),
    (dep(conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]), False,
     False, 'deployment "podinfo" exceeded its progress deadline'),
])
def test_readiness_messages(d: dict, ready: bool, retriable: bool, message: str) -> None:
    r = deployment_readiness(d)
    assert (r.ready, r.retriable, r.message) == (ready, retriable, message)


def test_stuck_past_progress_deadline_is_not_retriable() -> None:
    d = dep(replicas=2, updatedReplicas=2, availableReplicas=0, conditions=[
        {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
         "lastUpdateTime": "2023-11-14T22:13:20Z"}])
    t0 = 1_700_000_000
    assert deployment_readiness(d, 100, 600, t0 + 599).retriable
    stuck = deployment_readiness(d, 100, 600, t0 + 601)
    assert not stuck.retriable and stuck.message == (
        "waiting for rollout to finish: 0 of 2 (readyThreshold 100%) updated replicas are "
        "available")
    # a stale condition does not count before the canary entered its phase
    assert deployment_readiness(d, 100, 600, t0 + 601, not_before=t0 + 300).retriable


def test_template_hash_ignores_replicas_but_not_the_image() -> None:
    a, b = dep(), dep()
    b["spec"]["replicas"] = 0
    assert template_hash(a) == template_hash(b)
    b["spec"]["template"]["spec"]["containers"][0]["image"] = "b"
    assert template_hash(a) != template_hash(b)
    assert template_hash(a).isalnum() and len(template_hash(a)) <= 10
