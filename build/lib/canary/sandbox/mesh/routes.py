"""Client-side HTTPRoute routing, as a meshed client's outbound proxy does it. Pure: no I/O.

Given the HTTPRoutes of a namespace, find the route whose parentRef is a Service port, pick the
rule whose path match fits the request, and pick one backendRef by relative weight (Gateway API:
an unset weight is 1, weight 0 is never chosen). A backendRef that names a missing Service or a
port the Service does not expose is an *invalid backend*: requests sent to it answer 500.
"""

from __future__ import annotations

import random
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

CORE_GROUPS = ("", "core")


@dataclass(frozen=True)
class Backend:
    """A concrete backend: a Service port to send the request to."""

    namespace: str
    name: str
    port: int


class RouteError(Exception):
    """The request cannot be routed; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parent_matches(ref: Obj, route_ns: str, svc_ns: str, svc_name: str, port: int) -> bool:
    # parentRef defaults are for Gateways (group gateway.networking.k8s.io, kind Gateway), so a
    # Service parent must say kind: Service explicitly.
    if ref.get("kind") != "Service" or (ref.get("group") or "") not in CORE_GROUPS:
        return False
    if ref.get("name") != svc_name or (ref.get("namespace") or route_ns) != svc_ns:
        return False
    ref_port = ref.get("port")
    return ref_port is None or _as_int(ref_port) == port


def find_route(routes: Sequence[Obj], svc_ns: str, svc_name: str, port: int,
               client_ns: str | None = None) -> Obj | None:
    """The HTTPRoute attached to ``svc_name:port`` for a client in ``client_ns``.

    A *consumer* route (in the client's namespace, naming the Service's namespace in its
    parentRef) wins for that client; otherwise the *producer* route (in the Service's namespace)
    applies (GEP-1426, as in Linkerd). When several attach, the oldest wins (Gateway API
    precedence: creation time, then name).
    """
    def attached(route_ns: str) -> list[Obj]:
        found = []
        for route in routes:
            md = route.get("metadata", {})
            if md.get("namespace", "") != route_ns or md.get("deletionTimestamp"):
                continue
            refs = (route.get("spec") or {}).get("parentRefs") or []
            if any(isinstance(r, dict) and _parent_matches(r, route_ns, svc_ns, svc_name, port)
                   for r in refs):
                found.append(route)
        return found

    found = attached(client_ns) if client_ns and client_ns != svc_ns else []
    found = found or attached(svc_ns)
    if not found:
        return None
    found.sort(key=lambda r: (r["metadata"].get("creationTimestamp") or "",
                              r["metadata"].get("name", "")))
    return found[0]


def _path_match(match: Obj, path: str) -> tuple[int, int] | None:
    """(exact?, matched length) for precedence, or None when the path match does not apply."""
    pm = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind = pm.get("type") or "PathPrefix"
    value = pm.get("value") or "/"
    path = path.split("?", 1)[0] or "/"
    if kind == "Exact":
        return (1, len(value)) if path == value else None
    if kind == "PathPrefix":
        prefix = value.rstrip("/")
        # Gateway API prefixes match whole path elements: /foo matches /foo and /foo/bar only.
        if prefix == "" or path == prefix or path.startswith(prefix + "/"):
            return (0, len(prefix))
        return None
    if kind == "RegularExpression":
        return (0, len(value)) if _fullmatch(value, path) else None
    return None


def _fullmatch(pattern: str, text: str) -> bool:
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error:
        return False


def _value_matches(cond: Obj, actual: str | None) -> bool:
    if actual is None:
        return False
    if (cond.get("type") or "Exact") == "RegularExpression":
        return _fullmatch(cond.get("value") or "", actual)
    return actual == (cond.get("value") or "")


def _match_key(match: Obj, path: str, method: str, headers: Mapping[str, str]
               ) -> tuple[int, ...] | None:
    """Precedence key of a match that applies (Gateway API order: exact path, longest
    prefix, method, most headers, most query params), or None."""
    p = _path_match(match, path)
    if p is None:
        return None
    if match.get("method") and match["method"].upper() != method.upper():
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    conds = match.get("headers") or []
    if not all(_value_matches(c, lower.get((c.get("name") or "").lower())) for c in conds):
        return None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    qconds = match.get("queryParams") or []
    if not all(_value_matches(c, (query.get(c.get("name") or "") or [None])[0])
               for c in qconds):
        return None
    return (*p, 1 if match.get("method") else 0, len(conds), len(qconds))


def choose_rule(route: Obj, path: str, method: str = "GET",
                headers: Mapping[str, str] | None = None) -> Obj | None:
    """The rule with the most specific match for the request (a rule without matches is
    ``PathPrefix /``); ties go to the earlier rule."""
    best: tuple[int, ...] | None = None
    chosen = None
    for index, rule in enumerate((route.get("spec") or {}).get("rules") or [{}]):
        for match in rule.get("matches") or [{}]:
            key = _match_key(match, path, method, headers or {})
            if key is not None and (best is None or (*key, -index) > best):
                best, chosen = (*key, -index), rule
    return chosen


def _weight(ref: Obj) -> int:
    w = ref.get("weight", 1)
    if w is None:
        return 1
    try:
        return max(0, int(w))
    except (TypeError, ValueError):
        return 0


def validate_backend(ref: Obj, route_ns: str, services: Callable[[str, str], Obj | None]
                     ) -> Backend:
    """Resolve a backendRef to a Backend, or raise RouteError(500) for an invalid backend."""
    name = ref.get("name") or "?"
    if (ref.get("group") or "") not in CORE_GROUPS or (ref.get("kind") or "Service") != "Service":
        raise RouteError(500, f"backendRef {name}: only core Services are supported")
    ns = ref.get("namespace") or route_ns
    svc = services(ns, name)
    if svc is None:
        raise RouteError(500, f"backendRef {ns}/{name}: Service not found")
    port = _as_int(ref.get("port"))
    if port is None:
        raise RouteError(500, f"backendRef {ns}/{name}: a Service backend needs a port")
    ports = [_as_int(p.get("port")) for p in (svc.get("spec") or {}).get("ports") or []]
    if port not in ports:
        raise RouteError(500, f"backendRef {ns}/{name}: Service has no port {port}")
    return Backend(ns, name, port)


def choose_backend(rule: Obj, route_ns: str, parent: Backend,
                   services: Callable[[str, str], Obj | None], rng: random.Random,
                   available: Callable[[Backend], bool] | None = None) -> Backend:
    """Weighted random choice of one backendRef of ``rule`` (per request, like Linkerd's proxy).

    A rule without backendRefs sends to the parent Service itself. When ``available`` says the
    picked backend has no ready endpoints, its weight is zeroed for this pick and we pick again,
    as Linkerd does, so traffic goes to a ready backend when there is one.
    """
    refs = [r for r in rule.get("backendRefs") or [] if isinstance(r, dict)]
    if not refs:
        return parent
    weights = [_weight(r) for r in refs]
    if sum(weights) == 0:
        raise RouteError(500, "all backendRefs of the matched rule have weight 0")
    while True:
        i = rng.choices(range(len(refs)), weights=weights)[0]
        backend = validate_backend(refs[i], route_ns, services)
        if available is None or available(backend):
            return backend
        weights[i] = 0
        if sum(weights) == 0:
            return backend  # nothing ready anywhere: the caller answers 503


def route_request(routes: Sequence[Obj], parent: Backend, path: str,
                  services: Callable[[str, str], Obj | None], rng: random.Random,
                  available: Callable[[Backend], bool] | None = None,
                  client_ns: str | None = None, method: str = "GET",
                  headers: Mapping[str, str] | None = None) -> Backend:
    """Full outbound routing decision for a meshed client (in ``client_ns``) calling ``parent``.
    """
    route = find_route(routes, parent.namespace, parent.name, parent.port, client_ns)
    if route is None:
        return parent
    rule = choose_rule(route, path, method, headers)
    if rule is None:
        raise RouteError(404, f"no rule of HTTPRoute {route['metadata']['name']} matches {path}")
    return choose_backend(rule, route["metadata"]["namespace"], parent, services, rng, available)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
