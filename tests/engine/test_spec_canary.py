"""Canary / MetricTemplate parsing: Flagger's defaults, and one clear problem per bad field."""

from __future__ import annotations

import copy

import pytest
from support.flagger_world import canary_obj

from canary.spec.canary import parse_canary
from canary.spec.errors import SpecError
from canary.spec.metrictemplate import parse_metric_template


def test_seed_canary_defaults() -> None:
    c = parse_canary(canary_obj())
    assert (c.name, c.namespace, c.target_name, c.primary_name) == (
        "podinfo", "test", "podinfo", "podinfo-primary")
    assert c.progress_deadline_seconds == 600 and not c.skip_analysis
    assert c.service.name == "podinfo" and c.service.port_name == "http"
    assert c.service.target_port == 9898
    assert c.service.gateway_refs == ({"group": "core", "kind": "Service", "name": "podinfo",
                                       "namespace": "test", "port": 9898},)
    a = c.analysis
    assert (a.interval, a.threshold, a.step_weight, a.max_weight) == (10.0, 5, 10, 100)
    m = a.metrics[0]
    assert m.template_ref is not None and m.template_ref.namespace == "test"  # defaulted
    assert (m.min, m.max, m.interval, m.interval_seconds) == (99.0, None, "1m", 60.0)


@pytest.mark.parametrize("analysis,field,value", [
    ({"interval": "5s", "stepWeight": 10}, "interval", 10.0),  # clamped to >= 10s
    ({"stepWeight": 10}, "interval", 60.0),
    ({"stepWeight": 10, "threshold": 0}, "threshold", 1),
    ({"stepWeight": 10}, "max_weight", 100),
    ({"stepWeight": 20, "maxWeight": 50}, "max_weight", 50),
    ({"stepWeights": [1, 2, 10, 80], "maxWeight": 20}, "max_weight", 80),
])
def test_analysis_defaults(analysis: dict, field: str, value: object) -> None:
    assert getattr(parse_canary(canary_obj(analysis)).analysis, field) == value


def test_webhook_defaults() -> None:
    c = parse_canary(canary_obj({"stepWeight": 5, "webhooks": [
        {"name": "load", "url": "http://lt/", "metadata": {"cmd": "hey", "n": 3}},
        {"name": "g", "type": "confirm-rollout", "url": "http://lt/gate", "timeout": "30s"}]}))
    load, gate = c.analysis.webhooks
    assert (load.type, load.timeout, load.metadata) == ("rollout", 10.0, {"cmd": "hey", "n": "3"})
    assert (gate.type, gate.timeout) == ("confirm-rollout", 30.0)


def test_missing_analysis_means_skip() -> None:
    obj = canary_obj()
    del obj["spec"]["analysis"]
    assert parse_canary(obj).skip_analysis


@pytest.mark.parametrize("mutate,problem", [
    (lambda s: s["analysis"].update(stepWeight=-1),
     "spec.analysis.stepWeight: must be >= 0, got -1"),
    (lambda s: s["analysis"].update(stepWeight=0),
     "spec.analysis.stepWeight: must be > 0"),
    (lambda s: s["analysis"].update(interval="soon"),
     "spec.analysis.interval: invalid duration 'soon' (expected e.g. 30s or 1m)"),
    (lambda s: s["analysis"].update(stepWeights=[10, 0]),
     "spec.analysis.stepWeights[1]: must be >= 1, got 0"),
    (lambda s: s["analysis"]["metrics"][0].update(thresholdRange={"min": "high"}),
     "spec.analysis.metrics[0].thresholdRange.min: must be a number, got 'high'"),
    (lambda s: s["analysis"]["metrics"][0].pop("name"),
     "spec.analysis.metrics[0].name: required"),
    (lambda s: s["service"].pop("port"), "spec.service.port: required"),
    (lambda s: s["service"].pop("gatewayRefs"),
     "spec.service.gatewayRefs: GatewayRefs must be specified when using Gateway API as a "
     "provider."),
    (lambda s: s["targetRef"].update(kind="DaemonSet"),
     "spec.targetRef.kind: only Deployment targets are supported, got 'DaemonSet'"),
    (lambda s: s["analysis"].update(webhooks=[{"name": "x", "type": "later", "url": "http://a"}]),
     "spec.analysis.webhooks[0].type: unknown webhook type 'later' (one of rollout, "
     "pre-rollout, post-rollout, confirm-rollout, confirm-promotion, event, rollback, "
     "confirm-traffic-increase)"),
    (lambda s: s["analysis"].update(webhooks=[{"name": "x", "url": "lt:80"}]),
     "spec.analysis.webhooks[0].url: must be an http:// or https:// URL, got 'lt:80'"),
    (lambda s: s["analysis"].pop("stepWeight"),
     "spec.analysis: one of stepWeight, stepWeights or iterations is required"),
])
def test_invalid_fields_are_named(mutate, problem: str) -> None:
    obj = copy.deepcopy(canary_obj())
    mutate(obj["spec"])
    with pytest.raises(SpecError) as err:
        parse_canary(obj)
    assert problem in [str(p) for p in err.value.problems]
    assert "Traceback" not in str(err.value)


def test_all_problems_reported_at_once() -> None:
    obj = canary_obj({"stepWeight": "ten", "interval": "x"})
    del obj["spec"]["service"]["port"]
    with pytest.raises(SpecError) as err:
        parse_canary(obj)
    paths = {p.path for p in err.value.problems}
    assert {"spec.analysis.stepWeight", "spec.analysis.interval", "spec.service.port"} <= paths


def test_not_an_object() -> None:
    with pytest.raises(SpecError, match="spec: required"):
        parse_canary({"metadata": {"name": "x"}})


def test_metric_template() -> None:
    t = parse_metric_template({"metadata": {"name": "success-rate", "namespace": "test"},
                               "spec": {"provider": {"type": "prometheus",
                                                     "address": "http://prom:9090"},
                                        "query": "vector(1)"}})
    assert (t.provider_type, t.address, t.query) == ("prometheus", "http://prom:9090",
                                                     "vector(1)")
    with pytest.raises(SpecError) as err:
        parse_metric_template({"metadata": {"name": "m"},
                               "spec": {"provider": {"type": "datadog"}}})
    assert [str(p) for p in err.value.problems] == [
        "spec.provider.type: provider 'datadog' is not supported (only prometheus)",
        "spec.query: required"]
