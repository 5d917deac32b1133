"""The deployment controller's arithmetic, free of I/O so every rule can be unit-tested.

Mirrors kubernetes/pkg/controller/deployment (sync.go, rolling.go, util/deployment_util.go):
pod-template-hash, maxSurge/maxUnavailable fenceposts, how far to scale the new and old
ReplicaSets, and the status + conditions the controller writes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .objects import Obj, annotations_of, int_or_percent, parse_rfc3339, rfc3339

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"

# Progressing condition reasons (deployment_util.go)
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


def safe_encode(text: str) -> str:
    return "".join(_SAFE_ALPHABET[ord(ch) % len(_SAFE_ALPHABET)] for ch in text)


def pod_template_hash(template: Obj, collision_count: int | None = None) -> str:
    """A stable short hash of a pod template, shaped like Kubernetes' (e.g. ``7d9c8b6f5``).

    FNV-32a over a canonical rendering of the template, then rendered in decimal and mapped
    onto the same safe alphabet Kubernetes uses. The template's own pod-template-hash label is
    ignored so the hash of a ReplicaSet's template equals its Deployment's.
    """
    data = json.dumps(_strip_hash(template), sort_keys=True, separators=(",", ":")).encode()
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    if collision_count:
        for b in collision_count.to_bytes(4, "little"):
            h ^= b
            h = (h * 0x01000193) & 0xFFFFFFFF
    return safe_encode(str(h))


def _prune(value: Any) -> Any:
    """Drop nulls and empty maps/lists: Kubernetes' semantic equality treats them as unset
    (``kubectl rollout undo`` sends ``creationTimestamp: null`` in the template)."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _strip_hash(template: Obj) -> Obj:
    t = _prune(copy.deepcopy(template or {}))
    labels = t.get("metadata", {}).get("labels")
    if labels and HASH_LABEL in labels:
        del labels[HASH_LABEL]
        if not labels:
            del t["metadata"]["labels"]
    if "metadata" in t and not t["metadata"]:
        del t["metadata"]
    return t


def templates_equal(a: Obj, b: Obj) -> bool:
    """EqualIgnoreHash: the two templates differ at most in their pod-template-hash label."""
    return _strip_hash(a) == _strip_hash(b)


# -- spec with defaults ---------------------------------------------------------------------

def spec_replicas(d: Obj) -> int:
    r = d.get("spec", {}).get("replicas")
    return 1 if r is None else int(r)


def strategy_type(d: Obj) -> str:
    return (d.get("spec", {}).get("strategy") or {}).get("type") or "RollingUpdate"


def progress_deadline(d: Obj) -> float | None:
    v = d.get("spec", {}).get("progressDeadlineSeconds")
    if v is None:
        return 600.0
    if int(v) >= 2**31 - 1:
        return None  # MaxInt32 means "no deadline"
    return float(v)


def revision_history_limit(d: Obj) -> int:
    v = d.get("spec", {}).get("revisionHistoryLimit")
    return 10 if v is None else int(v)


