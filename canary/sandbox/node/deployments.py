"""The deployment controller: Deployments -> ReplicaSets, and Deployment status.

Behaves as kubernetes/pkg/controller/deployment at the level kubectl shows: ReplicaSets named
``<deployment>-<pod-template-hash>``, revisions, RollingUpdate and Recreate, pause, history
cleanup, ScalingReplicaSet events and the status ``kubectl rollout status`` reads.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable

from canary.kube.client import (
    AlreadyExists,
    KubeClient,
)
from canary.kube.events import EventRecorder
from canary.kube.informer import Informer

from . import rollout as ro
from .objects import Key, Obj, is_controlled_by, is_terminating, key_of, owner_ref_to, rfc3339
from .selectors import selector_matcher
from .workqueue import WorkQueue, process

log = logging.getLogger("canary.node")

COMPONENT = "deployment-controller"
_SKIP_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", ro.REVISION,
                     "deployment.kubernetes.io/revision-history", ro.DESIRED_REPLICAS,
                     ro.MAX_REPLICAS)


class DeploymentController:
    def __init__(self, client: KubeClient, deployments: Informer, replicasets: Informer,
                 pods: Informer, events: EventRecorder, scale: float,
                 stop: threading.Event, mesh_labels: Callable[[Obj, str], dict[str, str]]
                 | None = None) -> None:
        self.client = client
        self.deployments = deployments
        self.replicasets = replicasets
        self.pods = pods
        self.events = events
        self.scale = scale
        self.stop = stop
        self.queue = WorkQueue("deployments")
        # exact times of the lastUpdateTime we wrote (the API keeps whole seconds only)
        self._precise: dict[tuple[str, str], float] = {}
        deployments.add_handler(lambda t, o, old: self.queue.add(key_of(o)))
        replicasets.add_handler(self._on_rs)

    def _on_rs(self, typ: str, rs: Obj, old: Obj | None) -> None:
        ref = next((r for r in rs["metadata"].get("ownerReferences") or []
                    if r.get("controller") and r.get("kind") == "Deployment"), None)
        if ref:
            self.queue.add((rs["metadata"].get("namespace", ""), ref["name"]))

    def run(self) -> None:
        process(self.queue, self.sync, "deployment", log)

    # -- sync --------------------------------------------------------------------------------

    def sync(self, key: Key) -> None:
        d = self.deployments.get(key)
        if d is None or is_terminating(d):
            return
        d = copy.deepcopy(d)
        d.setdefault("status", {})
        rss = [copy.deepcopy(r) for r in self.replicasets.list(key[0])
               if is_controlled_by(r, d) and not is_terminating(r)]
        self._adopt_orphans(d, rss)
        if self._check_paused_condition(d):
            return  # the status write brings us back
        if d["spec"].get("paused") or ro.is_scaling_event(d, rss):
            self._sync_scale(d, rss)
            return
        if ro.strategy_type(d) == "Recreate":
            self._rollout_recreate(d, rss)
        else:
            self._rollout_rolling(d, rss)

    def _adopt_orphans(self, d: Obj, rss: list[Obj]) -> None:
        matches = selector_matcher(d["spec"].get("selector"))
        for r in self.replicasets.list(d["metadata"]["namespace"]):
            md = r["metadata"]
            if md.get("ownerReferences") or is_terminating(r):
                continue
            if matches(md.get("labels") or {}):
                adopted = self.client.patch("apps/v1", "ReplicaSet", md["name"],
                                            {"metadata": {"ownerReferences": [owner_ref_to(d)]}},
                                            namespace=md["namespace"])
                log.info("deployment %s adopted replicaset %s", d["metadata"]["name"], md["name"])
                rss.append(adopted)

    def _split(self, d: Obj, rss: list[Obj]) -> tuple[Obj | None, list[Obj]]:
        tmpl = d["spec"].get("template") or {}
        news = ro.by_creation([r for r in rss if ro.templates_equal(r["spec"].get("template")
                                                                     or {}, tmpl)])
        new = news[0] if news else None
        return new, [r for r in rss if r is not new]

    def _rollout_rolling(self, d: Obj, rss: list[Obj]) -> None:
        new, old = self._split(d, rss)
        new = self._ensure_new_rs(d, new, old, rss)
        all_rss = old + ([new] if new else [])
        if new is None:
            self._sync_status(d, all_rss, None)
            return
        # scale the new ReplicaSet up (or down past the desired count)
        want = ro.new_rs_replicas(d, all_rss, new)
        if ro.spec_replicas(d) < ro.rs_replicas(new):
            want = ro.spec_replicas(d)
        if want != ro.rs_replicas(new):
            self._scale(d, new, want)
            self._sync_status(d, all_rss, new)
            return
        plan = ro.old_rs_scale_down(d, all_rss, old, new)
        if plan:
            for rs in old:
                n = plan.get(rs["metadata"]["name"])
                if n is not None and n != ro.rs_replicas(rs):
                    self._scale(d, rs, n)
            self._sync_status(d, all_rss, new)
            return
        status = ro.rollout_status(d, all_rss, new, time.time(), self.scale)
        if ro.deployment_complete(d, status):
            self._cleanup(d, old)
        self._sync_status(d, all_rss, new)

    def _rollout_recreate(self, d: Obj, rss: list[Obj]) -> None:
        new, old = self._split(d, rss)
        scaled = False
        for rs in old:
            if ro.rs_replicas(rs):
                self._scale(d, rs, 0)
                scaled = True
        if scaled or self._old_pods_running(old):
            self._sync_status(d, old + ([new] if new else []), new)
            return
        new = self._ensure_new_rs(d, new, old, rss)
        all_rss = old + ([new] if new else [])
        if new is not None and ro.rs_replicas(new) != ro.spec_replicas(d):
            self._scale(d, new, ro.spec_replicas(d))
        status = ro.rollout_status(d, all_rss, new, time.time(), self.scale)
        if ro.deployment_complete(d, status):
            self._cleanup(d, old)
        self._sync_status(d, all_rss, new)

    def _old_pods_running(self, old: list[Obj]) -> bool:
        if any(ro.rs_status(r, "replicas") for r in old):
            return True
        uids = {r["metadata"]["uid"] for r in old}
        for p in self.pods.list(old[0]["metadata"]["namespace"] if old else None):
            ref = next((r for r in p["metadata"].get("ownerReferences") or []
                        if r.get("controller")), None)
            if ref and ref.get("uid") in uids \
                    and p.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
                return True
        return False

    def _sync_scale(self, d: Obj, rss: list[Obj]) -> None:
        """A paused Deployment or a resize: size the ReplicaSets, no rollout progress."""
        new, old = self._split(d, rss)
        if new is not None:
            self._ensure_revision(d, new, old)
        plan = ro.scale_plan(d, new, old)
        want = ro.spec_replicas(d)
        for rs in rss:
            n = plan.get(rs["metadata"]["name"], ro.rs_replicas(rs))
            if n != ro.rs_replicas(rs) or (n and ro.desired_annotation(rs) != want):
                self._scale(d, rs, n)
        all_rss = old + ([new] if new else [])
        self._write_status(d, ro.calculate_status(d, all_rss, new, time.time()))

    def _check_paused_condition(self, d: Obj) -> bool:
        if ro.progress_deadline(d) is None:
            return False
        cond = ro.get_condition(d["status"], "Progressing")
        if cond is not None and cond.get("reason") == ro.TIMED_OUT:
            return False
        paused = bool(d["spec"].get("paused"))
        reason = cond.get("reason") if cond else None
        status = copy.deepcopy(d["status"])
        now = time.time()
        if paused and reason != ro.PAUSED:
            ro.set_condition(status, ro.condition("Progressing", "Unknown", ro.PAUSED,
                                                  "Deployment is paused", now))
        elif not paused and reason == ro.PAUSED:
            ro.set_condition(status, ro.condition("Progressing", "Unknown", ro.RESUMED,
                                                  "Deployment is resumed", now))
        else:
            return False
        self._write_status(d, status)
        return True

    # -- new ReplicaSet ----------------------------------------------------------------------

    def _ensure_revision(self, d: Obj, new: Obj, old: list[Obj]) -> int:
        want = max([ro.revision_of(r) for r in old] + [0]) + 1
        rev = ro.revision_of(new)
        if rev < want:  # a rollback to an old template makes it the newest revision again
            rev = want
            patched = self.client.patch("apps/v1", "ReplicaSet", new["metadata"]["name"],
                                        {"metadata": {"annotations": {ro.REVISION: str(rev)}}},
                                        namespace=new["metadata"]["namespace"])
            new["metadata"] = patched["metadata"]
            self.replicasets.write_through(patched)
        if ro.revision_of(d) != rev:
            patched = self.client.patch(
                "apps/v1", "Deployment", d["metadata"]["name"],
                {"metadata": {"annotations": {ro.REVISION: str(rev)}}},
                namespace=d["metadata"]["namespace"])
            d["metadata"]["annotations"] = patched["metadata"].get("annotations")
            d["metadata"]["resourceVersion"] = patched["metadata"].get("resourceVersion")
        return rev

    def _ensure_new_rs(self, d: Obj, new: Obj | None, old: list[Obj],
                       rss: list[Obj]) -> Obj | None:
        now = time.time()
        if new is not None:
            self._ensure_revision(d, new, old)
            if ro.get_condition(d["status"], "Progressing") is None \
                    and ro.progress_deadline(d) is not None:
                ro.set_condition(d["status"], ro.condition(
                    "Progressing", "True", ro.FOUND_NEW_RS,
                    f'Found new replica set "{new["metadata"]["name"]}"', now))
            return new
        md = d["metadata"]
        tmpl = copy.deepcopy(d["spec"].get("template") or {})
        collisions = int(d["status"].get("collisionCount") or 0)
        h = ro.pod_template_hash(tmpl, collisions or None)
        tmpl.setdefault("metadata", {}).setdefault("labels", {})[ro.HASH_LABEL] = h
        selector = copy.deepcopy(d["spec"].get("selector") or {})
        selector.setdefault("matchLabels", {})[ro.HASH_LABEL] = h
        revision = max([ro.revision_of(r) for r in old] + [0]) + 1
        annotations = {k: v for k, v in (md.get("annotations") or {}).items()
                       if k not in _SKIP_ANNOTATIONS}
        annotations[ro.REVISION] = str(revision)
        annotations[ro.DESIRED_REPLICAS] = str(ro.spec_replicas(d))
        annotations[ro.MAX_REPLICAS] = str(ro.spec_replicas(d) + ro.max_surge(d))
        count = ro.new_rs_replicas(d, old, None)
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{md['name']}-{h}", "namespace": md["namespace"],
                           "labels": dict(tmpl["metadata"]["labels"]),
                           "annotations": annotations, "ownerReferences": [owner_ref_to(d)]},
              "spec": {"replicas": count, "selector": selector, "template": tmpl,
                       "minReadySeconds": int(d["spec"].get("minReadySeconds") or 0)}}
        try:
            created = self.client.create(rs, namespace=md["namespace"])
        except AlreadyExists:
            existing = self.client.get_or_none("apps/v1", "ReplicaSet", rs["metadata"]["name"],
                                               md["namespace"])
            if existing and is_controlled_by(existing, d) and ro.templates_equal(
                    existing["spec"].get("template") or {}, tmpl):
                self.replicasets.write_through(existing)
                return existing
            # a hash collision with someone else's ReplicaSet: bump collisionCount and retry
            status = copy.deepcopy(d["status"])
            status["collisionCount"] = collisions + 1
            self._write_status(d, status)
            return None
        self.replicasets.write_through(created)
        log.info("deployment %s/%s: created replicaset %s (revision %d, %d replicas)",
                 md["namespace"], md["name"], created["metadata"]["name"], revision, count)
        if count > 0:
            self.events.emit(d, "Normal", "ScalingReplicaSet",
                              f"Scaled up replica set {created['metadata']['name']} to {count}",
                              COMPONENT)
        if ro.progress_deadline(d) is not None:
            cond = ro.condition("Progressing", "True", ro.NEW_RS_CREATED,
                                f'Created new replica set "{created["metadata"]["name"]}"', now)
            ro.set_condition(d["status"], cond)
            cur = ro.get_condition(d["status"], "Progressing")
            if cur is not None:
                self._precise[(md["uid"], cur["lastUpdateTime"])] = now
        if ro.revision_of(d) != revision:
            patched = self.client.patch("apps/v1", "Deployment", md["name"],
                                        {"metadata": {"annotations": {ro.REVISION: str(revision)}}},
                                        namespace=md["namespace"])
            md["annotations"] = patched["metadata"].get("annotations")
        rss.append(created)
        return created

    # -- scaling -----------------------------------------------------------------------------

    def _scale(self, d: Obj, rs: Obj, n: int) -> None:
        old = ro.rs_replicas(rs)
        md = rs["metadata"]
        patch = {"metadata": {"annotations": {
            ro.DESIRED_REPLICAS: str(ro.spec_replicas(d)),
            ro.MAX_REPLICAS: str(ro.spec_replicas(d) + ro.max_surge(d))}},
            "spec": {"replicas": n}}
        patched = self.client.patch("apps/v1", "ReplicaSet", md["name"], patch,
                                    namespace=md["namespace"])
        rs["spec"]["replicas"] = n
        rs["metadata"] = patched["metadata"]
        self.replicasets.write_through(patched)
        if old != n:
            direction = "up" if n > old else "down"
            log.info("deployment %s/%s: scaled %s replicaset %s %d -> %d", md["namespace"],
                     d["metadata"]["name"], direction, md["name"], old, n)
            self.events.emit(d, "Normal", "ScalingReplicaSet",
                              f"Scaled {direction} replica set {md['name']} to {n} from {old}",
                              COMPONENT)

    def _cleanup(self, d: Obj, old: list[Obj]) -> None:
        for rs in ro.cleanable_old_rss(d, old):
            md = rs["metadata"]
            log.info("deployment %s/%s: deleting old replicaset %s (revisionHistoryLimit %d)",
                     md["namespace"], d["metadata"]["name"], md["name"],
                     ro.revision_history_limit(d))
            self.client.delete("apps/v1", "ReplicaSet", md["name"], md["namespace"],
                               propagation="Background")

    # -- status ------------------------------------------------------------------------------

    def _sync_status(self, d: Obj, all_rss: list[Obj], new: Obj | None) -> None:
        now = time.time()
        cond = ro.get_condition(d["status"], "Progressing")
        precise = self._precise.get((d["metadata"]["uid"], cond.get("lastUpdateTime"))) \
            if cond else None
        status = ro.rollout_status(d, all_rss, new, now, self.scale, precise)
        self._write_status(d, status)
        self._requeue_stuck(d, status, now)

    def _requeue_stuck(self, d: Obj, status: Obj, now: float) -> None:
        deadline = ro.progress_deadline(d)
        cond = ro.get_condition(status, "Progressing")
        if deadline is None or cond is None or ro.deployment_complete(d, status):
            return
        if cond.get("reason") in (ro.TIMED_OUT, ro.NEW_RS_AVAILABLE, ro.PAUSED):
            return
        since = self._precise.get((d["metadata"]["uid"], cond.get("lastUpdateTime")))
        if since is None:
            since = ro.parse_rfc3339(cond.get("lastUpdateTime")) or now
        after = since + deadline * self.scale - now
        self.queue.add_after(key_of(d), max(0.05, after + 0.05))

    def _write_status(self, d: Obj, status: Obj) -> None:
        uid = d["metadata"]["uid"]
        old_cond = ro.get_condition(d.get("status") or {}, "Progressing")
        new_cond = ro.get_condition(status, "Progressing")
        if new_cond and (not old_cond
                         or old_cond.get("lastUpdateTime") != new_cond.get("lastUpdateTime")):
            if len(self._precise) > 10000:
                self._precise.clear()  # bounded memory; whole-second times are the fallback
            self._precise.setdefault((uid, new_cond["lastUpdateTime"]), time.time())
        original = self.deployments.get(key_of(d))
        original_status = (original or {}).get("status") or {}
        if not ro.status_changed(original_status, status):
            return
        md = d["metadata"]
        patched = self.client.patch_status("apps/v1", "Deployment", md["name"],
                                           {"status": ro.status_patch(original_status,
                                                                      status)},
                                           namespace=md["namespace"])
        self.deployments.write_through(patched)
        s = patched.get("status", {})
        log.info("deployment %s/%s status: gen %s/%s replicas %s updated %s ready %s "
                 "available %s%s", md["namespace"], md["name"], s.get("observedGeneration"),
                 md.get("generation"), s.get("replicas", 0), s.get("updatedReplicas", 0),
                 s.get("readyReplicas", 0), s.get("availableReplicas", 0),
                 "".join(f" {c['type']}={c['status']}({c.get('reason')})"
                         for c in s.get("conditions") or []))


__all__ = ["DeploymentController", "rfc3339"]
