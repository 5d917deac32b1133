"""Backend choice by HTTPRoute weights, as a meshed client's proxy makes it."""

from __future__ import annotations

import math
import random

import pytest

from canary.sandbox.mesh.routes import (
    Backend,
    RouteError,
    choose_backend,
    choose_rule,
    find_route,
    route_request,
)

SERVICES = {
    ("test", name): {"metadata": {"name": name, "namespace": "test"},
                     "spec": {"ports": [{"name": "http", "port": 9898}]}}
    for name in ("podinfo", "podinfo-primary", "podinfo-canary")
}
PARENT = Backend("test", "podinfo", 9898)


def svc(ns: str, name: str) -> dict | None:
    return SERVICES.get((ns, name))


def route(*backends: dict, parent_port: int | None = 9898, group: str = "core",
          matches: list | None = None) -> dict:
    parent = {"group": group, "kind": "Service", "name": "podinfo", "namespace": "test"}
    if parent_port is not None:
        parent["port"] = parent_port
    rule: dict = {"backendRefs": list(backends)}
    if matches is not None:
        rule["matches"] = matches
    return {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "HTTPRoute",
            "metadata": {"name": "podinfo", "namespace": "test",
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"parentRefs": [parent], "rules": [rule]}}


def ref(name: str, weight: int | None = None, port: int = 9898) -> dict:
    r = {"group": "", "kind": "Service", "name": name, "port": port}
    if weight is not None:
        r["weight"] = weight
    return r


