"""The mesh's view of the cluster: a thread-safe cache of the objects it routes by.

Fed by watches (see ``watch.py``) or directly by tests. Every lookup reads the current cache, so
a changed HTTPRoute or Endpoints object applies to the next request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

INJECT_ANNOTATION = "linkerd.io/inject"

KINDS = ("Service", "Endpoints", "Pod", "HTTPRoute", "Namespace")


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    pod_namespace: str | None = None
    pod_name: str | None = None


def _key(obj: Obj) -> tuple[str, str]:
    md = obj.get("metadata") or {}
    return md.get("namespace") or "", md.get("name") or ""


class MeshState:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objs: dict[str, dict[tuple[str, str], Obj]] = {k: {} for k in KINDS}
        self._pods_by_ip: dict[str, tuple[str, str]] = {}
        self._synced: set[str] = set()
        self._listeners: list[Callable[[str, str, Obj], None]] = []

    # -- feeding ---------------------------------------------------------------------------

    def on_change(self, fn: Callable[[str, str, Obj], None]) -> None:
        """Call ``fn(kind, event_type, obj)`` after every change (REPLACED for a relist)."""
        self._listeners.append(fn)

    def replace(self, kind: str, items: list[Obj]) -> None:
        with self._lock:
            old = self._objs[kind]
            self._objs[kind] = {_key(o): o for o in items}
            self._synced.add(kind)
            if kind == "Pod":
                self._reindex_pods()
            removed = [o for k, o in old.items() if k not in self._objs[kind]]
        for o in removed:
            self._notify(kind, "DELETED", o)
        self._notify(kind, "REPLACED", {})

    def apply(self, kind: str, event_type: str, obj: Obj) -> None:
        with self._lock:
            if event_type == "DELETED":
                self._objs[kind].pop(_key(obj), None)
            else:
                self._objs[kind][_key(obj)] = obj
            if kind == "Pod":
                self._reindex_pods()
        self._notify(kind, event_type, obj)

    def _notify(self, kind: str, event_type: str, obj: Obj) -> None:
        for fn in self._listeners:
            fn(kind, event_type, obj)

    def _reindex_pods(self) -> None:
        index: dict[str, tuple[str, str]] = {}
        for key, pod in self._objs["Pod"].items():
            st = pod.get("status") or {}
            if st.get("phase") in ("Succeeded", "Failed"):
                continue
            ips = {st.get("podIP")} | {p.get("ip") for p in st.get("podIPs") or []}
            for ip in ips - {None, ""}:
                index[ip] = key
        self._pods_by_ip = index

    def synced(self, kinds: tuple[str, ...] = KINDS) -> bool:
        with self._lock:
            return all(k in self._synced for k in kinds)

    # -- lookups ---------------------------------------------------------------------------

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        with self._lock:
            return self._objs[kind].get((namespace, name))

    def service(self, namespace: str, name: str) -> Obj | None:
        return self.get("Service", namespace, name)

    def services(self) -> list[Obj]:
        with self._lock:
            return list(self._objs["Service"].values())

    def all(self, kind: str) -> list[Obj]:
        with self._lock:
            return list(self._objs[kind].values())

    def routes(self, namespace: str) -> list[Obj]:
        with self._lock:
            return [r for (ns, _), r in self._objs["HTTPRoute"].items() if ns == namespace]

    def pod(self, namespace: str, name: str) -> Obj | None:
        return self.get("Pod", namespace, name)

    def pods(self) -> list[Obj]:
        with self._lock:
            return list(self._objs["Pod"].values())

    def pod_by_ip(self, ip: str) -> Obj | None:
        with self._lock:
            key = self._pods_by_ip.get(ip)
            return self._objs["Pod"].get(key) if key else None

    def is_meshed(self, pod: Obj | None) -> bool:
        """Linkerd injects a proxy when the pod or its namespace is annotated inject=enabled."""
        if pod is None:
            return False
        md = pod.get("metadata") or {}
        value = (md.get("annotations") or {}).get(INJECT_ANNOTATION)
        if value is not None:
            return value == "enabled"
        ns = self.get("Namespace", "", md.get("namespace") or "")
        ns_value = ((ns or {}).get("metadata") or {}).get("annotations") or {}
        return ns_value.get(INJECT_ANNOTATION) == "enabled"

    def endpoints(self, namespace: str, name: str, port: int) -> list[Endpoint]:
        """Ready endpoints of Service ``name`` for its service port ``port``."""
        svc = self.service(namespace, name)
        if svc is None:
            return []
        svc_port = next((p for p in (svc.get("spec") or {}).get("ports") or []
                         if _as_int(p.get("port")) == port), None)
        if svc_port is None:
            return []
        eps = self.get("Endpoints", namespace, name)
        out: list[Endpoint] = []
        for subset in (eps or {}).get("subsets") or []:
            target = self._subset_port(subset, svc_port)
            for addr in subset.get("addresses") or []:
                ref = addr.get("targetRef") or {}
                is_pod = ref.get("kind") == "Pod"
                pod_ns = ref.get("namespace") or namespace if is_pod else None
                pod_name = ref.get("name") if is_pod else None
                port_no = target
                if port_no is None:
                    port_no = self._named_target_port(svc_port, pod_ns, pod_name)
                if port_no is not None and addr.get("ip"):
                    out.append(Endpoint(addr["ip"], port_no, pod_ns, pod_name))
        return out

    def _subset_port(self, subset: Obj, svc_port: Obj) -> int | None:
        ports = subset.get("ports") or []
        name = svc_port.get("name") or ""
        for p in ports:
            if (p.get("name") or "") == name:
                return _as_int(p.get("port"))
        if len(ports) == 1 and not name:
            return _as_int(ports[0].get("port"))
        if not ports:
            return _as_int(svc_port.get("targetPort", svc_port.get("port")))
        return None

    def _named_target_port(self, svc_port: Obj, pod_ns: str | None,
                           pod_name: str | None) -> int | None:
        target = svc_port.get("targetPort", svc_port.get("port"))
        if _as_int(target) is not None:
            return _as_int(target)
        pod = self.pod(pod_ns or "", pod_name or "")
        for c in ((pod or {}).get("spec") or {}).get("containers") or []:
            for p in c.get("ports") or []:
                if p.get("name") == target:
                    return _as_int(p.get("containerPort"))
        return None


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
