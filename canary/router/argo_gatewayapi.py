"""HTTPRoute weights and header routes the way the Argo Rollouts Gateway API plugin writes them.

Every rule's backendRefs are matched by Service name only: the canary Service gets the canary
weight, the stable Service ``100 - weight`` (hard-coded to 100 as in the plugin), other
backends are left alone. The route carries the plugin's in-progress label while the canary
weight is above 0.

``setHeaderRoute`` (rollouts-plugin-trafficrouter-gatewayapi pkg/plugin/httproute.go:75-194)
appends, for every rule holding both Services, a rule named after the managed route (``-1``,
``-2``... for the further ones) with that rule's matches plus the step's header matches and the
canary Service as its only backend; ``RemoveManagedRoutes`` (httproute.go:263) drops them.
``setMirrorRoute`` is a no-op in the plugin (pkg/plugin/plugin.go:155), so it is here too.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from canary.kube.client import ApiError, KubeClient, NotFound, retry_on_conflict
from canary.router.gatewayapi import HTTPROUTE_VERSIONS
from canary.spec.rollout import HeaderMatch, RouteRef, check_route_backends

ROUTE_VERSIONS = HTTPROUTE_VERSIONS
IN_PROGRESS_LABEL = "rollouts.argoproj.io/gatewayapi-canary"
IN_PROGRESS_VALUE = "in-progress"
NOT_FOUND = "backendRef was not found in httpRoute"


def is_managed_name(rule_name: str, managed: set[str]) -> bool:
    """A managed route's name, or that name with ``-N`` (plugin.go:381 isManagedRuleName)."""
    if rule_name in managed:
        return True
    return any(rule_name.startswith(base + "-") and rule_name[len(base) + 1:].isdigit()
               for base in managed)


def is_managed_rule(rule: dict[str, Any], canary: str, managed: set[str]) -> bool:
    """A rule the plugin injected: named after a managed route, or (older plugins wrote no
    name) a single backendRef to the canary Service (httproute.go:201 isHTTPManagedRule)."""
    name = rule.get("name")
    if isinstance(name, str) and is_managed_name(name, managed):
        return True
    refs = rule.get("backendRefs") or []
    return len(refs) == 1 and refs[0].get("name") == canary


def header_matches(headers: tuple[HeaderMatch, ...]) -> list[dict[str, str]]:
    """Gateway API header matches for the step's: prefix becomes the regex ``value.*``
    (httproute.go:234 getHTTPHeaderRouteRuleList)."""
    out = []
    for h in headers:
        if h.kind == "exact":
            out.append({"name": h.name, "type": "Exact", "value": h.value})
        elif h.kind == "prefix":
            out.append({"name": h.name, "type": "RegularExpression", "value": h.value + ".*"})
        else:
            out.append({"name": h.name, "type": "RegularExpression", "value": h.value})
    return out


def route_with_header_route(route: dict[str, Any], canary: str, stable: str, name: str,
                            headers: tuple[HeaderMatch, ...], managed: set[str]
                            ) -> tuple[dict[str, Any], bool]:
    """A copy of ``route`` with the managed route ``name`` upserted, and whether a rule with
    both Services was found (without one the plugin fails and writes nothing)."""
    out = copy.deepcopy(route)
    rules = (out.setdefault("spec", {}).get("rules") or [])
    sources = [r for r in rules if r.get("backendRefs")
               and {canary, stable} <= {b.get("name") for b in r["backendRefs"]}]
    if not sources:
        return out, False
    extra = header_matches(headers)
    new_rules = []
    for idx, src in enumerate(sources):
        port = next(b.get("port") for b in src["backendRefs"] if b.get("name") == canary)
        backend: dict[str, Any] = {"group": "", "kind": "Service", "name": canary}
        if port is not None:
            backend["port"] = port
        matches = [{**({"path": m["path"]} if "path" in m else {}),
                    "headers": [*(m.get("headers") or []), *extra],
                    **({"queryParams": m["queryParams"]} if "queryParams" in m else {}),
                    **({"method": m["method"]} if "method" in m else {})}
                   for m in src.get("matches") or []] or [{"headers": extra}]
        rule: dict[str, Any] = {"name": name if idx == 0 else f"{name}-{idx}",
                                "matches": matches, "backendRefs": [backend]}
        if src.get("filters"):
            rule["filters"] = copy.deepcopy(src["filters"])
        new_rules.append(rule)
    # Upsert: drop this managed route's earlier rules (by name, or unnamed canary-only rules
    # carrying the same header names), then append (httproute.go:173-182).
    names = {h["name"] for h in extra}

    def earlier(rule: dict[str, Any]) -> bool:
        if isinstance(rule.get("name"), str) and is_managed_name(rule["name"], {name}):
            return True
        refs = rule.get("backendRefs") or []
        if len(refs) != 1 or refs[0].get("name") != canary:
            return False
        return any(names <= {h.get("name") for h in m.get("headers") or []}
                   for m in rule.get("matches") or [])

    out["spec"]["rules"] = [r for r in rules if not earlier(r)] + new_rules
    return out, True


def route_without_managed(route: dict[str, Any], canary: str,
                          managed: set[str]) -> dict[str, Any]:
    """A copy of ``route`` without the rules the plugin injected."""
    out = copy.deepcopy(route)
    rules = (out.get("spec") or {}).get("rules")
    if rules:
        out["spec"]["rules"] = [r for r in rules if not is_managed_rule(r, canary, managed)]
    return out


