"""The endpoints and endpointslice controllers: Services with a selector -> Endpoints and
EndpointSlices listing the matching pods (ready in ``addresses``, the rest not ready).

Services without a selector are left alone: their Endpoints are someone else's (the sandbox
registers Prometheus that way).
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

from canary.kube.client import (
    AlreadyExists,
    KubeClient,
)
from canary.kube.informer import Informer

from .objects import Key, Obj, is_terminating, key_of, owner_ref_to, pod_is_ready, rfc3339
from .selectors import map_matcher
from .workqueue import WorkQueue, process

log = logging.getLogger("canary.node")

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


def container_port(pod: Obj, target: Any, protocol: str) -> int | None:
    """A Service port's targetPort on ``pod``: a number, or a named container port."""
    if isinstance(target, int):
        return target
    s = str(target)
    if s.isdigit():
        return int(s)
    for c in pod.get("spec", {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == s and (p.get("protocol") or "TCP") == protocol:
                return int(p["containerPort"])
    return None


def pod_ports(svc: Obj, pod: Obj) -> tuple[tuple[str, int, str], ...] | None:
    """(name, port, protocol) for every Service port this pod serves; None if it serves none."""
    out = []
    for sp in svc.get("spec", {}).get("ports") or []:
        proto = sp.get("protocol") or "TCP"
        target = sp.get("targetPort", sp.get("port"))
        port = container_port(pod, target, proto)
        if port is None:
            continue
        out.append((sp.get("name") or "", port, proto))
    return tuple(out) if out else None


def _address(pod: Obj) -> Obj:
    md = pod["metadata"]
    return {"ip": pod["status"]["podIP"], "nodeName": pod.get("spec", {}).get("nodeName")
            or "sandbox",
            "targetRef": {"kind": "Pod", "namespace": md["namespace"], "name": md["name"],
                          "uid": md["uid"]}}


def selected_pods(svc: Obj, pods: list[Obj]) -> list[Obj]:
    match = map_matcher(svc.get("spec", {}).get("selector"))
    return [p for p in pods if match(p["metadata"].get("labels") or {})
            and p.get("status", {}).get("podIP") and not is_terminating(p)
            and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]


def endpoint_subsets(svc: Obj, pods: list[Obj]) -> list[Obj]:
    """Endpoints ``subsets``: pods grouped by the ports they serve, sorted as k8s sorts."""
    publish_unready = bool(svc.get("spec", {}).get("publishNotReadyAddresses"))
    groups: dict[tuple, dict[str, list[Obj]]] = {}
    for p in selected_pods(svc, pods):
        ports = pod_ports(svc, p)
        if ports is None:
            continue
        g = groups.setdefault(ports, {"ready": [], "unready": []})
        g["ready" if pod_is_ready(p) or publish_unready else "unready"].append(_address(p))
    subsets = []
    for ports, g in sorted(groups.items()):
        sub: Obj = {}
        if g["ready"]:
            sub["addresses"] = sorted(g["ready"], key=lambda a: a["ip"])
        if g["unready"]:
            sub["notReadyAddresses"] = sorted(g["unready"], key=lambda a: a["ip"])
        eports = []
        for name, port, proto in ports:
            ep: Obj = {"port": port, "protocol": proto}
            if name:
                ep["name"] = name
            eports.append(ep)
        sub["ports"] = eports
        subsets.append(sub)
    return subsets


def slice_endpoints(svc: Obj, pods: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(endpoints, ports) of the single EndpointSlice we keep per Service."""
    eps = []
    all_ports: dict[tuple[str, int, str], None] = {}
    for p in selected_pods(svc, pods):
        ports = pod_ports(svc, p)
        if ports is None:
            continue
        for t in ports:
            all_ports[t] = None
        ready = pod_is_ready(p)
        md = p["metadata"]
        eps.append({"addresses": [p["status"]["podIP"]],
                    "conditions": {"ready": ready, "serving": ready, "terminating": False},
                    "nodeName": p.get("spec", {}).get("nodeName") or "sandbox",
                    "targetRef": {"kind": "Pod", "namespace": md["namespace"],
                                  "name": md["name"], "uid": md["uid"]}})
    eps.sort(key=lambda e: e["addresses"][0])
    ports = [{"name": n, "port": port, "protocol": proto} for n, port, proto in all_ports]
    return eps, ports


class EndpointsController:
    def __init__(self, client: KubeClient, services: Informer, pods: Informer,
                 endpoints: Informer, slices: Informer, stop: threading.Event) -> None:
        self.client = client
        self.services = services
        self.pods = pods
        self.endpoints = endpoints
        self.slices = slices
        self.stop = stop
        self.queue = WorkQueue("endpoints")
        self._written: dict[Key, tuple] = {}
        services.add_handler(lambda t, o, old: self.queue.add(key_of(o)))
        pods.add_handler(self._on_pod)
        endpoints.add_handler(self._on_endpoints)

    def _on_pod(self, typ: str, pod: Obj, old: Obj | None) -> None:
        ns = pod["metadata"].get("namespace", "")
        labels = [pod["metadata"].get("labels") or {}]
        if old is not None:
            labels.append(old["metadata"].get("labels") or {})
        for svc in self.services.list(ns):
            match = map_matcher(svc.get("spec", {}).get("selector"))
            if any(match(lb) for lb in labels):
                self.queue.add(key_of(svc))

    def _on_endpoints(self, typ: str, ep: Obj, old: Obj | None) -> None:
        if self.services.get(key_of(ep)) is not None:
            self.queue.add(key_of(ep))  # someone changed our Endpoints: put them right

    def run(self) -> None:
        process(self.queue, self.sync, "endpoints", log)

    def sync(self, key: Key) -> None:
        svc = self.services.get(key)
        if svc is None:
            if self.endpoints.get(key) is not None:  # the Service is gone: so are its Endpoints
                self.client.delete("v1", "Endpoints", key[1], key[0])
                self.endpoints.forget(key)
                log.info("endpoints %s/%s: deleted with their Service", key[0], key[1])
            return
        if is_terminating(svc) or not svc.get("spec", {}).get("selector"):
            return
        pods = self.pods.list(key[0])
        self._sync_endpoints(svc, pods)
        if self.slices.available:
            self._sync_slice(svc, pods)

    def _sync_endpoints(self, svc: Obj, pods: list[Obj]) -> None:
        ns, name = key_of(svc)
        subsets = endpoint_subsets(svc, pods)
        labels = dict(svc["metadata"].get("labels") or {})
        cur = self.endpoints.get((ns, name))
        if cur is not None and (cur.get("subsets") or []) == subsets \
                and (cur["metadata"].get("labels") or {}) == labels:
            return
        if cur is not None and self._written.get((ns, name)) == (
                cur["metadata"].get("resourceVersion"), subsets, labels):
            return  # our own last write, as the server stored it: nothing new
        body: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                     "metadata": {"name": name, "namespace": ns, "labels": labels,
                                  "annotations": {
                                      "endpoints.kubernetes.io/last-change-trigger-time":
                                          rfc3339()}},
                     "subsets": subsets}
        if cur is None:
            try:
                written = self.client.create(body, namespace=ns)
            except AlreadyExists:
                cur = self.client.get("v1", "Endpoints", name, ns)
        if cur is not None:
            body["metadata"]["resourceVersion"] = cur["metadata"].get("resourceVersion")
            written = self.client.update(body)
        self.endpoints.write_through(written)
        self._written[(ns, name)] = (written["metadata"].get("resourceVersion"), subsets, labels)
        ready = [a["ip"] for s in subsets for a in s.get("addresses", [])]
        unready = [a["ip"] for s in subsets for a in s.get("notReadyAddresses", [])]
        log.info("endpoints %s/%s: ready %s not ready %s", ns, name, ready or "[]",
                 unready or "[]")

    def _sync_slice(self, svc: Obj, pods: list[Obj]) -> None:
        ns, name = key_of(svc)
        eps, ports = slice_endpoints(svc, pods)
        mine = [s for s in self.slices.list(ns)
                if (s["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == name
                and (s["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY]
        mine.sort(key=lambda s: s["metadata"].get("creationTimestamp") or "")
        labels = dict(svc["metadata"].get("labels") or {})
        labels[SERVICE_NAME_LABEL] = name
        labels[MANAGED_BY_LABEL] = MANAGED_BY
        for extra in mine[1:]:
            self.client.delete("discovery.k8s.io/v1", "EndpointSlice", extra["metadata"]["name"],
                               ns)
        cur = mine[0] if mine else None
        if cur is not None and (cur.get("endpoints") or []) == eps \
                and (cur.get("ports") or []) == ports:
            return
        body: Obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                     "metadata": {"namespace": ns, "labels": labels,
                                  "ownerReferences": [owner_ref_to(svc)]},
                     "addressType": "IPv4", "endpoints": eps, "ports": ports}
        if cur is None:
            body["metadata"]["name"] = f"{name}-{''.join(random.choices(_NAME_CHARS, k=5))}"
            written = self.client.create(body, namespace=ns)
        else:
            body["metadata"]["name"] = cur["metadata"]["name"]
            body["metadata"]["resourceVersion"] = cur["metadata"].get("resourceVersion")
            written = self.client.update(body)
        self.slices.write_through(written)
