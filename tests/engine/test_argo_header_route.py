"""setHeaderRoute / setMirrorRoute through the Gateway API plugin's route writer, driven by the
engine's decisions: a fake clock, the route as a dict, no I/O."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from canary.clock import FakeClock
from canary.engine import argo
from canary.router.argo_gatewayapi import (
    route_with_header_route,
    route_with_weights,
    route_without_managed,
)
from canary.spec.rollout import HeaderMatch, parse_rollout

# rollouts-plugin-trafficrouter-gatewayapi test/e2e/chainsaw/single-header-based-httproute
# resources/rollout.yaml and httproute.yaml (names kept, image swapped for podinfo)
ROLLOUT = yaml.safe_load("""
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: httproute-header-rollout, namespace: default, generation: 1}
spec:
  replicas: 2
  strategy:
    canary:
      canaryService: canary-service
      stableService: stable-service
      trafficRouting:
        managedRoutes:
          - name: canary-route1
        plugins:
          argoproj-labs/gatewayAPI:
            httpRoutes:
              - name: httproute-header
                useHeaderRoutes: true
      steps:
        - setWeight: 30
        - setHeaderRoute:
            name: canary-route1
            match:
              - headerName: X-Test
                headerValue:
                  exact: test
        - pause: {}
  selector: {matchLabels: {app: demo}}
  template:
    metadata: {labels: {app: demo}}
    spec:
      containers:
        - name: demo
          image: quay.io/stefanprodan/podinfo:1.7.0
""")
ROUTE = yaml.safe_load("""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: httproute-header, namespace: default}
spec:
  parentRefs: [{name: podinfo, kind: Service, group: core, port: 9898}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /api}}]
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: a, value: b}]}}]
      backendRefs:
        - {name: stable-service, port: 80}
        - {name: canary-service, port: 80}
        - {name: other-service, port: 80, weight: 5}
