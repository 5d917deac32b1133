"""Parsing and validating Rollouts: Argo's duration rules and clear messages for bad input."""

from __future__ import annotations

import copy

import pytest
import yaml

from canary.cli.rollouts import promote_patches
from canary.router.argo_gatewayapi import route_weight, route_with_weights
from canary.spec.rollout import (
    check_route_backends,
    expected_route_weights,
    parse_rollout,
    pause_duration_seconds,
    pod_template_hash,
)

SEED = yaml.safe_load("""
metadata: {name: rollouts-demo, namespace: test}
spec:
  replicas: 1
  strategy:
    canary:
      canaryService: podinfo-canary
      stableService: podinfo-stable
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI:
            httpRoute: argo-rollouts-http-route
            namespace: test
      steps:
        - setWeight: 30
        - pause: {}
        - setWeight: 40
        - pause: { duration: 10 }
  selector: {matchLabels: {app: podinfo}}
  template:
    metadata: {labels: {app: podinfo}}
    spec:
      containers: [{name: podinfod, image: "quay.io/stefanprodan/podinfo:1.7.0"}]
""")

ROUTE = yaml.safe_load("""
metadata: {name: argo-rollouts-http-route, namespace: test}
spec:
  parentRefs: [{name: podinfo, namespace: test, kind: Service, group: core, port: 9898}]
  rules:
    - backendRefs:
        - {name: podinfo-stable, namespace: test, port: 9898}
        - {name: podinfo-canary, namespace: test, port: 9898}
        - {name: other, namespace: test, port: 80, weight: 5}
""")


def svc(name: str, *ports: int) -> dict:
    return {"metadata": {"name": name, "namespace": "test"},
            "spec": {"ports": [{"port": p} for p in ports]}}


def rollout(**canary_changes: object) -> dict:
    ro = copy.deepcopy(SEED)
    ro["spec"]["strategy"]["canary"].update(canary_changes)
    return ro


@pytest.mark.parametrize(("text", "seconds"), [
    (10, 10), ("10", 10), ("10s", 10), ("1m", 60), ("1h", 3600), ("1h30m", 5400),
    ("500ms", 0), (0, 0), ("1d", -1), ("ten", -1), ("", -1),
])
def test_pause_duration_follows_argo(text: object, seconds: int) -> None:
    assert pause_duration_seconds(text) == seconds


def test_seed_parses_clean() -> None:
    spec = parse_rollout(SEED)
    assert spec.errors == [] and spec.warnings == []
    assert [s.describe() for s in spec.steps] == [
        "setWeight: 30", "pause", "setWeight: 40", "pause: 10s"]
    assert spec.routes[0].name == "argo-rollouts-http-route"
    assert spec.routes[0].use_header_routes is True  # httpRoute implies header routes
    assert spec.scale_down_delay == 30 and spec.abort_scale_down_delay == 30


def test_pod_hash_changes_with_the_template_only() -> None:
    a = parse_rollout(SEED)
    other = copy.deepcopy(SEED)
    other["spec"]["replicas"] = 3
    assert parse_rollout(other).pod_hash == a.pod_hash
    other["spec"]["template"]["spec"]["containers"][0]["image"] = "x:2"
    assert parse_rollout(other).pod_hash != a.pod_hash
    assert len(a.pod_hash) == 10 and a.pod_hash == pod_template_hash(SEED["spec"]["template"])


def test_misspelled_plugin_key_is_named_with_a_suggestion() -> None:
    ro = rollout()
    cfg = ro["spec"]["strategy"]["canary"]["trafficRouting"]["plugins"][
        "argoproj-labs/gatewayAPI"]
    cfg["httpRout"] = cfg.pop("httpRoute")
    spec = parse_rollout(ro)
    assert ('spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"].httpRout: '
            "unknown field (did you mean httpRoute?)") in spec.warnings
    assert any("No routes configured" in e for e in spec.errors)


def test_native_gateway_api_key_from_argo_issue_4569_is_reported() -> None:
    ro = rollout(trafficRouting={"gatewayAPI": {"httpRoute": "r"}})
    spec = parse_rollout(ro)
    assert spec.warnings == ["spec.strategy.canary.trafficRouting.gatewayAPI: unknown field"]
    assert spec.errors and "no traffic router configured" in spec.errors[0]


