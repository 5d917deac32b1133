"""HTTPRoute weights the way the Argo Rollouts Gateway API plugin writes them.

Every rule's backendRefs are matched by Service name only: the canary Service gets the canary
weight, the stable Service ``100 - weight`` (hard-coded to 100 as in the plugin), other
backends are left alone. The route carries the plugin's in-progress label while the canary
weight is above 0.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from canary.kube.client import ApiError, KubeClient, NotFound, retry_on_conflict
from canary.router.gatewayapi import HTTPROUTE_VERSIONS
from canary.spec.rollout import RouteRef, check_route_backends

ROUTE_VERSIONS = HTTPROUTE_VERSIONS
IN_PROGRESS_LABEL = "rollouts.argoproj.io/gatewayapi-canary"
IN_PROGRESS_VALUE = "in-progress"
NOT_FOUND = "backendRef was not found in httpRoute"


def route_with_weights(route: dict[str, Any], canary: str, stable: str,
                       weight: int) -> tuple[dict[str, Any], bool]:
    """A copy of ``route`` with the weights set, and whether both backends were found."""
    out = copy.deepcopy(route)
    found_canary = found_stable = False
    for rule in (out.get("spec") or {}).get("rules") or []:
        refs = rule.get("backendRefs") or []
        # Header-route rules the plugin injects hold the canary alone: leave them be.
        if rule.get("name") and len(refs) == 1:
            continue
        for ref in refs:
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

    def set_weight(self, ref: RouteRef, canary: str, stable: str, weight: int) -> RouteResult:
        result = RouteResult(None)

        def attempt() -> dict[str, Any]:
            got = self.get(ref)
            if got is None:
                result.error = (f"failed to set weight via plugin: HTTPRoute {ref.namespace}/"
                                f"{ref.name} not found")
                return {}
            version, route = got
            new, found = route_with_weights(route, canary, stable, weight)
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