""")


class RouteWorld:
    """The engine's actions applied to one route through the router's pure functions."""

    def __init__(self, rollout: dict[str, Any]) -> None:
        self.rollout = copy.deepcopy(rollout)
        self.route = copy.deepcopy(ROUTE)
        self.clock = FakeClock()
        self.status: dict[str, Any] = {}
        self.rs: dict[str, argo.ReplicaSetObs] = {}
        self.actions: list[Any] = []

    def reconcile(self) -> None:
        spec = parse_rollout(self.rollout)
        assert not spec.errors, spec.errors
        obs = argo.Observations(now=self.clock.now(), replicasets=copy.deepcopy(self.rs),
                                generation=self.rollout["metadata"]["generation"])
        d = argo.reconcile(spec, self.status, obs)
        managed = set(spec.managed_routes)
        for a in d.actions:
            self.actions.append(a)
            if isinstance(a, argo.CreateReplicaSet):
                self.rs[a.hash] = argo.ReplicaSetObs(a.name, a.hash, a.revision, a.replicas)
            elif isinstance(a, argo.ScaleReplicaSet):
                next(r for r in self.rs.values() if r.name == a.name).replicas = a.replicas
            elif isinstance(a, argo.SetWeight):
                self.route, found = route_with_weights(self.route, "canary-service",
                                                       "stable-service", a.canary_weight, managed)
                assert found
            elif isinstance(a, argo.SetHeaderRoute):
                assert a.headers is not None
                self.route, found = route_with_header_route(
                    self.route, "canary-service", "stable-service", a.name, a.headers, managed)
                assert found
            elif isinstance(a, argo.RemoveManagedRoutes):
                self.route = route_without_managed(self.route, "canary-service", managed)
            for rs in self.rs.values():
                rs.current = rs.ready = rs.available = rs.replicas
        self.status = d.status

    def settle(self) -> None:
        for _ in range(5):
            self.reconcile()

    def new_image(self, tag: str) -> None:
        self.rollout["spec"]["template"]["spec"]["containers"][0]["image"] = (
            f"quay.io/stefanprodan/podinfo:{tag}")
        self.rollout["metadata"]["generation"] += 1

    def names(self) -> list[str | None]:
        return [r.get("name") for r in self.route["spec"]["rules"]]


def test_header_route_added_during_the_update_and_removed_on_completion() -> None:
    w = RouteWorld(ROLLOUT)
    w.settle()
    assert w.names() == [None]  # the first revision never runs header steps
    w.new_image("1.7.1")
    w.settle()
    assert w.status["currentStepIndex"] == 2 and w.status["phase"] == "Paused"
    rules = w.route["spec"]["rules"]
    assert w.names() == [None, "canary-route1"]
    split, header = rules
    assert [b.get("weight") for b in split["backendRefs"]] == [70, 30, 5]  # unmanaged kept
    assert header["backendRefs"] == [{"group": "", "kind": "Service", "name": "canary-service",
                                      "port": 80}]
    # the source rule's path match and filters are kept, the header added
    assert header["matches"] == [{"path": {"type": "PathPrefix", "value": "/api"},
                                  "headers": [{"name": "X-Test", "type": "Exact",
                                               "value": "test"}]}]
    assert header["filters"] == split["filters"]
    w.status.pop("pauseConditions")  # promote
    w.settle()
    assert w.status["phase"] == "Healthy"
    assert w.names() == [None]
    assert [b.get("weight") for b in w.route["spec"]["rules"][0]["backendRefs"]] == [100, 0, 5]


def test_abort_removes_the_header_route() -> None:
    w = RouteWorld(ROLLOUT)
    w.settle()
    w.new_image("1.7.1")
    w.settle()
    assert "canary-route1" in w.names()
    w.status["abort"] = True
    w.settle()
    assert w.names() == [None]
    assert w.route["spec"]["rules"][0]["backendRefs"][1]["weight"] == 0


def test_header_route_is_upserted_not_duplicated_on_replay() -> None:
    w = RouteWorld(ROLLOUT)
    w.settle()
    w.new_image("1.7.1")
    w.settle()
    once = copy.deepcopy(w.route)
    again, _ = route_with_header_route(w.route, "canary-service", "stable-service",
                                       "canary-route1",
                                       (HeaderMatch("X-Test", "exact", "test"),),
                                       {"canary-route1"})
    assert again == once


def test_prefix_becomes_a_regex_and_every_split_rule_gets_a_header_rule() -> None:
    route = copy.deepcopy(ROUTE)
    route["spec"]["rules"].append({"backendRefs": [{"name": "stable-service", "port": 80},
                                                   {"name": "canary-service", "port": 80}]})
    out, found = route_with_header_route(route, "canary-service", "stable-service", "r",
                                         (HeaderMatch("X-Beta", "prefix", "yes"),
                                          HeaderMatch("X-Re", "regex", "a|b")), {"r"})
    assert found
    added = out["spec"]["rules"][2:]
    assert [r["name"] for r in added] == ["r", "r-1"]
    assert added[1]["matches"] == [{"headers": [
        {"name": "X-Beta", "type": "RegularExpression", "value": "yes.*"},
        {"name": "X-Re", "type": "RegularExpression", "value": "a|b"}]}]
    # weights never touch the header rules, removal takes both
    weighted, _ = route_with_weights(out, "canary-service", "stable-service", 40, {"r"})
    assert weighted["spec"]["rules"][2:] == added
    assert len(route_without_managed(weighted, "canary-service", {"r"})["spec"]["rules"]) == 2


def test_no_rule_with_both_services_is_the_plugins_error() -> None:
    route = {"spec": {"rules": [{"backendRefs": [{"name": "stable-service", "port": 80}]}]}}
    _, found = route_with_header_route(route, "canary-service", "stable-service", "r",
                                       (HeaderMatch("X", "exact", "1"),), {"r"})
    assert not found


def test_mirror_step_completes_and_leaves_the_route_alone() -> None:
    ro = copy.deepcopy(ROLLOUT)
    ro["spec"]["strategy"]["canary"]["steps"][1] = {
        "setMirrorRoute": {"name": "canary-route1", "percentage": 50,
                           "match": [{"method": {"exact": "GET"}}]}}
    w = RouteWorld(ro)
    w.settle()
    w.new_image("1.7.1")
    w.settle()
    assert w.status["currentStepIndex"] == 2
    assert w.names() == [None]  # the plugin's SetMirrorRoute is a no-op (plugin.go:155)
    assert any(isinstance(a, argo.SetMirrorRoute) for a in w.actions)


def _errors(steps: list[Any], managed: Any = "keep") -> list[str]:
    ro = copy.deepcopy(ROLLOUT)
    ro["spec"]["strategy"]["canary"]["steps"] = steps
    tr = ro["spec"]["strategy"]["canary"]["trafficRouting"]
    if managed != "keep":
        if managed is None:
            tr.pop("managedRoutes")
        else:
            tr["managedRoutes"] = managed
    return parse_rollout(ro).errors


def test_spec_errors_name_the_field() -> None:
    assert _errors([{"setHeaderRoute": {"name": "nope", "match": [
        {"headerName": "X", "headerValue": {"exact": "1"}}]}}]) == [
        "spec.strategy.canary.steps[0].setHeaderRoute.name: Steps define a route that does not "
        "exist in spec.strategy.canary.trafficRouting.managedRoutes ('nope' is not one of "
        "['canary-route1'])"]
    assert _errors([{"setHeaderRoute": {"name": "canary-route1"}}], managed=None) == [
        "spec.strategy.canary.steps[0].setHeaderRoute: Rollout has missing field "
        "'spec.strategy.canary.trafficRouting.managedRoutes'"]
    assert _errors([{"setHeaderRoute": {"name": "canary-route1", "match": [
        {"headerName": "X", "headerValue": {"exact": "1", "prefix": "2"}}]}}]) == [
        "spec.strategy.canary.steps[0].setHeaderRoute.match[0].headerValue: StringMatch match "
        "value must have exactly one of the following: exact, regex, prefix"]
    assert _errors([{"setHeaderRoute": {"name": "canary-route1", "match": [
        {"headerValue": {"exact": "1"}}]}}]) == [
        "spec.strategy.canary.steps[0].setHeaderRoute.match[0].headerName: required"]
    assert _errors([{"setMirrorRoute": {"name": "canary-route1", "percentage": 150}}]) == [
        "spec.strategy.canary.steps[0].setMirrorRoute.percentage: must be an integer from 0 "
        "to 100, got 150"]


def test_header_step_without_match_removes_and_describes_itself() -> None:
    spec = parse_rollout(ROLLOUT)
    assert spec.steps[1].describe() == "setHeaderRoute: canary-route1"
    assert spec.steps[1].headers == (HeaderMatch("X-Test", "exact", "test"),)
    ro = copy.deepcopy(ROLLOUT)
    ro["spec"]["strategy"]["canary"]["steps"][1] = {"setHeaderRoute": {"name": "canary-route1"}}
    assert parse_rollout(ro).steps[1].headers is None


def test_promote_full_after_an_abort_completes_the_update() -> None:
    # argoproj/argo-rollouts test/e2e/functional_test.go:121 TestCanaryPromoteFull, last part
    w = RouteWorld(ROLLOUT)
    w.settle()
    w.new_image("1.7.1")
    w.settle()
    w.status["abort"] = True
    w.settle()
    assert w.status["phase"] == "Degraded"
    w.status["promoteFull"] = True  # what `kubectl argo rollouts promote --full` sends
    w.settle()
    assert w.status["phase"] == "Healthy"
    assert w.status["stableRS"] == parse_rollout(w.rollout).pod_hash
    assert "abort" not in w.status and "promoteFull" not in w.status
    assert w.names() == [None]
