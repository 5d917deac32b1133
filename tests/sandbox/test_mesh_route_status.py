"""HTTPRoute status.parents as Linkerd's policy controller reports it."""

from __future__ import annotations

from support.mesh_objects import httproute, service

from canary.sandbox.mesh.route_status import CONTROLLER, merged_status

SERVICES = {("test", n): service(n, "127.100.0.9") for n in
            ("podinfo", "podinfo-primary", "podinfo-canary")}


def lookup(ns: str, name: str):
    return SERVICES.get((ns, name))


def conditions(parents: list[dict]) -> dict[str, tuple[str, str]]:
    [ours] = [p for p in parents if p["controllerName"] == CONTROLLER]
    return {c["type"]: (c["status"], c["reason"]) for c in ours["conditions"]}


def test_valid_route_is_accepted_and_refs_resolved():
    parents = merged_status(httproute(90, 10), lookup)
    assert conditions(parents) == {"Accepted": ("True", "Accepted"),
                                   "ResolvedRefs": ("True", "ResolvedRefs")}
    assert parents[0]["parentRef"]["name"] == "podinfo"
    assert all(c["lastTransitionTime"] for c in parents[0]["conditions"])


def test_backend_with_wrong_port_is_backend_not_found():
    parents = merged_status(httproute(90, 10, canary_port=8080), lookup)
    assert conditions(parents)["ResolvedRefs"] == ("False", "BackendNotFound")


def test_missing_parent_service_is_not_accepted():
    route = httproute(90, 10)
    route["spec"]["parentRefs"][0]["name"] = "nope"
    assert conditions(merged_status(route, lookup))["Accepted"] == ("False", "NoMatchingParent")


def test_unchanged_status_is_not_rewritten_and_other_controllers_are_kept():
    route = httproute(90, 10)
    other = {"parentRef": {"name": "gw"}, "controllerName": "example.com/gateway",
             "conditions": []}
    route["status"] = {"parents": [other]}
    parents = merged_status(route, lookup)
    assert parents[0] == other and len(parents) == 2
    route["status"] = {"parents": parents}
    assert merged_status(route, lookup) is None  # nothing to write: no write loop