def route_with_weights(route: dict[str, Any], canary: str, stable: str,
                       weight: int, managed: set[str] | None = None
                       ) -> tuple[dict[str, Any], bool]:
    """A copy of ``route`` with the weights set, and whether both backends were found."""
    out = copy.deepcopy(route)
    found_canary = found_stable = False
    for rule in (out.get("spec") or {}).get("rules") or []:
        # Header-route rules the plugin injected are left alone (httproute.go:33-40).
        if is_managed_rule(rule, canary, managed or set()):
            continue
        for ref in rule.get("backendRefs") or []:
            if ref.get("name") == canary:
                ref["weight"] = weight
                found_canary = True
            elif ref.get("name") == stable:
                ref["weight"] = 100 - weight
                found_stable = True
    labels = out.setdefault("metadata", {}).setdefault("labels", {})
    if weight > 0:
        labels[IN_PROGRESS_LABEL] = IN_PROGRESS_VALUE
    else:
        labels.pop(IN_PROGRESS_LABEL, None)
    if not labels:
        out["metadata"].pop("labels")
    return out, found_canary and found_stable


def route_weight(route: dict[str, Any], service: str) -> int | None:
    """The weight the route gives ``service`` in its first rule naming it (default 1)."""
    for rule in (route.get("spec") or {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            if ref.get("name") == service:
                return int(ref.get("weight", 1))
    return None


@dataclass
class RouteResult:
    route: dict[str, Any] | None
    error: str | None = None  # TrafficRoutingError message
    changed: bool = False


class GatewayRouter:
    """Reads and writes HTTPRoutes through the API (v1, falling back to v1beta1)."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client

    def get(self, ref: RouteRef) -> tuple[str, dict[str, Any]] | None:
        for version in ROUTE_VERSIONS:
            try:
                return version, self.client.get(version, "HTTPRoute", ref.name, ref.namespace)
            except NotFound:
                continue
        return None

    def set_weight(self, ref: RouteRef, canary: str, stable: str, weight: int,
                   managed: set[str] | None = None) -> RouteResult:
        result = RouteResult(None)

        def attempt() -> dict[str, Any]:
            got = self.get(ref)
            if got is None:
                result.error = (f"failed to set weight via plugin: HTTPRoute {ref.namespace}/"
                                f"{ref.name} not found")
                return {}
            version, route = got
            new, found = route_with_weights(route, canary, stable, weight, managed)
            result.route = route
            if not found:
                result.error = f"failed to set weight via plugin: {NOT_FOUND}"
                return route
            if new == route:
                return route
            new["apiVersion"] = version
            updated = self.client.update(new)
            result.route, result.changed = updated, True
            return updated

        try:
            retry_on_conflict(attempt)
        except ApiError as e:
            result.error = f"failed to set weight via plugin: {e.message or e}"
        return result

    def set_header_route(self, ref: RouteRef, canary: str, stable: str, name: str,
                         headers: tuple[HeaderMatch, ...] | None,
                         managed: set[str]) -> RouteResult:
        """Upsert the managed route ``name`` (``headers`` None removes it) on a route with
        ``useHeaderRoutes``; other routes are not touched (plugin.go SetHeaderRoute)."""
        if not ref.use_header_routes:
            return RouteResult(None)
        if headers is None:
            return self._rewrite(ref, "set header route",
                                 lambda r: (route_without_managed(r, canary, managed), True))
        return self._rewrite(ref, "set header route", lambda r: route_with_header_route(
            r, canary, stable, name, headers, managed))

    def remove_managed_routes(self, ref: RouteRef, canary: str,
                              managed: set[str]) -> RouteResult:
        if not ref.use_header_routes:
            return RouteResult(None)
        return self._rewrite(ref, "remove managed routes",
                             lambda r: (route_without_managed(r, canary, managed), True))

    def _rewrite(self, ref: RouteRef, what: str, change: Any) -> RouteResult:
        """Read, change, write on difference only, retried on conflict."""
        result = RouteResult(None)

        def attempt() -> None:
            got = self.get(ref)
            if got is None:
                result.error = (f"failed to {what} via plugin: HTTPRoute {ref.namespace}/"
                                f"{ref.name} not found")
                return
            version, route = got
            new, ok = change(route)
            result.route = route
            if not ok:
                result.error = f"failed to {what} via plugin: {NOT_FOUND}"
                return
            if new == route:
                return
            new["apiVersion"] = version
            result.route, result.changed = self.client.update(new), True

        try:
            retry_on_conflict(attempt)
        except ApiError as e:
            result.error = f"failed to {what} via plugin: {e.message or e}"
        return result

    def backend_problems(self, route: dict[str, Any]) -> list[str]:
        """``check_route_backends`` with the Services the route names, read from the API."""
        md = route.get("metadata") or {}
        rns = md.get("namespace") or "default"
        services: dict[str, dict[str, Any]] = {}
        for rule in (route.get("spec") or {}).get("rules") or []:
            for ref in rule.get("backendRefs") or []:
                if (ref.get("kind") or "Service") != "Service":
                    continue
                ns = ref.get("namespace") or rns
                key = f"{ns}/{ref.get('name', '')}"
                if key not in services:
                    svc = self.client.get_or_none("v1", "Service", ref.get("name", ""), ns)
                    if svc is not None:
                        services[key] = svc
        return check_route_backends(route, services)