def picks(rt: dict, n: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    for _ in range(n):
        b = route_request([rt], PARENT, "/", svc, rng)
        counts[b.name] = counts.get(b.name, 0) + 1
    return counts


def test_weights_70_30_split_within_three_sigma():
    n = 10_000
    counts = picks(route(ref("podinfo-primary", 70), ref("podinfo-canary", 30)), n)
    sigma = math.sqrt(n * 0.3 * 0.7)
    assert abs(counts["podinfo-canary"] - 0.3 * n) < 3 * sigma
    assert counts["podinfo-primary"] + counts["podinfo-canary"] == n


def test_weight_zero_is_never_chosen():
    counts = picks(route(ref("podinfo-primary", 100), ref("podinfo-canary", 0)), 2000)
    assert counts == {"podinfo-primary": 2000}
    counts = picks(route(ref("podinfo-primary", 0), ref("podinfo-canary", 100)), 2000)
    assert counts == {"podinfo-canary": 2000}


def test_missing_weight_counts_as_one():
    n = 6000
    counts = picks(route(ref("podinfo-primary"), ref("podinfo-canary", 2)), n)
    sigma = math.sqrt(n * (1 / 3) * (2 / 3))
    assert abs(counts["podinfo-primary"] - n / 3) < 3 * sigma


def test_all_weights_zero_answers_500():
    rt = route(ref("podinfo-primary", 0), ref("podinfo-canary", 0))
    with pytest.raises(RouteError) as e:
        route_request([rt], PARENT, "/", svc, random.Random(1))
    assert e.value.status == 500


def test_backend_naming_a_missing_service_answers_500():
    rt = route(ref("podinfo-nope", 1))
    with pytest.raises(RouteError) as e:
        route_request([rt], PARENT, "/", svc, random.Random(1))
    assert e.value.status == 500
    assert "podinfo-nope" in e.value.message and "not found" in e.value.message


def test_backend_with_a_port_the_service_lacks_answers_500():
    rt = route(ref("podinfo-canary", 1, port=8080))
    with pytest.raises(RouteError) as e:
        route_request([rt], PARENT, "/", svc, random.Random(1))
    assert e.value.status == 500 and "8080" in e.value.message


def test_parent_ref_port_absent_matches_any_port_and_wrong_port_does_not():
    assert find_route([route(parent_port=None)], "test", "podinfo", 9898) is not None
    assert find_route([route(parent_port=80)], "test", "podinfo", 9898) is None
    assert find_route([route(group="")], "test", "podinfo", 9898) is not None


def test_gateway_parent_is_not_a_service_route():
    rt = route(ref("podinfo-canary", 1))
    rt["spec"]["parentRefs"] = [{"name": "podinfo"}]  # defaults to kind Gateway
    assert route_request([rt], PARENT, "/", svc, random.Random(1)) == PARENT


def test_no_route_goes_to_the_parent_service():
    assert route_request([], PARENT, "/", svc, random.Random(1)) == PARENT


def test_rule_without_backend_refs_goes_to_the_parent():
    assert choose_backend({}, "test", PARENT, svc, random.Random(1)) == PARENT


def test_most_specific_path_prefix_wins():
    rt = route(ref("podinfo-primary", 1))
    rt["spec"]["rules"] = [
        {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
         "backendRefs": [ref("podinfo-primary", 1)]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
         "backendRefs": [ref("podinfo-canary", 1)]},
    ]
    assert choose_rule(rt, "/api/info")["backendRefs"][0]["name"] == "podinfo-canary"
    assert choose_rule(rt, "/apix")["backendRefs"][0]["name"] == "podinfo-primary"
    assert choose_rule(rt, "/?x=1")["backendRefs"][0]["name"] == "podinfo-primary"


def test_unready_backend_is_skipped_like_linkerd():
    rt = route(ref("podinfo-primary", 50), ref("podinfo-canary", 50))
    rng = random.Random(3)
    ready = {"podinfo-primary"}
    for _ in range(200):
        b = route_request([rt], PARENT, "/", svc, rng, lambda b: b.name in ready)
        assert b.name == "podinfo-primary"


def test_consumer_route_applies_only_to_clients_in_its_namespace():
    producer = route(ref("podinfo-primary", 1))
    consumer = route(dict(ref("podinfo-canary", 1), namespace="test"))
    consumer["metadata"]["namespace"] = "other"
    routes = [producer, consumer]
    rng = random.Random(1)
    assert route_request(routes, PARENT, "/", svc, rng, client_ns="other").name == \
        "podinfo-canary"
    assert route_request(routes, PARENT, "/", svc, rng, client_ns="test").name == \
        "podinfo-primary"
    assert route_request(routes, PARENT, "/", svc, rng, client_ns="third").name == \
        "podinfo-primary"


def test_header_match_rule_wins_for_matching_requests_only():
    """Flagger A/B testing: a rule matching a header sends those users to the canary."""
    rt = route(ref("podinfo-primary", 1))
    rt["spec"]["rules"] = [
        {"matches": [{"headers": [{"name": "x-canary", "value": "insider"}]}],
         "backendRefs": [ref("podinfo-canary", 1)]},
        {"backendRefs": [ref("podinfo-primary", 1)]},
    ]
    rng = random.Random(1)
    assert route_request([rt], PARENT, "/", svc, rng, headers={"X-Canary": "insider"}).name \
        == "podinfo-canary"
    assert route_request([rt], PARENT, "/", svc, rng, headers={"X-Canary": "other"}).name \
        == "podinfo-primary"
    assert route_request([rt], PARENT, "/", svc, rng).name == "podinfo-primary"


def test_method_and_query_and_regex_matches():
    rt = route(ref("podinfo-primary", 1))
    rt["spec"]["rules"] = [
        {"matches": [{"method": "POST"}], "backendRefs": [ref("podinfo-canary", 1)]},
        {"matches": [{"queryParams": [{"name": "v", "value": "2"}]}],
         "backendRefs": [ref("podinfo-canary", 1)]},
        {"matches": [{"path": {"type": "RegularExpression", "value": "/api/v[0-9]+"}}],
         "backendRefs": [ref("podinfo-canary", 1)]},
        {"backendRefs": [ref("podinfo-primary", 1)]},
    ]
    rng = random.Random(1)
    assert route_request([rt], PARENT, "/", svc, rng, method="POST").name == "podinfo-canary"
    assert route_request([rt], PARENT, "/?v=2", svc, rng).name == "podinfo-canary"
    assert route_request([rt], PARENT, "/?v=3", svc, rng).name == "podinfo-primary"
    assert route_request([rt], PARENT, "/api/v1", svc, rng).name == "podinfo-canary"
    assert route_request([rt], PARENT, "/api/vx", svc, rng).name == "podinfo-primary"