def test_misspelled_plugin_name_is_named() -> None:
    ro = rollout(trafficRouting={"plugins": {"argoproj-labs/gatewayApi": {"httpRoute": "r"}}})
    spec = parse_rollout(ro)
    assert any('plugins["argoproj-labs/gatewayApi"]: unknown traffic router plugin '
               "(did you mean argoproj-labs/gatewayAPI?)" in w for w in spec.warnings)


@pytest.mark.parametrize(("step", "message"), [
    ({"setWeight": 130}, "steps[0].setWeight: SetWeight needs to be between 0 and 100"),
    ({"pause": {"duration": "1d"}}, "steps[0].pause.duration: Duration needs to be greater than 0"),
    ({"setWieght": 10}, "steps[0].setWieght: unknown field (did you mean setWeight?)"),
    ({"analysis": {"templates": []}},
     "steps[0].analysis.templates: at least one template is required"),
    ({"experiment": {"templates": []}}, "steps[0].experiment: step type not supported"),
    ({"setWeight": 10, "pause": {}}, "Step must have one of the following set"),
])
def test_bad_steps_name_the_field(step: dict, message: str) -> None:
    spec = parse_rollout(rollout(steps=[step]))
    assert any(message in e for e in spec.errors), spec.errors


def test_same_service_twice_is_rejected_with_argos_message() -> None:
    spec = parse_rollout(rollout(stableService="podinfo-canary"))
    assert any("two different services are required" in e for e in spec.errors)


def test_route_backend_port_the_service_does_not_expose() -> None:
    services = {"podinfo-stable": svc("podinfo-stable", 8989),
                "podinfo-canary": svc("podinfo-canary", 8989), "other": svc("other", 80)}
    problems = check_route_backends(ROUTE, services)
    assert problems == [
        "HTTPRoute test/argo-rollouts-http-route rules[0].backendRefs[0] (podinfo-stable:9898): "
        "Service test/podinfo-stable does not expose port 9898 (it exposes 8989); requests to "
        "this backend fail with 500",
        "HTTPRoute test/argo-rollouts-http-route rules[0].backendRefs[1] (podinfo-canary:9898): "
        "Service test/podinfo-canary does not expose port 9898 (it exposes 8989); requests to "
        "this backend fail with 500",
    ]
    services["podinfo-stable"] = svc("podinfo-stable", 9898)
    services["podinfo-canary"] = svc("podinfo-canary", 9898)
    assert check_route_backends(ROUTE, services) == []
    del services["other"]
    assert check_route_backends(ROUTE, services) == [
        "HTTPRoute test/argo-rollouts-http-route rules[0].backendRefs[2] (other:80): "
        "Service test/other not found"]


def test_weights_set_by_service_name_leaving_other_backends_alone() -> None:
    new, found = route_with_weights(ROUTE, "podinfo-canary", "podinfo-stable", 30)
    assert found
    assert [r.get("weight") for r in new["spec"]["rules"][0]["backendRefs"]] == [70, 30, 5]
    assert new["metadata"]["labels"] == {"rollouts.argoproj.io/gatewayapi-canary": "in-progress"}
    back, _ = route_with_weights(new, "podinfo-canary", "podinfo-stable", 0)
    assert route_weight(back, "podinfo-canary") == 0 and "labels" not in back["metadata"]
    _, found = route_with_weights(ROUTE, "missing", "podinfo-stable", 30)
    assert not found


def test_promote_patches_match_the_kubectl_plugin() -> None:
    ro = copy.deepcopy(SEED)
    ro["status"] = {"pauseConditions": [{"reason": "CanaryPauseStep"}], "currentStepIndex": 1,
                    "stableRS": "a", "currentPodHash": "b"}
    assert promote_patches(ro, full=False) == (None, {"status": {"pauseConditions": None}})
    assert promote_patches(ro, full=True) == (None, {"status": {"promoteFull": True}})
    ro["status"].pop("pauseConditions")
    assert promote_patches(ro, full=False) == (
        None, {"status": {"pauseConditions": None, "currentStepIndex": 2}})
    ro["spec"]["paused"] = True
    assert promote_patches(ro, full=False)[0] == {"spec": {"paused": False}}
    ro["status"]["stableRS"] = "b"
    assert promote_patches(ro, full=True)[1] is None


def test_expected_route_weights_for_the_seed() -> None:
    assert expected_route_weights(SEED) == [0, 30, 40, 100, 0]
    ro = rollout(steps=[{"setWeight": 30}, {"pause": {}}, {"setWeight": 30}, {"setWeight": 100}])
    assert expected_route_weights(ro) == [0, 30, 100, 0]
