"""The ReplicaSet controller: keeps ``spec.replicas`` Pods alive and writes ReplicaSet status."""

from __future__ import annotations

import copy
import logging
import random
import threading
import time
from collections.abc import Callable

from canary.kube.client import (
    AlreadyExists,
    ApiError,
    KubeClient,
)
from canary.kube.events import EventRecorder
from canary.kube.informer import Informer

from .objects import (
    Key,
    Obj,
    controller_ref,
    is_controlled_by,
    is_terminating,
    key_of,
    owner_ref_to,
    pod_is_active,
    pod_is_ready,
    pod_ready_since,
)
from .rollout import rs_replicas, status_changed, status_patch
from .selectors import selector_matcher
from .workqueue import WorkQueue, process

log = logging.getLogger("canary.node")

COMPONENT = "replicaset-controller"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
TOMBSTONE_SECONDS = 30.0

# extra labels for a pod at creation (the Linkerd proxy injector's labels on meshed pods)
PodLabeler = Callable[[Obj, Obj], dict[str, str]]


def pod_name(rs_name: str) -> str:
    return f"{rs_name}-{''.join(random.choices(_NAME_CHARS, k=5))}"


def pod_from_template(rs: Obj, name: str, extra_labels: dict[str, str] | None = None) -> Obj:
    tmpl = copy.deepcopy(rs["spec"].get("template") or {})
    tmd = tmpl.get("metadata") or {}
    md: Obj = {"name": name, "namespace": rs["metadata"]["namespace"],
               "generateName": rs["metadata"]["name"] + "-",
               "labels": dict(tmd.get("labels") or {}) | (extra_labels or {}),
               "ownerReferences": [owner_ref_to(rs)]}
    if tmd.get("annotations"):
        md["annotations"] = dict(tmd["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": tmpl.get("spec") or {}}


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_order(pods: list[Obj]) -> list[Obj]:
    """Pods in the order the ReplicaSet controller deletes them (controller.ActivePods).

    Unscheduled before scheduled, Pending before Running, not ready before ready, ready for a
    shorter time first, more restarts first, newer first.
    """
    def restarts(p: Obj) -> int:
        return max([int(c.get("restartCount") or 0)
                    for c in p.get("status", {}).get("containerStatuses") or []] + [0])

    def created(p: Obj) -> str:
        return p["metadata"].get("creationTimestamp") or ""

    def key(p: Obj) -> tuple:
        ready = pod_is_ready(p)
        since = pod_ready_since(p) or 0.0
        return (1 if p.get("spec", {}).get("nodeName") else 0,
                _PHASE_RANK.get(p.get("status", {}).get("phase", "Pending"), 0),
                1 if ready else 0,
                -since if ready else 0.0,
                -restarts(p))

    # newer first among equals: sort by creation descending, then stable sort by key
    by_new = sorted(pods, key=created, reverse=True)
    return sorted(by_new, key=key)


def replicaset_status(rs: Obj, pods: list[Obj], now: float, scale: float = 1.0) -> Obj:
    """ReplicaSet status; a pod counts as available once ready for minReadySeconds (scaled)."""
    min_ready = int(rs["spec"].get("minReadySeconds") or 0) * scale
    tmpl_labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get("labels") or {}
    ready = [p for p in pods if pod_is_ready(p)]
    available = [p for p in ready
                 if min_ready == 0 or (pod_ready_since(p) or now) + min_ready <= now]
    labeled = [p for p in pods
               if all((p["metadata"].get("labels") or {}).get(k) == v
                      for k, v in tmpl_labels.items())]
    status: Obj = {"replicas": len(pods), "fullyLabeledReplicas": len(labeled),
                   "readyReplicas": len(ready), "availableReplicas": len(available),
                   "observedGeneration": int(rs["metadata"].get("generation") or 0)}
    if rs.get("status", {}).get("conditions"):
        status["conditions"] = rs["status"]["conditions"]
    return status


class ReplicaSetController:
    def __init__(self, client: KubeClient, replicasets: Informer, pods: Informer,
                 events: EventRecorder, stop: threading.Event,
                 labeler: PodLabeler | None = None, scale: float = 1.0) -> None:
        self.client = client
        self.scale = scale
        self.replicasets = replicasets
        self.pods = pods
        self.events = events
        self.stop = stop
        self.labeler = labeler
        self.queue = WorkQueue("replicasets")
        self._deleted: dict[str, float] = {}  # pod uid -> when we deleted it
        replicasets.add_handler(lambda t, o, old: self.queue.add(key_of(o)))
        pods.add_handler(self._on_pod)

    def _on_pod(self, typ: str, pod: Obj, old: Obj | None) -> None:
        ref = controller_ref(pod)
        if ref and ref.get("kind") == "ReplicaSet":
            self.queue.add((pod["metadata"].get("namespace", ""), ref["name"]))

    def run(self) -> None:
        process(self.queue, self.sync, "replicaset", log)

    def _owned_pods(self, rs: Obj) -> list[Obj]:
        now = time.monotonic()
        self._deleted = {u: t for u, t in self._deleted.items() if now - t < TOMBSTONE_SECONDS}
        return [p for p in self.pods.list(rs["metadata"]["namespace"])
                if is_controlled_by(p, rs) and pod_is_active(p)
                and p["metadata"].get("uid") not in self._deleted]

    def sync(self, key: Key) -> None:
        rs = self.replicasets.get(key)
        if rs is None or is_terminating(rs):
            return
        self._adopt_orphans(rs)
        pods = self._owned_pods(rs)
        diff = len(pods) - rs_replicas(rs)
        if diff < 0:
            for _ in range(-diff):
                pods.append(self._create_pod(rs))
        elif diff > 0:
            for p in deletion_order(pods)[:diff]:
                self._delete_pod(rs, p)
            pods = self._owned_pods(rs)
        self._write_status(rs, pods)

    def _adopt_orphans(self, rs: Obj) -> None:
        matches = selector_matcher(rs["spec"].get("selector"))
        for p in self.pods.list(rs["metadata"]["namespace"]):
            md = p["metadata"]
            if md.get("ownerReferences") or not pod_is_active(p):
                continue
            if matches(md.get("labels") or {}):
                adopted = self.client.patch("v1", "Pod", md["name"],
                                            {"metadata": {"ownerReferences": [owner_ref_to(rs)]}},
                                            namespace=md["namespace"])
                self.pods.write_through(adopted)
                log.info("replicaset %s adopted pod %s", rs["metadata"]["name"], md["name"])

    def _create_pod(self, rs: Obj) -> Obj:
        extra = self.labeler(rs, rs["spec"].get("template") or {}) if self.labeler else {}
        for _ in range(5):
            pod = pod_from_template(rs, pod_name(rs["metadata"]["name"]), extra)
            try:
                created = self.client.create(pod, namespace=rs["metadata"]["namespace"])
                break
            except AlreadyExists:
                continue
        else:
            raise ApiError(409, "AlreadyExists", "could not find a free pod name")
        self.pods.write_through(created)
        name = created["metadata"]["name"]
        log.info("replicaset %s/%s: created pod %s", rs["metadata"]["namespace"],
                 rs["metadata"]["name"], name)
        self.events.emit(rs, "Normal", "SuccessfulCreate", f"Created pod: {name}", COMPONENT)
        return created

    def _delete_pod(self, rs: Obj, pod: Obj) -> None:
        md = pod["metadata"]
        self._deleted[md["uid"]] = time.monotonic()
        self.client.delete("v1", "Pod", md["name"], md["namespace"])
        log.info("replicaset %s/%s: deleted pod %s", md["namespace"], rs["metadata"]["name"],
                 md["name"])
        self.events.emit(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {md['name']}",
                          COMPONENT)

    def _write_status(self, rs: Obj, pods: list[Obj]) -> None:
        now = time.time()
        status = replicaset_status(rs, pods, now, self.scale)
        old = rs.get("status") or {}
        min_ready = int(rs["spec"].get("minReadySeconds") or 0)
        if min_ready and status["readyReplicas"] > status["availableReplicas"]:
            # re-check when minReadySeconds has passed (timestamps have whole seconds)
            self.queue.add_after(key_of(rs), max(0.1, min(1.0, min_ready * self.scale / 4)))
        if not status_changed(old, status):
            return
        md = rs["metadata"]
        patched = self.client.patch_status("apps/v1", "ReplicaSet", md["name"],
                                           {"status": status_patch(old, status)},
                                           namespace=md["namespace"])
        self.replicasets.write_through(patched)
