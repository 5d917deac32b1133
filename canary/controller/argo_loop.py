"""The reconcile loop for Argo Rollouts (``argoproj.io/v1alpha1`` ``Rollout``, canary strategy).

Each pass reads the Rollouts it is given and their ReplicaSets, asks the pure engine
(:func:`canary.engine.argo.reconcile`) what to do, performs the actions (ReplicaSets, Service
selectors, HTTPRoute weights), writes the status with optimistic concurrency and then records the
events. All state lives in the Rollout's status and the ReplicaSets' annotations, so the loop
can be killed and restarted at any moment.

A work queue of Rollouts, as Argo's controller has (rollout/controller.go enqueues a Rollout for
its own events and for its ReplicaSets' and AnalysisRuns' through their ownerReferences): a
watch event reconciles only the Rollout it concerns, a requeue hint (timed pause, scale-down
deadline, analysis interval) only its own Rollout at its own time, and every RESYNC seconds all
of them. One engine serves a cluster's Rollouts without a pass over all of them per event.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from typing import Any

from canary.clock import Clock
from canary.controller.argo_analysis import AnalysisRuns, run_observations
from canary.controller.argo_drill import WriteDrill
from canary.controller.logs import Outage
from canary.controller.metrics_registry import EngineMetrics
from canary.engine import argo
from canary.engine.types import Event
from canary.kube.cache import shared_informer
from canary.kube.client import (
    AlreadyExists,
    ApiError,
    ApiUnavailable,
    Conflict,
    KubeClient,
    NotFound,
    Obj,
)
from canary.kube.events import EventRecorder
from canary.kube.status import write_status
from canary.router.argo_gatewayapi import GatewayRouter
from canary.spec.rollout import (
    HASH_LABEL,
    MANAGED_BY_ANNOTATION,
    REVISION_ANNOTATION,
    SCALE_DOWN_ANNOTATION,
    RolloutSpec,
    parse_rollout,
)

API = "argoproj.io/v1alpha1"
COMPONENT = "rollouts-controller"
RESYNC = 30.0  # spec seconds between full passes when nothing wakes the loop
RETRY = 2.0  # spec seconds before retrying after an API error

Key = tuple[str, str]  # (namespace, name) of a Rollout


class RolloutController:
    def __init__(self, client: KubeClient, clock: Clock, namespace: str | None,
                 log: logging.Logger,
                 resolve_url: Callable[[str, str | None], str] | None = None,
                 metrics_server: str | None = None,
                 metrics: EngineMetrics | None = None) -> None:
        self.client = client
        self.metrics = metrics
        self.clock = clock
        self.namespace = namespace
        self.log = log
        self.recorder = EventRecorder(client, COMPONENT, clock.now)
        self.router = GatewayRouter(client)
        self.analysis = AnalysisRuns(client, clock, self.recorder, log, resolve_url,
                                     metrics_server)
        self._wake = threading.Event()
        self._queue_lock = threading.Lock()
        self._queued: set[Key] = set()  # Rollouts a watch event named since the last pass
        self._due: dict[Key, float] = {}  # requeue hints, in clock.monotonic() seconds
        self._full_due = 0.0  # when every Rollout is reconciled again (resync)
        self.outage = Outage(self.log)
        self._missing_crd_logged = False
        self._known: set[str] = set()  # Rollout uids this process has seen
        self.drill = WriteDrill()  # test-only kill switch (argo_drill.py); inert when unset

    # -- loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        threading.Thread(target=self._relay_stop, args=(stop,), daemon=True,
                         name="rollouts-stop").start()
        # Watches name the Rollout to reconcile (each pass reads what it acts on from the
        # cache); they resume from the last resourceVersion, so a quiet cluster costs nothing.
        for kind, api in (("Rollout", API), ("ReplicaSet", "apps/v1"), ("AnalysisRun", API)):
            inf = shared_informer(self.client, api, kind, stop, self.namespace, watch_timeout=20)
            owner = _key if kind == "Rollout" else _owner_rollout
            inf.add_handler(lambda _t, obj, _old, owner=owner: self._enqueue(owner(obj)))
        while not stop.is_set():
            self._wake.clear()
            keys = self._take()
            try:
                self.reconcile_all(keys)
                self.outage.ok()
            except ApiUnavailable as e:
                self.outage.failed(e)
                self._retry(keys)
            except ApiError as e:
                self.log.warning("rollouts: %s", e)
                self._retry(keys)
            except Exception:  # noqa: BLE001 - one bad pass must not kill the engine thread
                self.log.exception("rollouts: reconcile pass failed")
                self._retry(keys)
            if stop.is_set():
                break
            self.clock.wait(self._wake, self._until_next())

    def _relay_stop(self, stop: threading.Event) -> None:
        stop.wait()
        self._wake.set()

    # -- the queue ----------------------------------------------------------------------------

    def _enqueue(self, key: Key | None) -> None:
        if key is None:
            return
        with self._queue_lock:
            self._queued.add(key)
        self._wake.set()

    def _take(self) -> set[Key] | None:
        """The Rollouts to reconcile now: those named by events or due; None means all."""
        now = self.clock.monotonic()
        with self._queue_lock:
            if now >= self._full_due:
                self._queued.clear()
                self._due.clear()
                self._full_due = now + self.clock.scaled(RESYNC)
                return None
            due = {k: t for k, t in self._due.items() if t <= now}
            keys = self._queued | set(due)
            self._queued.clear()
            for k in due:
                del self._due[k]
            waiting = len(self._due)
        if self.metrics:
            for t in due.values():
                self.metrics.lateness.labels("argo").observe(now - t)
            self.metrics.queue_depth.labels("argo").set(waiting)
        return keys

    def _requeue(self, key: Key, spec_seconds: float) -> None:
        at = self.clock.monotonic() + self.clock.scaled(max(spec_seconds, 0.0))
        with self._queue_lock:
            self._due[key] = min(at, self._due.get(key, at))

    def _retry(self, keys: set[Key] | None) -> None:
        if keys is None:
            with self._queue_lock:
                self._full_due = self.clock.monotonic() + self.clock.scaled(RETRY)
            return
        for k in keys:
            self._requeue(k, RETRY)

    def _until_next(self) -> float:
        """Spec seconds until the earliest requeue hint or the next resync."""
        with self._queue_lock:
            at = min([self._full_due, *self._due.values()])
        return max(0.0, (at - self.clock.monotonic()) / self.clock.scale)

    # -- one pass -----------------------------------------------------------------------------

    def reconcile_all(self, keys: set[Key] | None = None) -> None:
        """Reconcile the Rollouts ``keys`` names (None: every one) once; their requeue hints
        go into the queue."""
        try:
            if keys is None:
                rollouts = self.client.items(API, "Rollout", self.namespace)
            else:
                rollouts = [ro for ns, name in sorted(keys)
                            if (ro := self.client.get_or_none(API, "Rollout", name, ns))]
        except NotFound:
            if not self._missing_crd_logged:
                self.log.info("rollouts: %s Rollout not served (CRD not installed); waiting", API)
                self._missing_crd_logged = True
            self.client.forget_resources()
            with self._queue_lock:
                self._full_due = self.clock.monotonic() + self.clock.scaled(RESYNC / 3)
            return
        self._missing_crd_logged = False
        by_ns: dict[str, list[Obj]] = {}
        runs_by_ns: dict[str, list[Obj]] = {}
        for ro in rollouts:
            ns = ro["metadata"].get("namespace") or "default"
            if ns not in by_ns:
                by_ns[ns] = self.client.items("apps/v1", "ReplicaSet", ns)
                runs_by_ns[ns] = self._measure_runs(ns)
            self._added_to_informer(ro)
            try:
                due = self.reconcile(ro, by_ns[ns], runs_by_ns[ns])
            except Conflict:
                due = 0.0
            if due is not None:
                self._requeue(_key(ro), due)

    def _added_to_informer(self, ro: Obj) -> None:
        """Argo records RolloutAddedToInformer when a Rollout enters its informer cache, so
        once per Rollout per controller start (rollout/controller.go:253)."""
        md = ro["metadata"]
        uid = md.get("uid") or f"{md.get('namespace')}/{md.get('name')}"
        if uid in self._known:
            return
        self._known.add(uid)
        self.recorder.emit(ro, "Normal", "RolloutAddedToInformer",
                           f"Rollout resource added to informer: {md.get('namespace') or 'default'}"
                           f"/{md.get('name')}")

    def _measure_runs(self, ns: str) -> list[Obj]:
        """Measure the namespace's running AnalysisRuns (each run's next measurement requeues
        the Rollout that owns it); return them as they are now."""
        try:
            runs = self.client.items(API, "AnalysisRun", ns)
        except NotFound:
            return []  # AnalysisRun CRD not installed: no analysis
        measured = False
        for run in runs:
            if (run.get("status") or {}).get("phase") in argo.RUN_DONE:
                continue
            try:
                wait = self.analysis.reconcile(run)
            except Conflict:
                wait = 0.0
            measured = True
            owner = _owner_rollout(run)
            if wait is not None and owner is not None:
                self._requeue(owner, wait)
            elif wait is not None:  # a run of no Rollout: measured on a full pass
                with self._queue_lock:
                    at = self.clock.monotonic() + self.clock.scaled(wait)
                    self._full_due = min(self._full_due, at)
        if measured:
            runs = self.client.items(API, "AnalysisRun", ns)
        return runs

    def reconcile(self, ro: Obj, replicasets: list[Obj],
                  runs: list[Obj] | None = None) -> float | None:
        """One Rollout: decide, act, write status, record events. Returns the requeue hint."""
        if ro["metadata"].get("deletionTimestamp"):
            return None
        spec = parse_rollout(ro)
        if not spec.errors:
            spec.errors.extend(self.analysis.missing_templates(spec))
        uid = ro["metadata"].get("uid")
        owned = [rs for rs in replicasets if _owned_by(rs, uid)]
        obs = argo.Observations(
            now=self.clock.now(), replicasets=_observe(owned),
            generation=int(ro["metadata"].get("generation") or 0), scale=self.clock.scale,
            warnings=self._route_warnings(spec) if not spec.errors else {},
            analysis_runs=run_observations(runs or [], uid))
        decision = argo.reconcile(spec, ro.get("status") or {}, obs)
        events = list(decision.events)
        for action in _dedupe(decision.actions):
            if isinstance(action, argo.CreateAnalysisRun):
                events.extend(self.analysis.create(ro, spec, action,
                                                   decision.status.get("stableRS") or ""))
                continue
            if isinstance(action, argo.TerminateAnalysisRun):
                self.analysis.terminate(spec.namespace, action.name)
                continue
            events.extend(self._act(ro, spec, action))
        status = decision.status
        if status != (ro.get("status") or {}):
            if self._write_status(ro, status):
                self.drill.wrote(
                    f"status {spec.namespace}/{spec.name} stableRS={status.get('stableRS')} "
                    f"currentPodHash={status.get('currentPodHash')} "
                    f"step={status.get('currentStepIndex')} phase={status.get('phase')} "
                    f"aborted={bool(status.get('abortedAt'))}")
        for ev in events:
            self.recorder.emit(ro, ev.type, ev.reason, ev.message)
        if events:
            self.log.info("rollout %s/%s: %s", spec.namespace, spec.name,
                          "; ".join(e.message for e in events))
        return decision.requeue_after

    def _write_status(self, ro: Obj, status: dict[str, Any]) -> bool:
        # guarded: a pass decided on a stale read must not overwrite a newer status
        return write_status(self.client, ro, status, api_version=API, kind="Rollout",
                            guard=True)

    def _route_warnings(self, spec: RolloutSpec) -> dict[str, tuple[str, str]]:
        problems: list[str] = []
        for ref in spec.routes:
            got = self.router.get(ref)
            if got is not None:
                problems.extend(self.router.backend_problems(got[1]))
        if not problems:
            return {}
        return {"TrafficRoutingWarning": ("BackendPortMismatch", "; ".join(problems))}

    # -- actions ------------------------------------------------------------------------------

    def _act(self, ro: Obj, spec: RolloutSpec, action: argo.Action) -> list[Event]:
        ns = spec.namespace
        try:
            if isinstance(action, argo.CreateReplicaSet):
                self._create_rs(ro, spec, action)
            elif isinstance(action, argo.ScaleReplicaSet):
                deadline = (argo.rfc3339(action.scale_down_at)
                            if action.scale_down_at is not None else None)
                self.client.patch("apps/v1", "ReplicaSet", action.name, {
                    "metadata": {"annotations": {SCALE_DOWN_ANNOTATION: deadline}},
                    "spec": {"replicas": action.replicas}}, ns)
                self.drill.wrote(f"replicaset {ns}/{action.name} replicas={action.replicas}")
            elif isinstance(action, argo.DeleteReplicaSet):
                self.client.delete("apps/v1", "ReplicaSet", action.name, ns)
                self.drill.wrote(f"replicaset {ns}/{action.name} deleted")
            elif isinstance(action, argo.SetServiceSelector):
                return self._set_selector(spec, action)
            elif isinstance(action, argo.SetWeight):
                out = []
                for ref in spec.routes:
                    res = self.router.set_weight(ref, spec.canary_service, spec.stable_service,
                                                 action.canary_weight, set(spec.managed_routes))
                    if res.error:
                        out.append(Event("Warning", res.error, reason="TrafficRoutingError"))
                    elif res.changed:
                        self.drill.wrote(f"route {ref.namespace}/{ref.name} "
                                         f"canary={action.canary_weight}")
                return out
            elif isinstance(action, argo.SetHeaderRoute | argo.RemoveManagedRoutes):
                return self._managed_routes(spec, action)
        except NotFound as e:
            return [Event("Warning", f"{e.message or e}", reason="ReconcileError")]
        return []

    def _managed_routes(self, spec: RolloutSpec,
                        a: argo.SetHeaderRoute | argo.RemoveManagedRoutes) -> list[Event]:
        out = []
        for ref in spec.routes:
            if isinstance(a, argo.SetHeaderRoute):
                res = self.router.set_header_route(ref, spec.canary_service, spec.stable_service,
                                                   a.name, a.headers, set(spec.managed_routes))
            else:
                res = self.router.remove_managed_routes(ref, spec.canary_service,
                                                        set(spec.managed_routes))
            if res.error:
                out.append(Event("Warning", res.error, reason="TrafficRoutingError"))
        return out

    def _create_rs(self, ro: Obj, spec: RolloutSpec, a: argo.CreateReplicaSet) -> None:
        template = copy.deepcopy(spec.template)
        tmd = template.setdefault("metadata", {})
        tmd.setdefault("labels", {})[HASH_LABEL] = a.hash
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": a.name,
                "namespace": spec.namespace,
                "labels": dict(tmd["labels"]),
                "annotations": {REVISION_ANNOTATION: str(a.revision)},
                "ownerReferences": [{
                    "apiVersion": API, "kind": "Rollout", "name": spec.name,
                    "uid": ro["metadata"].get("uid", ""), "controller": True,
                    "blockOwnerDeletion": True}],
            },
            "spec": {
                "replicas": a.replicas,
                "selector": {"matchLabels": {**spec.selector, HASH_LABEL: a.hash}},
                "template": template,
            },
        }
        try:
            self.client.create(rs)
        except AlreadyExists:
            self.client.patch("apps/v1", "ReplicaSet", a.name,
                              {"spec": {"replicas": a.replicas}}, spec.namespace)
        self.drill.wrote(f"replicaset {spec.namespace}/{a.name} replicas={a.replicas}")

    def _set_selector(self, spec: RolloutSpec, a: argo.SetServiceSelector) -> list[Event]:
        svc = self.client.get_or_none("v1", "Service", a.service, spec.namespace)
        if svc is None:
            return [Event("Warning", f"Service {spec.namespace}/{a.service} not found (named by "
                                     f"spec.strategy.canary of Rollout {spec.name})",
                          reason="ServiceNotFound")]
        md = svc.get("metadata") or {}
        selector = (svc.get("spec") or {}).get("selector") or {}
        managed = (md.get("annotations") or {}).get(MANAGED_BY_ANNOTATION)
        if selector.get(HASH_LABEL) == a.hash and managed == spec.name:
            return []
        self.client.patch("v1", "Service", a.service, {
            "metadata": {"annotations": {MANAGED_BY_ANNOTATION: spec.name}},
            "spec": {"selector": {HASH_LABEL: a.hash}}}, spec.namespace)
        self.drill.wrote(f"service {spec.namespace}/{a.service} selects {a.hash}")
        return []


def _key(obj: Obj) -> Key:
    md = obj.get("metadata") or {}
    return (md.get("namespace") or "default", md.get("name") or "")


def _owner_rollout(obj: Obj) -> Key | None:
    """The Rollout a ReplicaSet or AnalysisRun belongs to (its controller ownerReference)."""
    md = obj.get("metadata") or {}
    for o in md.get("ownerReferences") or []:
        if o.get("kind") == "Rollout" and o.get("controller") and o.get("name"):
            return (md.get("namespace") or "default", o["name"])
    return None


def _owned_by(obj: Obj, uid: str | None) -> bool:
    return any(o.get("uid") == uid and o.get("controller")
               for o in obj["metadata"].get("ownerReferences") or [])


def _observe(replicasets: list[Obj]) -> dict[str, argo.ReplicaSetObs]:
    out: dict[str, argo.ReplicaSetObs] = {}
    for rs in replicasets:
        md = rs["metadata"]
        h = (md.get("labels") or {}).get(HASH_LABEL)
        if not h:
            continue
        ann = md.get("annotations") or {}
        st = rs.get("status") or {}
        try:
            revision = int(ann.get(REVISION_ANNOTATION, "0"))
        except ValueError:
            revision = 0
        out[h] = argo.ReplicaSetObs(
            name=md["name"], hash=h, revision=revision,
            replicas=int((rs.get("spec") or {}).get("replicas", 1)),
            ready=int(st.get("readyReplicas") or 0),
            available=int(st.get("availableReplicas") or 0),
            current=int(st.get("replicas") or 0),
            scale_down_at=argo.parse_time(ann.get(SCALE_DOWN_ANNOTATION)))
    return out


def _dedupe(actions: list[argo.Action]) -> list[argo.Action]:
    """Keep the last selector per Service and drop repeated weights and scales in a row."""
    last_selector: dict[str, int] = {}
    for i, a in enumerate(actions):
        if isinstance(a, argo.SetServiceSelector):
            last_selector[a.service] = i
    out: list[argo.Action] = []
    for i, a in enumerate(actions):
        if isinstance(a, argo.SetServiceSelector) and last_selector[a.service] != i:
            continue
        if out and a == out[-1]:
            continue
        if isinstance(a, argo.SetWeight):
            prev = next((p for p in reversed(out) if isinstance(p, argo.SetWeight)), None)
            if prev is not None and prev == a:
                continue
        out.append(a)
    return out
