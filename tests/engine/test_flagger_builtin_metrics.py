"""Builtin metrics: which query set answers them (Flagger's observer choice), how their answers
are judged, and the engine's Flagger-style flags."""

from __future__ import annotations

from support.flagger_world import canary_obj

from canary.controller.main import _parser, go_style
from canary.engine.analysis import MetricOutcome, judge_metric
from canary.metrics.observers import metrics_provider, observer_for
from canary.metrics.prometheus import TemplateModel, render
from canary.spec.canary import parse_canary


def test_flaggers_linkerd_install_answers_builtins_with_the_apps_http_metrics() -> None:
    provider = metrics_provider("gatewayapi:v1beta1", "")
    ob = observer_for(provider)
    assert ob is not None and provider == "gatewayapi:v1beta1"
    q = render(ob.queries["request-success-rate"],
               TemplateModel("podinfo", "test", "podinfo", "podinfo", "1m"))
    assert 'http_request_duration_seconds_count{kubernetes_namespace="test"' in q
    assert 'kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)", status!~"5.*"}[1m]' in q
    assert ob.duration_ms(0.2509) == 250.0  # seconds -> whole milliseconds


def test_linkerd_mesh_provider_keeps_linkerd_queries_whatever_the_canary_provider() -> None:
    assert metrics_provider("linkerd", "gatewayapi:v1beta1") == "linkerd"
    assert metrics_provider("gatewayapi:v1beta1", "kubernetes") == "kubernetes"
    ob = observer_for("linkerd")
    q = render(ob.queries["request-duration"],
               TemplateModel("podinfo", "test", "podinfo", "podinfo", "3s"))
    assert q == ('histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="test", '
                 'deployment=~"podinfo", direction="inbound"}[3s])) by (le))')
    assert ob.duration_ms(12.9) == 12.0
    assert observer_for("istio") is None


def test_no_values_messages_name_the_metrics_provider() -> None:
    c = parse_canary(canary_obj({"interval": "10s", "threshold": 2, "stepWeight": 10,
                                 "metrics": [{"name": "request-success-rate",
                                              "thresholdRange": {"min": 99}},
                                             {"name": "request-duration",
                                              "thresholdRange": {"max": 500}}]}))
    sr, rd = c.analysis.metrics
    ev = judge_metric(c, sr, MetricOutcome(error_kind="no-values", error="no values found"),
                      "gatewayapi:v1beta1")
    assert ev.message == ("Halt advancement no values found for gatewayapi:v1beta1 metric "
                          "request-success-rate probably podinfo.test is not receiving traffic: "
                          "no values found")
    ev = judge_metric(c, rd, MetricOutcome(error_kind="no-values", error="x"), "linkerd")
    assert ev.message.endswith("probably podinfo.test is not receiving traffic")
    ev = judge_metric(c, rd, MetricOutcome(value=620.0), "linkerd")
    assert ev.message == "Halt podinfo.test advancement request duration 620ms > 500ms"


def test_go_flag_spelling_and_defaults() -> None:
    args = _parser().parse_args(go_style(["-metrics-server=http://prom:9090",
                                          "-mesh-provider", "linkerd"]))
    assert (args.metrics_server, args.mesh_provider) == ("http://prom:9090", "linkerd")
    args = _parser().parse_args([])
    assert args.mesh_provider == "gatewayapi:v1beta1" and args.metrics_server is None
    assert go_style(["-x", "--time-scale", "1"]) == ["-x", "--time-scale", "1"]