def resolve_fenceposts(d: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as absolute numbers: surge rounds up, unavailable down.

    Both zero is not allowed to stall a rollout, so maxUnavailable becomes 1 then (as k8s).
    """
    if strategy_type(d) != "RollingUpdate":
        return 0, 0
    ru = (d.get("spec", {}).get("strategy") or {}).get("rollingUpdate") or {}
    desired = spec_replicas(d)
    surge = int_or_percent(ru.get("maxSurge", "25%"), desired, round_up=True)
    unavailable = int_or_percent(ru.get("maxUnavailable", "25%"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_unavailable(d: Obj) -> int:
    if strategy_type(d) != "RollingUpdate" or spec_replicas(d) == 0:
        return 0
    _, unavailable = resolve_fenceposts(d)
    return min(unavailable, spec_replicas(d))


def max_surge(d: Obj) -> int:
    if strategy_type(d) != "RollingUpdate":
        return 0
    return resolve_fenceposts(d)[0]


# -- ReplicaSet numbers ---------------------------------------------------------------------

def rs_replicas(rs: Obj) -> int:
    return int(rs.get("spec", {}).get("replicas") or 0)


def rs_status(rs: Obj, field: str) -> int:
    return int(rs.get("status", {}).get(field) or 0)


def revision_of(obj: Obj) -> int:
    try:
        return int(annotations_of(obj).get(REVISION, "0"))
    except ValueError:
        return 0


def by_creation(rss: list[Obj]) -> list[Obj]:
    return sorted(rss, key=lambda r: (r["metadata"].get("creationTimestamp") or "",
                                      r["metadata"].get("name")))


def new_rs_replicas(d: Obj, all_rss: list[Obj], new_rs: Obj | None) -> int:
    """How many replicas the new ReplicaSet should have now (NewRSNewReplicas)."""
    desired = spec_replicas(d)
    current_new = rs_replicas(new_rs) if new_rs else 0
    if strategy_type(d) != "RollingUpdate":
        return desired
    if current_new >= desired:
        return current_new
    surge, _ = resolve_fenceposts(d)
    current_total = sum(rs_replicas(r) for r in all_rss)
    max_total = desired + surge
    if current_total >= max_total:
        return current_new
    scale_up = min(max_total - current_total, desired - current_new)
    return current_new + scale_up


def old_rs_scale_down(d: Obj, all_rss: list[Obj], old_rss: list[Obj],
                      new_rs: Obj | None) -> dict[str, int]:
    """New replica counts for old ReplicaSets in a rolling update (reconcileOldReplicaSets).

    Returns {rs name: new replicas} for the sets that shrink.
    """
    old_pods = sum(rs_replicas(r) for r in old_rss)
    if old_pods == 0:
        return {}
    all_pods = sum(rs_replicas(r) for r in all_rss)
    min_available = spec_replicas(d) - max_unavailable(d)
    new_unavailable = (rs_replicas(new_rs) - rs_status(new_rs, "availableReplicas")) if new_rs \
        else 0
    max_scaled_down = all_pods - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    plan: dict[str, int] = {}
    # first remove old pods that are not available anyway (cleanupUnhealthyReplicas)
    cleaned = 0
    for rs in by_creation(old_rss):
        if cleaned >= max_scaled_down:
            break
        cur = rs_replicas(rs)
        unhealthy = cur - rs_status(rs, "availableReplicas")
        if cur == 0 or unhealthy <= 0:
            continue
        n = min(max_scaled_down - cleaned, unhealthy)
        plan[rs["metadata"]["name"]] = cur - n
        cleaned += n
    # then scale down healthy old pods while keeping minAvailable
    available = sum(rs_status(r, "availableReplicas") for r in all_rss)
    if available <= min_available:
        return plan
    total = min(available - min_available, max_scaled_down - cleaned)
    done = 0
    for rs in by_creation(old_rss):
        if done >= total:
            break
        name = rs["metadata"]["name"]
        cur = plan.get(name, rs_replicas(rs))
        if cur == 0:
            continue
        n = min(cur, total - done)
        plan[name] = cur - n
        done += n
    return plan


def cleanable_old_rss(d: Obj, old_rss: list[Obj]) -> list[Obj]:
    """Old ReplicaSets beyond revisionHistoryLimit that are empty and can be deleted."""
    alive = [r for r in old_rss if not r["metadata"].get("deletionTimestamp")]
    diff = len(alive) - revision_history_limit(d)
    if diff <= 0:
        return []
    out = []
    for rs in sorted(alive, key=lambda r: (revision_of(r), r["metadata"].get("name")))[:diff]:
        if rs_status(rs, "replicas") or rs_replicas(rs):
            continue
        if int(rs["metadata"].get("generation") or 0) > rs_status(rs, "observedGeneration"):
            continue
        out.append(rs)
    return out


# -- status ----------------------------------------------------------------------------------

def condition(type_: str, status: str, reason: str, message: str, now: float) -> Obj:
    ts = rfc3339(now)
    return {"type": type_, "status": status, "lastUpdateTime": ts, "lastTransitionTime": ts,
            "reason": reason, "message": message}


def get_condition(status: Obj, type_: str) -> Obj | None:
    for c in status.get("conditions") or []:
        if c.get("type") == type_:
            return c
    return None


def set_condition(status: Obj, cond: Obj) -> None:
    """SetDeploymentCondition: no-op when status and reason are unchanged."""
    cur = get_condition(status, cond["type"])
    if cur is not None and cur.get("status") == cond["status"] \
            and cur.get("reason") == cond["reason"]:
        return
    if cur is not None and cur.get("status") == cond["status"]:
        cond = dict(cond, lastTransitionTime=cur.get("lastTransitionTime"))
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: Obj, type_: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != type_]


def calculate_status(d: Obj, all_rss: list[Obj], new_rs: Obj | None, now: float) -> Obj:
    available = sum(rs_status(r, "availableReplicas") for r in all_rss)
    total = sum(rs_replicas(r) for r in all_rss)
    old = d.get("status") or {}
    status: Obj = {
        "observedGeneration": int(d["metadata"].get("generation") or 0),
        "replicas": sum(rs_status(r, "replicas") for r in all_rss),
        "updatedReplicas": rs_status(new_rs, "replicas") if new_rs else 0,
        "readyReplicas": sum(rs_status(r, "readyReplicas") for r in all_rss),
        "availableReplicas": available,
        "unavailableReplicas": max(0, total - available),
        "conditions": copy.deepcopy(old.get("conditions") or []),
    }
    if old.get("collisionCount"):
        status["collisionCount"] = old["collisionCount"]
    if available >= spec_replicas(d) - max_unavailable(d):
        set_condition(status, condition("Available", "True", MIN_AVAILABLE,
                                        "Deployment has minimum availability.", now))
    else:
        set_condition(status, condition("Available", "False", MIN_UNAVAILABLE,
                                         "Deployment does not have minimum availability.", now))
    return status


def deployment_complete(d: Obj, status: Obj) -> bool:
    want = spec_replicas(d)
    return (status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and status.get("observedGeneration", 0) >= int(d["metadata"].get("generation") or 0))


def deployment_progressing(d: Obj, status: Obj) -> bool:
    old = d.get("status") or {}

    def g(s: Obj, f: str) -> int:
        return int(s.get(f) or 0)

    old_old = g(old, "replicas") - g(old, "updatedReplicas")
    new_old = g(status, "replicas") - g(status, "updatedReplicas")
    return (g(status, "updatedReplicas") > g(old, "updatedReplicas") or new_old < old_old
            or g(status, "readyReplicas") > g(old, "readyReplicas")
            or g(status, "availableReplicas") > g(old, "availableReplicas"))


def timed_out(d: Obj, status: Obj, now: float, scale: float,
              precise_update_time: float | None = None) -> bool:
    deadline = progress_deadline(d)
    cond = get_condition(status, "Progressing")
    if deadline is None or cond is None:
        return False
    if cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = precise_update_time or parse_rfc3339(cond.get("lastUpdateTime"))
    if since is None:
        return False
    return since + deadline * scale < now


def rollout_status(d: Obj, all_rss: list[Obj], new_rs: Obj | None, now: float, scale: float,
                   precise_update_time: float | None = None) -> Obj:
    """syncRolloutStatus: the status the controller writes, incl. the Progressing condition."""
    status = calculate_status(d, all_rss, new_rs, now)
    if progress_deadline(d) is None:
        remove_condition(status, "Progressing")
        return status
    cur = get_condition(d.get("status") or {}, "Progressing")
    complete_before = (status["replicas"] == status["updatedReplicas"] and cur is not None
                       and cur.get("reason") == NEW_RS_AVAILABLE)
    if complete_before:
        return status
    what = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs \
        else f'Deployment "{d["metadata"]["name"]}"'
    if deployment_complete(d, status):
        set_condition(status, condition("Progressing", "True", NEW_RS_AVAILABLE,
                                        f"{what} has successfully progressed.", now))
    elif deployment_progressing(d, status):
        cond = condition("Progressing", "True", RS_UPDATED, f"{what} is progressing.", now)
        if cur is not None:
            if cur.get("status") == "True":
                cond["lastTransitionTime"] = cur.get("lastTransitionTime")
            remove_condition(status, "Progressing")
        status.setdefault("conditions", []).append(cond)
    elif timed_out(d, status, now, scale, precise_update_time):
        set_condition(status, condition("Progressing", "False", TIMED_OUT,
                                        f"{what} has timed out progressing.", now))
    return status


def status_changed(old: Obj | None, new: Obj) -> bool:
    return _normal(old or {}) != _normal(new)


def _normal(status: Obj) -> Any:
    return {k: v for k, v in status.items() if v not in (0, None, [], {})}


def status_patch(old: Obj | None, new: Obj) -> Obj:
    """A merge patch turning ``old`` into ``new``; zero counts are omitted as Go omits them."""
    patch: Obj = {}
    for k, v in new.items():
        patch[k] = None if v in (0, None) else v
    for k in (old or {}):
        if k not in patch:
            patch[k] = None
    return patch


# -- scaling events (sync.go scale) ---------------------------------------------------------

def desired_annotation(rs: Obj) -> int | None:
    try:
        return int(annotations_of(rs)[DESIRED_REPLICAS])
    except (KeyError, ValueError):
        return None


def is_scaling_event(d: Obj, rss: list[Obj]) -> bool:
    """spec.replicas changed since the active ReplicaSets were last sized (desired-replicas)."""
    for rs in rss:
        if rs_replicas(rs) == 0:
            continue
        desired = desired_annotation(rs)
        if desired is not None and desired != spec_replicas(d):
            return True
    return False


def _round_half_away(x: float) -> int:
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def scale_plan(d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> dict[str, int]:
    """Target sizes when the Deployment is resized: one active set takes it all, otherwise
    the change is shared proportionally (rounded, leftovers to the largest set)."""
    want = spec_replicas(d)
    olds_newest_first = by_creation(old_rss)[::-1]
    active = [r for r in olds_newest_first + ([new_rs] if new_rs else []) if rs_replicas(r) > 0]
    if len(active) <= 1:
        target = active[0] if active else (new_rs or (olds_newest_first[0]
                                                       if olds_newest_first else None))
        if target is None or rs_replicas(target) == want:
            return {}
        return {target["metadata"]["name"]: want}
    if new_rs is not None and rs_replicas(new_rs) == want and desired_annotation(new_rs) == want \
            and rs_status(new_rs, "availableReplicas") == want:
        return {r["metadata"]["name"]: 0 for r in old_rss if rs_replicas(r)}
    if strategy_type(d) != "RollingUpdate":
        return {}
    total = sum(rs_replicas(r) for r in active)
    allowed = want + max_surge(d) if want > 0 else 0
    to_add = allowed - total
    if to_add == 0:
        return {}
    created = {id(r): i for i, r in enumerate(by_creation(active))}
    if to_add > 0:  # largest first, newer first among equals
        active.sort(key=lambda r: (-rs_replicas(r), -created[id(r)]))
    else:  # largest first, older first among equals
        active.sort(key=lambda r: (-rs_replicas(r), created[id(r)]))
    sizes: dict[str, int] = {}
    added = 0
    for rs in active:
        cur = rs_replicas(rs)
        prop = 0
        if cur and to_add != added:
            if want == 0:
                fraction = -cur
            else:
                annotated = _max_replicas_annotation(rs) or int(
                    (d.get("status") or {}).get("replicas") or 0) or total
                fraction = _round_half_away(cur * (want + max_surge(d)) / annotated) - cur
            allowed_now = to_add - added
            prop = min(fraction, allowed_now) if to_add > 0 else max(fraction, allowed_now)
        sizes[rs["metadata"]["name"]] = cur + prop
        added += prop
    first = active[0]["metadata"]["name"]
    sizes[first] = max(0, sizes[first] + to_add - added)
    return {n: s for n, s in sizes.items()}


def _max_replicas_annotation(rs: Obj) -> int | None:
    try:
        return int(annotations_of(rs)[MAX_REPLICAS])
    except (KeyError, ValueError):
        return None
