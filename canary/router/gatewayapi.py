"""Gateway API HTTPRoute router (Flagger's gateway_api_v1beta1.go).

One rule matching ``PathPrefix /`` with two weighted backendRefs, ``<svc>-primary`` and
``<svc>-canary``. Reconcile never touches weights; ``set_routes`` rewrites them.
"""

from __future__ import annotations

import copy
from typing import Any

from canary.kube.client import KubeClient, NotFound, Obj, retry_on_conflict
from canary.router.kubernetes import FLUX_ANNOTATIONS, owner_ref
from canary.spec.canary import CanarySpec

API_VERSION = "gateway.networking.k8s.io/v1beta1"
# What readers try, newest first: clusters serve v1 since Gateway API 1.0, older ones v1beta1.
HTTPROUTE_VERSIONS = ("gateway.networking.k8s.io/v1", API_VERSION)


def merge_matches(analysis: list[dict], service: list[dict]) -> list[dict]:
    """Flagger's mergeMatchConditions (gateway_api_v1beta1.go:597): every service match with
    the headers / query params of every analysis match."""
    if not analysis:
        return service
    if not service:
        return analysis
    out = []
    for a in analysis:
        for s in service:
            m = copy.deepcopy(s)
            for k in ("headers", "queryParams"):
                if a.get(k):
                    m[k] = copy.deepcopy(a[k])
            out.append(m)
    return out


def _backend(name: str, port: int, weight: int) -> dict[str, Any]:
    return {"group": "", "kind": "Service", "name": name, "port": port, "weight": weight}


def route_spec(c: CanarySpec, primary: int, canary: int) -> dict[str, Any]:
    s = c.service
    matches = [copy.deepcopy(m) for m in s.match] or \
        [{"path": {"type": "PathPrefix", "value": "/"}}]
    rule: dict[str, Any] = {
        "matches": matches,
        "backendRefs": [_backend(f"{s.name}-primary", s.port, primary),
                        _backend(f"{s.name}-canary", s.port, canary)],
    }
    if s.timeout:
        rule["timeouts"] = {"request": s.timeout}
    rules = [rule]
    if c.analysis.match:
        # A/B testing: the weighted rule takes only the matching requests; the others go to
        # the primary (gateway_api_v1beta1.go Reconcile / SetRoutes "A/B testing")
        rule["matches"] = merge_matches(list(c.analysis.match), matches)
        rest: dict[str, Any] = {"matches": copy.deepcopy(matches),
                                "backendRefs": [_backend(f"{s.name}-primary", s.port, 100)]}
        if s.timeout:
            rest["timeouts"] = {"request": s.timeout}
        rules.append(rest)
    spec: dict[str, Any] = {"parentRefs": [dict(r) for r in s.gateway_refs], "rules": rules}
    if s.hosts:
        spec["hostnames"] = list(s.hosts)
    return spec


def get_routes(c: CanarySpec, route: Obj | None) -> tuple[int, int]:
    """(primary, canary) weights from the rule with exactly two backendRefs."""
    if route is None:
        return 100, 0
    s = c.service
    for rule in (route.get("spec") or {}).get("rules") or []:
        refs = rule.get("backendRefs") or []
        if len(refs) != 2:
            continue
        weights = {r.get("name"): int(r.get("weight", 1)) for r in refs}
        p, k = f"{s.name}-primary", f"{s.name}-canary"
        if p in weights and k in weights:
            return weights[p], weights[k]
    return 100, 0


def _without_weights(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` for comparing, its backendRefs without weights (a shallow view: every tick
    compares, and a deep copy of the route was a tenth of a progressing tick's CPU)."""
    if not isinstance(spec.get("rules"), list):
        return spec
    return {**spec, "rules": [
        {**rule, "backendRefs": [{k: v for k, v in ref.items() if k != "weight"}
                                 if isinstance(ref, dict) else ref
                                 for ref in rule["backendRefs"]]}
        if isinstance(rule, dict) and isinstance(rule.get("backendRefs"), list) else rule
        for rule in spec["rules"]]}


def reconcile(client: KubeClient, c: CanarySpec, canary: Obj) -> Obj:
    """Create the HTTPRoute (100/0) or repair drift other than the weights."""
    meta = c.service.apex_meta

    def write() -> Obj:
        try:
            route = client.get(API_VERSION, "HTTPRoute", c.service.name, c.namespace)
        except NotFound:
            md: dict[str, Any] = {"name": c.service.name, "namespace": c.namespace,
                                  "ownerReferences": [owner_ref(canary)]}
            if meta.get("labels"):
                md["labels"] = dict(meta["labels"])
            # gateway_api_v1beta1.go Reconcile: apex annotations + filterMetadata's Flux keys
            md["annotations"] = {**(meta.get("annotations") or {}), **FLUX_ANNOTATIONS}
            obj = {"apiVersion": API_VERSION, "kind": "HTTPRoute", "metadata": md,
                   "spec": route_spec(c, 100, 0)}
            return client.create(obj, namespace=c.namespace)
        primary, canary_w = get_routes(c, route)
        want = route_spec(c, primary, canary_w)
        if _without_weights(_normalized(route.get("spec") or {}, want)) == \
                _without_weights(want):
            return route
        route["spec"] = want
        return client.update(route)

    return retry_on_conflict(write)


def _normalized(have: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """``have`` reduced to the keys we set (the server may add defaults we do not manage)."""
    out: dict[str, Any] = {}
    for k, v in want.items():
        hv = have.get(k)
        if isinstance(v, dict) and isinstance(hv, dict):
            out[k] = _normalized(hv, v)
        elif isinstance(v, list) and isinstance(hv, list) and len(v) == len(hv):
            out[k] = [_normalized(h, w) if isinstance(w, dict) and isinstance(h, dict) else h
                      for h, w in zip(hv, v, strict=True)]
        else:
            out[k] = hv
    return out


def set_routes(client: KubeClient, c: CanarySpec, canary: Obj, primary: int,
               canary_weight: int, current: Obj | None = None) -> None:
    """Write the weights; ``current`` (a fresh read) saves a GET, a conflict re-reads."""
    cached = [current]

    def write() -> Obj:
        route = cached.pop() if cached and cached[0] is not None else \
            client.get_or_none(API_VERSION, "HTTPRoute", c.service.name, c.namespace)
        cached.clear()
        if route is None:
            reconcile(client, c, canary)
            route = client.get(API_VERSION, "HTTPRoute", c.service.name, c.namespace)
        if get_routes(c, route) == (primary, canary_weight):
            return route
        route["spec"] = route_spec(c, primary, canary_weight)
        return client.update(route)

    retry_on_conflict(write)
