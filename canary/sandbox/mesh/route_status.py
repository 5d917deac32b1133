"""HTTPRoute ``status.parents`` for Service parents, as Linkerd's policy controller writes them.

Conditions (linkerd2 policy-controller/k8s/status/src/index.rs): ``Accepted`` (True/Accepted, or
False/NoMatchingParent when the parent Service does not exist) and ``ResolvedRefs``
(True/ResolvedRefs, False/BackendNotFound, False/InvalidKind), controllerName
``linkerd.io/policy-controller``. Entries of other controllers are kept.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from canary.clock import rfc3339
from canary.kube.client import ApiError, ApiUnavailable, KubeClient, NotFound
from canary.router.gatewayapi import HTTPROUTE_VERSIONS
from canary.sandbox.mesh.routes import CORE_GROUPS, RouteError, validate_backend
from canary.sandbox.mesh.state import MeshState

Obj = dict[str, Any]
CONTROLLER = "linkerd.io/policy-controller"
API_VERSIONS = HTTPROUTE_VERSIONS

log = logging.getLogger("canary.mesh")


def _now() -> str:
    return rfc3339()


def _condition(type_: str, ok: bool, reason: str, message: str = "") -> Obj:
    return {"type": type_, "status": "True" if ok else "False", "reason": reason,
            "message": message}


def resolved_refs(route: Obj, services: Callable[[str, str], Obj | None]) -> Obj:
    ns = route["metadata"].get("namespace") or "default"
    for rule in (route.get("spec") or {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            if (ref.get("group") or "") not in CORE_GROUPS or \
                    (ref.get("kind") or "Service") != "Service":
                return _condition("ResolvedRefs", False, "InvalidKind",
                                  f"backendRef {ref.get('name')}: unsupported kind")
            try:
                validate_backend(ref, ns, services)
            except RouteError as e:
                return _condition("ResolvedRefs", False, "BackendNotFound", e.message)
    return _condition("ResolvedRefs", True, "ResolvedRefs")


def desired_parents(route: Obj, services: Callable[[str, str], Obj | None]) -> list[Obj]:
    """Our ``status.parents`` entries (without timestamps) for the route's Service parents."""
    ns = route["metadata"].get("namespace") or "default"
    out = []
    for ref in (route.get("spec") or {}).get("parentRefs") or []:
        if ref.get("kind") != "Service" or (ref.get("group") or "") not in CORE_GROUPS:
            continue
        exists = services(ref.get("namespace") or ns, ref.get("name") or "") is not None
        accepted = (_condition("Accepted", True, "Accepted") if exists else
                    _condition("Accepted", False, "NoMatchingParent",
                               f"Service {ref.get('name')} not found"))
        out.append({"parentRef": ref, "controllerName": CONTROLLER,
                    "conditions": [accepted, resolved_refs(route, services)]})
    return out


def merged_status(route: Obj, services: Callable[[str, str], Obj | None]) -> list[Obj] | None:
    """The new ``status.parents`` list, or None when the current one is already right."""
    current = ((route.get("status") or {}).get("parents")) or []
    ours_now = [p for p in current if p.get("controllerName") == CONTROLLER]
    others = [p for p in current if p.get("controllerName") != CONTROLLER]
    want = desired_parents(route, services)

    def strip(parents: list[Obj]) -> list[Obj]:
        return [{**p, "conditions": [{k: v for k, v in c.items() if k != "lastTransitionTime"}
                                     for c in p.get("conditions") or []]} for p in parents]

    if strip(ours_now) == want:
        return None
    old_times = {(str(p.get("parentRef")), c.get("type"), c.get("status")):
                 c.get("lastTransitionTime") for p in ours_now for c in p.get("conditions") or []}
    now = _now()
    for p in want:
        for c in p["conditions"]:
            key = (str(p["parentRef"]), c["type"], c["status"])
            c["lastTransitionTime"] = old_times.get(key) or now
    return others + want


class RouteStatusWriter(threading.Thread):
    """Writes route status after route or Service changes, off the watch threads."""

    def __init__(self, connect: Callable[[], KubeClient], state: MeshState,
                 stop: threading.Event) -> None:
        super().__init__(daemon=True, name="route-status")
        self.connect = connect
        self.client = connect()
        self.state = state
        self.stop = stop
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        state.on_change(self._on_change)

    def _on_change(self, kind: str, event_type: str, obj: Obj) -> None:
        if kind == "HTTPRoute" and event_type in ("ADDED", "MODIFIED"):
            md = obj.get("metadata") or {}
            self._queue.put((md.get("namespace") or "", md.get("name") or ""))
        elif kind in ("Service", "HTTPRoute") and event_type in ("ADDED", "DELETED",
                                                                 "REPLACED"):
            self._queue.put(None)  # recheck every route: a backend may have (dis)appeared

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            keys = {item} if item else set()
            if item is None:
                keys |= {(r["metadata"].get("namespace", ""), r["metadata"].get("name", ""))
                         for r in self.state.all("HTTPRoute")}
            for ns, name in keys:
                self._write(ns, name)

    def _write(self, ns: str, name: str) -> None:
        route = self.state.get("HTTPRoute", ns, name)
        if route is None:
            return
        parents = merged_status(route, self.state.service)
        if parents is None:
            return
        for api_version in API_VERSIONS:
            try:
                self.client.patch_status(api_version, "HTTPRoute", name,
                                         {"status": {"parents": parents}}, ns)
                return
            except NotFound:
                continue
            except (ApiError, ApiUnavailable) as e:
                log.warning("cannot write status of HTTPRoute %s/%s: %s", ns, name, e)
                if isinstance(e, ApiError) and e.code == 401:
                    try:
                        self.client = self.connect()  # new token after an API restart
                    except ApiUnavailable:
                        pass
                return
