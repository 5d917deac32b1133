"""A/B testing and blue/green, tick by tick (Flagger scheduler.go runAB / runBlueGreen), and the
HTTPRoute rules the router writes for them (gateway_api_v1beta1.go)."""

from __future__ import annotations

import pytest
from support.flagger_world import World, canary_obj

from canary.engine.types import HookResult
from canary.router.gatewayapi import route_spec
from canary.sandbox.mesh.routes import choose_rule
from canary.spec.canary import parse_canary
from canary.spec.errors import SpecError

AB = {"interval": "10s", "threshold": 3, "iterations": 3,
      "match": [{"headers": {"x-canary": {"exact": "insider"}}},
                {"headers": {"cookie": {"regex": "^(.*?;)?(canary=always)(;.*)?$"}}}]}
BG = {"interval": "10s", "threshold": 3, "iterations": 2}


def test_strategy_follows_iterations_and_match() -> None:
    assert parse_canary(canary_obj(AB)).analysis.strategy == "ab-testing"
    assert parse_canary(canary_obj(BG)).analysis.strategy == "blue-green"
    assert parse_canary(canary_obj()).analysis.strategy == "canary"


def test_ab_routes_matching_requests_to_the_canary_then_promotes() -> None:
    w = World(spec=parse_canary(canary_obj(AB)))
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    assert w.status["phase"] == "Progressing"
    w.tick()
    assert w.route == (0, 100)
    assert w.messages()[-2:] == ["Starting canary analysis for podinfo.test",
                                 "Advance podinfo.test canary iteration 1/3"]
    assert "analysis" not in w.needs  # the first tick runs pre-rollout hooks only
    w.tick()
    w.tick()
    assert w.status["iterations"] == 3 and w.needs.count("analysis") == 2
    w.tick()
    assert w.status["phase"] == "Promoting" and w.primary_hash == "v2"
    assert w.messages()[-1] == "Copying podinfo.test template spec to podinfo-primary.test"
    w.run_until("Succeeded")
    assert w.route == (100, 0) and w.target_replicas == 0
    assert [m for m in w.messages() if "iteration" in m] == [
        f"Advance podinfo.test canary iteration {i}/3" for i in (1, 2, 3)]


def test_ab_failing_analysis_rolls_back_after_threshold() -> None:
    w = World(spec=parse_canary(canary_obj(AB)))
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()  # iteration 1, matching traffic on the canary
    w.analysis_ok = False
    w.run_until("Failed")
    assert w.route == (100, 0) and w.target_replicas == 0
    assert "Rolling back podinfo.test failed checks threshold reached 3" in w.messages()


def test_blue_green_analyses_then_routes_all_traffic_to_canary_then_promotes() -> None:
    w = World(spec=parse_canary(canary_obj(BG)))
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()
    assert w.route == (100, 0)  # the canary is tested without user traffic
    assert w.messages()[-1] == "Advance podinfo.test canary iteration 1/2"
    w.tick()
    assert w.messages()[-1] == "Advance podinfo.test canary iteration 2/2"
    w.tick()
    assert w.route == (0, 100) and w.messages()[-1] == "Routing all traffic to canary"
    assert w.status["phase"] == "Progressing" and w.primary_hash == "v1"
    w.tick()
    assert w.status["phase"] == "Promoting" and w.primary_hash == "v2"
    w.run_until("Succeeded")
    assert w.route == (100, 0)
    assert w.weights == [100, 0]


def test_blue_green_waits_for_promotion_approval() -> None:
    spec = dict(BG, webhooks=[{"name": "gate", "type": "confirm-promotion",
                               "url": "http://flagger-loadtester.test/gate/check"}])
    w = World(spec=parse_canary(canary_obj(spec)))
    w.hooks["confirm-promotion"] = [HookResult("gate", False, "Forbidden")]
    w.initialize()
    w.target_hash = "v2"
    for _ in range(4):
        w.tick()
    assert w.status["phase"] == "WaitingPromotion" and w.route == (100, 0)
    assert w.status["iterations"] == 1  # SetStatusPhase: iterations - 1
    w.hooks["confirm-promotion"] = [HookResult("gate", True)]
    w.run_until("Succeeded")
    assert w.primary_hash == "v2"


def test_ab_route_has_a_weighted_rule_for_matches_and_a_primary_rule() -> None:
    spec = route_spec(parse_canary(canary_obj(AB)), 0, 100)
    weighted, rest = spec["rules"]
    assert weighted["matches"] == [
        {"path": {"type": "PathPrefix", "value": "/"},
         "headers": [{"name": "x-canary", "type": "Exact", "value": "insider"}]},
        {"path": {"type": "PathPrefix", "value": "/"},
         "headers": [{"name": "cookie", "type": "RegularExpression",
                      "value": "^(.*?;)?(canary=always)(;.*)?$"}]}]
    assert [(b["name"], b["weight"]) for b in weighted["backendRefs"]] == [
        ("podinfo-primary", 0), ("podinfo-canary", 100)]
    assert [(b["name"], b["weight"]) for b in rest["backendRefs"]] == [("podinfo-primary", 100)]
    route = {"spec": spec}
    # the mesh's rule choice: header or cookie -> the weighted rule, anything else -> primary
    assert choose_rule(route, "/", "GET", {"X-Canary": "insider"}) is weighted
    assert choose_rule(route, "/", "GET", {"Cookie": "canary=always;a=b"}) is weighted
    assert choose_rule(route, "/", "GET", {"X-Canary": "other"}) is rest
    assert choose_rule(route, "/", "GET", {}) is rest


def test_query_param_and_uri_matches_are_mapped() -> None:
    spec = parse_canary(canary_obj(dict(AB, match=[
        {"queryParams": {"canary": {"exact": "yes"}}, "uri": {"prefix": "/api"},
         "method": {"exact": "GET"}}])))
    assert spec.analysis.match == ({"path": {"type": "PathPrefix", "value": "/api"},
                                    "method": "GET",
                                    "queryParams": [{"name": "canary", "type": "Exact",
                                                     "value": "yes"}]},)


def test_unsupported_match_is_a_clear_problem() -> None:
    with pytest.raises(SpecError) as e:
        parse_canary(canary_obj(dict(AB, match=[{"headers": {"x": {"prefix": "a"}}}])))
    assert "spec.analysis.match[0].headers.x" in str(e.value)
    assert "exact or regex" in str(e.value)
