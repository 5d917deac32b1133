"""The Argo Rollouts canary step walk as a pure decision function.

``reconcile(spec, status, obs)`` takes the parsed Rollout, its current ``status`` and what the
controller observed (the Rollout's ReplicaSets with readiness, the time) and returns the actions
to take plus the new status. No I/O here: the controller performs the actions, writes the
status and emits the events. The order and the strings follow Argo (``rollout/canary.go``,
``rollout/pause.go``, ``rollout/trafficrouting.go``, ``utils/conditions``).

Times in status are wall-clock timestamps; spec durations (pauses, scale-down delays) are
multiplied by ``obs.scale`` (the clock's time scale) before they are compared with them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from canary.clock import rfc3339 as clock_rfc3339
from canary.engine.argo_replicas import (
    RSCount,
    aborted_dynamic_weight,
    basic_canary_counts,
    canary_replicas_or_weight,
    max_surge,
    max_unavailable,
    set_canary_scale_in_force,
    traffic_routed_counts,
)
from canary.engine.types import Event
from canary.spec.analysis import RolloutAnalysis
from canary.spec.rollout import HeaderMatch, RolloutSpec, Step

CANARY_PAUSE = "CanaryPauseStep"
INCONCLUSIVE_PAUSE = "InconclusiveAnalysisRun"
BACKGROUND, STEP = "Background", "Step"  # the AnalysisRuns' rollout-type label values
RUN_STATUS_KEY = {BACKGROUND: "currentBackgroundAnalysisRunStatus",
                  STEP: "currentStepAnalysisRunStatus"}
RUN_DONE = ("Successful", "Failed", "Error", "Inconclusive")


# -- observations and actions ----------------------------------------------------------------


@dataclass
class ReplicaSetObs:
    name: str
    hash: str
    revision: int
    replicas: int  # spec.replicas
    ready: int = 0
    available: int = 0
    current: int = 0  # status.replicas (pods that exist)
    scale_down_at: float | None = None  # wall time from the scale-down-deadline annotation


@dataclass
class AnalysisRunObs:
    """An AnalysisRun the Rollout owns, as read from the API."""

    name: str
    kind: str  # Background | Step (label rollout-type)
    pod_hash: str
    step_index: int | None = None
    phase: str = ""
    message: str = ""
    terminate: bool = False


@dataclass
class Observations:
    now: float  # wall seconds since the epoch
    replicasets: dict[str, ReplicaSetObs] = field(default_factory=dict)  # by pod-template hash
    generation: int = 0
    scale: float = 1.0  # clock time scale: spec seconds * scale = wall seconds
    # condition type -> (reason, message) for problems found outside the spec (route checks)
    warnings: dict[str, tuple[str, str]] = field(default_factory=dict)
    analysis_runs: list[AnalysisRunObs] = field(default_factory=list)


@dataclass
class CreateAnalysisRun:
    name: str
    kind: str  # Background | Step
    pod_hash: str
    revision: int
    analysis: RolloutAnalysis
    step_index: int | None = None


@dataclass
class TerminateAnalysisRun:
    name: str


@dataclass
class CreateReplicaSet:
    name: str
    hash: str
    revision: int
    replicas: int


@dataclass
class ScaleReplicaSet:
    name: str
    replicas: int
    scale_down_at: float | None = None  # deadline annotation to set; None removes it


@dataclass
class DeleteReplicaSet:
    name: str


@dataclass
class SetServiceSelector:
    service: str
    hash: str


@dataclass
class SetWeight:
    canary_weight: int  # stable gets max_weight - canary_weight


@dataclass
class SetHeaderRoute:
    name: str  # a managedRoutes name
    headers: tuple[HeaderMatch, ...] | None  # None removes the managed routes


@dataclass
class SetMirrorRoute:
    name: str


@dataclass
class RemoveManagedRoutes:
    pass


Action = (CreateReplicaSet | ScaleReplicaSet | DeleteReplicaSet | SetServiceSelector | SetWeight
          | CreateAnalysisRun | TerminateAnalysisRun | SetHeaderRoute | SetMirrorRoute
          | RemoveManagedRoutes)


@dataclass
class Decision:
    status: dict[str, Any]
    actions: list[Action] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None  # spec seconds until something is due

    def requeue(self, spec_seconds: float) -> None:
        spec_seconds = max(0.0, spec_seconds)
        if self.requeue_after is None or spec_seconds < self.requeue_after:
            self.requeue_after = spec_seconds


# -- helpers ----------------------------------------------------------------------------------


rfc3339 = partial(clock_rfc3339, micro=True)  # time-scaled pauses are shorter than 1s


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def current_set_weight(spec: RolloutSpec, index: int, aborted: bool) -> int:
    """Argo's ``GetCurrentSetWeight``: the last setWeight at or before ``index``."""
    if aborted:
        return 0
    if index >= len(spec.steps):
        return spec.max_weight
    for step in reversed(spec.steps[: index + 1]):
        if step.kind == "setWeight" and step.weight is not None:
            return step.weight
    return 0


def previous_set_weight(spec: RolloutSpec, index: int) -> int:
    for step in reversed(spec.steps[:index]):
        if step.kind == "setWeight" and step.weight is not None:
            return step.weight
    return 0


def canary_scale_override(spec: RolloutSpec, index: int) -> dict[str, Any] | None:
    """The setCanaryScale in force at ``index`` (it persists until matchTrafficWeight)."""
    for step in reversed(spec.steps[: min(index, len(spec.steps) - 1) + 1]):
        if step.kind == "setCanaryScale" and step.scale is not None:
            return None if step.scale.get("matchTrafficWeight") else step.scale
    return None


def _rs_count(rs: ReplicaSetObs | None) -> RSCount | None:
    return None if rs is None else RSCount(rs.replicas, rs.available, rs.name)


def desired_counts(spec: RolloutSpec, status: dict[str, Any], index: int,
                   replicasets: dict[str, ReplicaSetObs]) -> tuple[int, int]:
    """(canary, stable) spec.replicas for this pass, as Argo's reconcileNewReplicaSet and
    reconcileCanaryStableReplicaSet ask for them (see engine/argo_replicas.py). A basic canary
    moves within maxSurge / maxUnavailable from the sets' current counts, so the answer
    changes pass by pass as pods become available."""
    cur, stable_h = spec.pod_hash, status.get("stableRS") or ""
    aborted = bool(status.get("abort"))
    new = _rs_count(replicasets.get(cur))
    stable = _rs_count(replicasets.get(stable_h)) if stable_h and stable_h != cur else None
    full = bool(status.get("promoteFull")) or not stable_h or stable_h == cur
    weight = current_set_weight(spec, index, aborted)
    if aborted and spec.dynamic_stable_scale and spec.traffic_routed:
        steps = [s.weight for s in spec.steps if s.kind == "setWeight" and s.weight is not None]
        dyn = aborted_dynamic_weight(spec.replicas, spec.max_weight, steps, new, stable,
                                     spec.abort_delay_explicit)
        if dyn is not None:
            weight = dyn
    scale = None
    if index < len(spec.steps):
        scale = set_canary_scale_in_force(canary_scale_override(spec, index),
                                          spec.traffic_routed, aborted,
                                          spec.abort_scale_down_delay)
    scale_replicas, weight = canary_replicas_or_weight(spec.max_weight, full, scale, weight)
    if spec.traffic_routed:
        w = ((status.get("canary") or {}).get("weights") or {})
        weights = None
        if w.get("canary") is not None and w.get("stable") is not None:
            weights = (int(w["canary"].get("weight") or 0), int(w["stable"].get("weight") or 0))
        return traffic_routed_counts(spec.replicas, weight, spec.max_weight,
                                     canary_scale_replicas=scale_replicas,
                                     dynamic_stable_scale=spec.dynamic_stable_scale,
                                     weights=weights, aborted=aborted,
                                     min_pods=spec.min_pods_per_replica_set)
    older = [_rs_count(rs) for h, rs in replicasets.items() if h not in (cur, stable_h)]
    return basic_canary_counts(
        spec.replicas, weight, spec.max_weight,
        max_surge(spec.max_surge, spec.max_unavailable, spec.replicas),
        max_unavailable(spec.max_surge, spec.max_unavailable, spec.replicas),
        new, stable, [o for o in older if o is not None])


def set_condition(status: dict[str, Any], ctype: str, cstatus: str, reason: str, message: str,
                  now: float) -> None:
    conds = status.setdefault("conditions", [])
    ts = rfc3339(now)
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != cstatus:
                c["lastTransitionTime"] = ts
            if (c.get("status"), c.get("reason"), c.get("message")) != (cstatus, reason, message):
                c["lastUpdateTime"] = ts
            c.update(status=cstatus, reason=reason, message=message)
            return
    conds.append({"type": ctype, "status": cstatus, "reason": reason, "message": message,
                  "lastUpdateTime": ts, "lastTransitionTime": ts})


def remove_condition(status: dict[str, Any], ctype: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


def get_condition(status: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    for c in status.get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def rollout_phase(status: dict[str, Any], spec_paused: bool = False,
                  generation: int | None = None,
                  desired_replicas: int | None = None,
                  traffic_routed: bool = True) -> tuple[str, str]:
    """Argo's ``CalculateRolloutPhase`` (first match wins) over a written status."""
    if generation is not None and status.get("observedGeneration") not in (None, str(generation)):
        return "Progressing", "waiting for rollout spec update to be observed"
    conds = status.get("conditions") or []
    for c in conds:
        if c.get("type") == "InvalidSpec" and c.get("status") == "True":
            return "Degraded", f"InvalidSpec: {c.get('message', '')}"
    for c in conds:
        if c.get("type") == "Progressing" and c.get("reason") in (
                "RolloutAborted", "ProgressDeadlineExceeded"):
            return "Degraded", f"{c['reason']}: {c.get('message', '')}"
    if spec_paused:
        return "Paused", "manually paused"
    pcs = status.get("pauseConditions") or []
    if pcs:
        return "Paused", str(pcs[0].get("reason", ""))
    if status.get("controllerPause") and not pcs:
        return "Progressing", "waiting for rollout to unpause"
    replicas = int(status.get("replicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    desired = replicas if desired_replicas is None else desired_replicas
    if updated < desired:
        return "Progressing", "more replicas need to be updated"
    if available < updated:
        return "Progressing", "updated replicas are still becoming available"
    if not traffic_routed and replicas > updated:
        return "Progressing", "old replicas are pending termination"
    if status.get("stableRS") != status.get("currentPodHash"):
        return "Progressing", "waiting for all steps to complete"
    return "Healthy", ""


# -- the decision ---------------------------------------------------------------------------


class _Ctx:
    def __init__(self, spec: RolloutSpec, status: dict[str, Any], obs: Observations) -> None:
        self.spec = spec
        self.old = status
        self.st = copy.deepcopy(status)
        self.obs = obs
        self.d = Decision(status=self.st)
        self.now = obs.now
        # ReplicaSets as they will be once this decision's actions are applied.
        self.rs = copy.deepcopy(obs.replicasets)
        self.late_events: list[Event] = []  # recorded with the status (after scaling)
        self.runs = {r.name: r for r in obs.analysis_runs}
        self.abort_message: str | None = None  # set when an analysis run failed
        self.retrying = False  # status.abort was just cleared: analysis starts afresh

    def event(self, reason: str, message: str, type_: str = "Normal") -> None:
        self.d.events.append(Event(type_, message, reason=reason))

    def rs_name(self, h: str) -> str:
        return f"{self.spec.name}-{h}"


def reconcile(spec: RolloutSpec, status: dict[str, Any] | None, obs: Observations) -> Decision:
    """Decide what to do for one Rollout. ``status`` is the Rollout's current status dict."""
    c = _Ctx(spec, dict(status or {}), obs)
    st = c.st
    for key in ("abort", "promoteFull", "controllerPause"):
        if key in st and not st[key]:
            del st[key]  # omitempty booleans, as Argo writes them
    _report_warnings(c)
    if spec.errors:
        msg = "; ".join(spec.errors)
        prev = get_condition(c.old, "InvalidSpec")
        if not prev or prev.get("message") != msg or prev.get("status") != "True":
            c.event("InvalidSpec", msg, "Warning")
        set_condition(st, "InvalidSpec", "True", "InvalidSpec", msg, c.now)
        st["observedGeneration"] = str(obs.generation)
        return _finish(c, touch_replicas=False)
    remove_condition(st, "InvalidSpec")

    cur = spec.pod_hash
    stable = st.get("stableRS")
    rss = obs.replicasets
    if not stable or stable not in rss:
        _initial_deploy(c)
    elif cur == stable:
        _fully_promoted(c)
    else:
        _update(c)
    _managed_routes_done(c)
    st["observedGeneration"] = str(obs.generation)
    return _finish(c)


def _report_warnings(c: _Ctx) -> None:
    found: dict[str, tuple[str, str]] = dict(c.obs.warnings)
    if c.spec.warnings:
        found["SpecWarning"] = ("UnknownField", "; ".join(c.spec.warnings))
    for ctype in ("SpecWarning", "TrafficRoutingWarning"):
        if ctype in found:
            reason, msg = found[ctype]
            prev = get_condition(c.old, ctype)
            if not prev or prev.get("message") != msg:
                c.event(reason, msg, "Warning")
            set_condition(c.st, ctype, "True", reason, msg, c.now)
        else:
            remove_condition(c.st, ctype)


def _revision_for(c: _Ctx, h: str) -> int:
    rs = c.rs.get(h)
    if rs is not None and rs.revision:
        return rs.revision
    return max([r.revision for r in c.rs.values()] + [0]) + 1


def _ensure_rs(c: _Ctx, h: str, replicas: int, deadline: float | None = None) -> None:
    """Create or scale the ReplicaSet for ``h`` to ``replicas``."""
    rs = c.rs.get(h)
    rev = _revision_for(c, h)
    name = c.rs_name(h)
    if rs is None:
        c.d.actions.append(CreateReplicaSet(name, h, rev, replicas))
        c.rs[h] = ReplicaSetObs(name, h, rev, replicas)
        c.event("NewReplicaSetCreated", f"Created ReplicaSet {name} (revision {rev})")
        if replicas > 0:
            c.event("ScalingReplicaSet",
                    f"Scaled up ReplicaSet {name} (revision {rev}) from 0 to {replicas}")
        return
    if rs.replicas != replicas or rs.scale_down_at != deadline:
        c.d.actions.append(ScaleReplicaSet(rs.name, replicas, deadline))
    if rs.replicas != replicas:
        verb = "up" if replicas > rs.replicas else "down"
        c.event("ScalingReplicaSet", f"Scaled {verb} ReplicaSet {rs.name} (revision {rev}) "
                                     f"from {rs.replicas} to {replicas}")
    rs.replicas, rs.scale_down_at = replicas, deadline


def _delay(spec: RolloutSpec) -> int:
    """scaleDownDelaySeconds applies with traffic routing only; a basic canary's old pods go
    at once."""
    return spec.scale_down_delay if spec.traffic_routed else 0


def _mark_deadline(c: _Ctx, rs: ReplicaSetObs, delay: int) -> None:
    rs.scale_down_at = c.now + delay * c.obs.scale
    c.d.actions.append(ScaleReplicaSet(rs.name, rs.replicas, rs.scale_down_at))
    c.d.requeue(delay)


def _scale_down_others(c: _Ctx, keep: set[str], delay: int) -> None:
    """Old ReplicaSets get a deadline ``delay`` spec seconds out and go to 0 when it passes."""
    for h, rs in c.rs.items():
        if h in keep or rs.replicas == 0:
            continue
        if rs.scale_down_at is None:
            if delay <= 0:
                _ensure_rs(c, h, 0)
            else:
                _mark_deadline(c, rs, delay)
        elif c.now >= rs.scale_down_at:
            _ensure_rs(c, h, 0)
        else:
            c.d.requeue((rs.scale_down_at - c.now) / c.obs.scale)


def _set_selectors(c: _Ctx, canary_hash: str, stable_hash: str) -> None:
    if c.spec.canary_service:
        c.d.actions.append(SetServiceSelector(c.spec.canary_service, canary_hash))
    if c.spec.stable_service:
        c.d.actions.append(SetServiceSelector(c.spec.stable_service, stable_hash))


def _set_weight(c: _Ctx, weight: int, canary_hash: str, stable_hash: str) -> None:
    """Write the route weight and ``status.canary.weights``; event on change."""
    if not c.spec.traffic_routed:
        (c.st.get("canary") or {}).pop("weights", None)  # Argo: nil without traffic routing
        return
    c.d.actions.append(SetWeight(weight))
    canary = c.st.setdefault("canary", {})
    prev = ((canary.get("weights") or {}).get("canary") or {}).get("weight")
    canary["weights"] = {
        "canary": {"weight": weight, "podTemplateHash": canary_hash,
                   "serviceName": c.spec.canary_service},
        "stable": {"weight": c.spec.max_weight - weight, "podTemplateHash": stable_hash,
                   "serviceName": c.spec.stable_service},
    }
    if prev != weight:
        msg = (f"Traffic weight updated to {weight}" if prev is None
               else f"Traffic weight updated from {prev} to {weight}")
        c.event("TrafficWeightUpdated", msg)


def _clear_pause(c: _Ctx, announce: bool = True) -> bool:
    """Drop the pause; True when the controller had paused (RolloutResumed is due)."""
    c.st.pop("pauseConditions", None)
    if c.st.pop("controllerPause", None):
        if announce:
            c.event("RolloutResumed", "Rollout is resumed")
        return True
    return False


def _promote_stable(c: _Ctx, reason: str) -> None:
    """Argo's ``promoteStable``: the current hash becomes stable."""
    st = c.st
    _clear_pause(c)
    st.pop("abort", None)
    st.pop("abortedAt", None)
    st.pop("promoteFull", None)
    n = len(c.spec.steps)
    if n:
        st["currentStepIndex"] = n
    else:
        st.pop("currentStepIndex", None)
    rev = _revision_for(c, c.spec.pod_hash)
    if st.get("stableRS") != c.spec.pod_hash:
        msg = f"Rollout completed update to revision {rev} ({c.spec.pod_hash}): {reason}"
        c.event("RolloutCompleted", msg)
        st["_completedMessage"] = msg
    st["stableRS"] = c.spec.pod_hash


def _initial_deploy(c: _Ctx) -> None:
    spec, st = c.spec, c.st
    h = spec.pod_hash
    rev = _revision_for(c, h)
    if not st.get("currentPodHash"):
        c.event("RolloutUpdated", f"Rollout updated to revision {rev}")
    st["currentPodHash"] = h
    st["currentStepHash"] = spec.steps_hash
    if h not in c.rs:
        # Argo creates a new ReplicaSet at 0 and scales it on the next pass
        # (rollout/sync.go createDesiredReplicaSet), so RolloutNotCompleted comes between.
        _ensure_rs(c, h, 0)
        set_condition(st, "Progressing", "True", "ReplicaSetUpdated",
                      f'ReplicaSet "{c.rs_name(h)}" is progressing.', c.now)
        return
    _ensure_rs(c, h, spec.replicas)
    _scale_down_others(c, {h}, _delay(spec))
    _promote_stable(c, "Initial deploy")
    _set_selectors(c, h, h)
    _set_weight(c, 0, h, h)
    _clear_run_status(c)
    _cancel_runs(c, keep=set())


def _fully_promoted(c: _Ctx) -> None:
    spec, st = c.spec, c.st
    h = spec.pod_hash
    if st.get("currentPodHash") != h:
        # The template went back to the stable revision: fast-track, no steps (Argo too).
        st["currentPodHash"] = h
        c.event("RolloutUpdated", f"Rollout updated to revision {_revision_for(c, h)}")
    st["currentStepHash"] = spec.steps_hash
    _promote_stable(c, "")
    _ensure_rs(c, h, spec.replicas)
    _scale_down_others(c, {h}, _delay(spec))
    _set_selectors(c, h, h)
    _set_weight(c, 0, h, h)
    _clear_run_status(c)
    _cancel_runs(c, keep=set())


def _update(c: _Ctx) -> None:
    spec, st = c.spec, c.st
    cur, stable = spec.pod_hash, st["stableRS"]
    n = len(spec.steps)
    rev = _revision_for(c, cur)
    if st.get("currentPodHash") != cur or st.get("currentStepHash") != spec.steps_hash:
        # A new revision (or new steps): Argo's resetRolloutStatus.
        new_template = st.get("currentPodHash") != cur
        st["currentPodHash"] = cur
        st["currentStepHash"] = spec.steps_hash
        st.pop("pauseConditions", None)
        st.pop("controllerPause", None)
        st.pop("abort", None)
        st.pop("abortedAt", None)
        st.pop("promoteFull", None)
        for key in RUN_STATUS_KEY.values():
            (st.get("canary") or {}).pop(key, None)
        st["currentStepIndex"] = 0
        if new_template:
            c.event("RolloutUpdated", f"Rollout updated to revision {rev}")
        set_condition(st, "Progressing", "True", "ReplicaSetUpdated",
                      f'ReplicaSet "{c.rs_name(cur)}" is progressing.', c.now)
    if cur not in c.rs:
        # Created at 0; the status (RolloutNotCompleted) is written before any scaling.
        _ensure_rs(c, cur, 0)
        st["currentStepIndex"] = max(0, min(int(st.get("currentStepIndex") or 0), n))
        return

    index = int(st.get("currentStepIndex") or 0)
    index = max(0, min(index, n))
    st["currentStepIndex"] = index

    _full_promotion_clears_abort(st)
    if st.get("abort"):
        _aborted(c, rev)
        return
    if st.get("abortedAt"):
        # The user cleared status.abort (retry): start the steps again from 0.
        c.retrying = True
        st.pop("abortedAt", None)
        index = st["currentStepIndex"] = 0
        set_condition(st, "Progressing", "True", "RolloutRetry", "Retrying Rollout after abort",
                      c.now)

    _scale_down_others(c, {cur, stable}, _delay(spec))

    if st.get("promoteFull"):
        _clear_pause(c)
        index = st["currentStepIndex"] = n
        _clear_run_status(c)
        _cancel_runs(c, keep=set())
    else:
        # Argo's reconcileAnalysisRuns: background analysis, then the step's run.
        _background_analysis(c, index)
        if c.abort_message is not None:
            _abort_now(c, rev)
            return
    if spec.paused:
        _canary_traffic(c, index)
        return

    # Traffic first (as Argo's reconcileTrafficRouting), then walk the steps. Traffic (route
    # weight, pod split) only ever follows a step index the API already holds: a step that
    # completes here is recorded in the status first and routed on the next pass, so an
    # engine killed between the two writes replays nothing (Argo also moves one step a pass).
    _canary_traffic(c, index)
    advanced = False
    for _ in range(n + 1):
        if index >= n:
            break
        step = spec.steps[index]
        if advanced and step.kind in ("setHeaderRoute", "setMirrorRoute"):
            break  # its route is written by the next pass's traffic, from the index held
        was_paused = bool(st.get("controllerPause"))
        if not _step_done(c, step, index):
            break
        index += 1
        advanced = True
        st["currentStepIndex"] = index
        c.event("RolloutStepCompleted", f"Rollout step {index}/{n} completed ({step.describe()})")
        if was_paused and step.kind == "pause":
            c.event("RolloutResumed", "Rollout is resumed")
    if advanced:
        c.d.requeue(0)
    if c.abort_message is not None:
        _abort_now(c, rev)
        return
    if not st.get("promoteFull"):
        step = spec.steps[index] if index < n else None
        keep = {_current_name(c, BACKGROUND)}
        if step is not None and step.kind == "analysis":
            keep.add(_current_name(c, STEP))
        elif _current_name(c, STEP):
            # the step moved on (promote skipped it): its run is cancelled (Argo does too)
            (st.get("canary") or {}).pop(RUN_STATUS_KEY[STEP], None)
        _cancel_runs(c, keep={k for k in keep if k})

    if index >= n and not advanced:
        rs = c.rs.get(cur)
        if rs is not None and rs.available >= spec.replicas and rs.replicas >= spec.replicas:
            reason = ("Full promotion requested" if st.get("promoteFull")
                      else f"Completed all {n} canary steps")
            # Only the status changes in this pass (rollout/canary.go promoteStable). The
            # Services, the route back to canary 0 and the old pods follow on the next pass
            # from status.stableRS (_fully_promoted), so a restart between any of those writes
            # finds the rollout promoted and repeats only idempotent writes.
            _promote_stable(c, reason)
            c.d.requeue(0)


def _canary_traffic(c: _Ctx, index: int) -> None:
    """Scale the canary for ``index`` and route the weight its ready pods can take."""
    spec, st = c.spec, c.st
    cur, stable = spec.pod_hash, st["stableRS"]
    want, want_stable = desired_counts(spec, st, index, c.rs)
    _ensure_rs(c, cur, want)
    # With a traffic router the stable keeps full scale unless dynamicStableScale; a basic
    # canary trades pods within maxSurge / maxUnavailable.
    _ensure_rs(c, stable, want_stable)
    rs = c.rs.get(cur)
    at_desired = rs is not None and rs.replicas == want and rs.available >= want
    if rs is None or rs.available == 0:
        weight = 0 if rs is None or want > 0 else current_set_weight(spec, index, False)
    elif st.get("promoteFull"):
        # Argo keeps the current canary weight during a full promotion, until the switch.
        weight = ((st.get("canary") or {}).get("weights") or {}).get("canary", {}).get(
            "weight", 0)
    elif at_desired:
        weight = current_set_weight(spec, index, False)
    else:
        # Keep the previous setWeight until the canary pods exist (Argo does the same).
        weight = previous_set_weight(spec, index)
    # The canary Service follows the canary pods once some are available (never selects none).
    _set_selectors(c, cur if rs is not None and rs.available > 0 else stable, stable)
    _set_weight(c, weight, cur, stable)
    _managed_routes(c, index, rs)


def _full_promotion_clears_abort(st: dict[str, Any]) -> None:
    """``promote --full`` on an aborted update promotes it (argo-rollouts rollout/canary.go:
    377-379 clears the abort and the pause conditions when status.promoteFull is set)."""
    if st.get("promoteFull"):
        st.pop("abort", None)
        st.pop("abortedAt", None)


def _managed_routes(c: _Ctx, index: int, rs: ReplicaSetObs | None) -> None:
    """The current step's header or mirror route (argo-rollouts rollout/trafficrouting.go:
    223-300): removed while the canary has no available pods or on a full promotion, applied
    only from the second revision on (step 0 runs on the first install too)."""
    spec = c.spec
    if not spec.traffic_routed or not spec.managed_routes:
        return
    if rs is None or rs.available == 0 or c.st.get("promoteFull"):
        c.d.actions.append(RemoveManagedRoutes())
        return
    step = spec.steps[index] if index < len(spec.steps) else None
    if step is None or _revision_for(c, spec.pod_hash) <= 1 or step.route is None:
        return
    if step.kind == "setHeaderRoute":
        c.d.actions.append(SetHeaderRoute(step.route, step.headers))
    elif step.kind == "setMirrorRoute":
        c.d.actions.append(SetMirrorRoute(step.route))


def _managed_routes_done(c: _Ctx) -> None:
    """Fully promoted or aborted: the plugin's RemoveManagedRoutes (trafficrouting.go:199-218).
    Only for a Rollout naming managedRoutes: without them no step can have added a route."""
    if not c.spec.traffic_routed or not c.spec.managed_routes:
        return
    if c.st.get("stableRS") == c.spec.pod_hash or c.st.get("abort"):
        c.d.actions.append(RemoveManagedRoutes())


def _step_done(c: _Ctx, step: Step, index: int) -> bool:
    spec, st, obs = c.spec, c.st, c.obs
    if step.kind in ("setHeaderRoute", "setMirrorRoute"):
        return True  # complete at once (rollout/canary.go:336-339)
    if step.kind in ("setWeight", "setCanaryScale"):
        # Argo's AtDesiredReplicaCountsForCanary (utils/replicaset/canary.go:59).
        want, want_stable = desired_counts(spec, st, index, c.rs)
        rs = c.rs.get(spec.pod_hash)
        weights = (st.get("canary") or {}).get("weights") or {}
        routed = (not spec.traffic_routed or step.kind != "setWeight"
                  or (weights.get("canary") or {}).get("weight") == step.weight)
        stable = c.rs.get(st.get("stableRS") or "")
        if stable is not None and not (spec.traffic_routed and spec.dynamic_stable_scale):
            routed = routed and stable.replicas == want_stable and stable.current == want_stable
        if not spec.traffic_routed:
            # a basic canary's older sets serve traffic: they must be gone
            others = (r for h, r in c.rs.items() if h not in (spec.pod_hash, stable.hash
                                                              if stable else ""))
            routed = routed and all(r.available == 0 for r in others)
        return rs is not None and rs.replicas == want and rs.available == want and routed
    if step.kind == "analysis":
        return _step_analysis(c, step, index)
    if step.kind == "pause":
        pcs = st.get("pauseConditions") or []
        cond = next((p for p in pcs if p.get("reason") == CANARY_PAUSE), None)
        if cond is not None:
            if step.duration is None:
                return False
            start = parse_time(cond.get("startTime")) or c.now
            due = start + step.duration * obs.scale
            if c.now >= due:
                _clear_pause(c, announce=False)
                return True
            c.d.requeue((due - c.now) / obs.scale)
            return False
        if st.get("controllerPause"):
            # The user removed the pause condition (promote): the step is complete.
            _clear_pause(c, announce=False)
            return True
        st["pauseConditions"] = [{"reason": CANARY_PAUSE, "startTime": rfc3339(c.now)}]
        st["controllerPause"] = True
        c.event("RolloutPaused", f"Rollout is paused ({CANARY_PAUSE})")
        if step.duration is not None:
            if step.duration <= 0:
                _clear_pause(c, announce=False)
                return True
            c.d.requeue(step.duration)
        return False
    return True


def _abort_now(c: _Ctx, rev: int) -> None:
    """An analysis run failed: abort in this same pass (Argo's pauseContext.AddAbort)."""
    c.st["abort"] = True
    _aborted(c, rev, c.abort_message)


def _aborted(c: _Ctx, rev: int, reason: str | None = None) -> None:
    spec, st = c.spec, c.st
    cur, stable = spec.pod_hash, st["stableRS"]
    msg = f"Rollout aborted update to revision {rev}"
    if reason:
        msg += f": {reason}"
    prog = get_condition(st, "Progressing")
    if prog and prog.get("reason") == "RolloutAborted" and st.get("abortedAt"):
        msg = prog.get("message") or msg  # Argo keeps the first abort's message
    if not st.get("abortedAt"):
        st["abortedAt"] = rfc3339(c.now)
        # recorded with the status, after this pass's scaling (rollout/sync.go:887)
        c.late_events.append(Event("Warning", msg, reason="RolloutAborted"))
    st.pop("pauseConditions", None)
    st.pop("controllerPause", None)
    st["currentStepIndex"] = 0
    set_condition(st, "Progressing", "False", "RolloutAborted", msg, c.now)
    if c.abort_message is None:
        # Argo cancels the runs of an aborted rollout; they are no longer "current"
        # (rollout/analysis.go reconcileAnalysisRuns, shouldCancelCurrentAnalysis).
        _clear_run_status(c)
    _cancel_runs(c, keep=set())
    want, want_stable = desired_counts(spec, st, 0, c.rs)
    _ensure_rs(c, stable, want_stable)
    # Traffic back to stable at once; canary Service selects the stable pods again.
    _set_selectors(c, stable, stable)
    _set_weight(c, 0, cur, stable)
    rs = c.rs.get(cur)
    if rs is None:
        pass
    elif not spec.traffic_routed or spec.dynamic_stable_scale:
        # A basic canary rolls back within maxSurge / maxUnavailable; with dynamicStableScale
        # the canary shrinks as the stable grows (canary.go GetDesiredCanaryWeight).
        _ensure_rs(c, cur, want)
    elif rs.replicas > 0 and spec.abort_scale_down_delay > 0:
        stable_rs = c.rs.get(stable)
        if rs.scale_down_at is None:
            # The deadline is set only once the stable can take all traffic
            # (rollout/replicaset.go reconcileNewReplicaSet).
            if stable_rs is None or stable_rs.available >= spec.replicas:
                _mark_deadline(c, rs, spec.abort_scale_down_delay)
        elif c.now >= rs.scale_down_at:
            _ensure_rs(c, cur, 0)
        else:
            c.d.requeue((rs.scale_down_at - c.now) / c.obs.scale)
    _scale_down_others(c, {cur, stable}, _delay(spec))


# -- analysis runs (rollout/analysis.go) ---------------------------------------------------------


def _current_name(c: _Ctx, kind: str) -> str | None:
    rec = (c.st.get("canary") or {}).get(RUN_STATUS_KEY[kind]) or {}
    return rec.get("name") or None


def _current_run(c: _Ctx, kind: str) -> AnalysisRunObs | None:
    name = _current_name(c, kind)
    return c.runs.get(name) if name else None


def _record_run(c: _Ctx, kind: str, run: AnalysisRunObs) -> None:
    """status.canary.current*AnalysisRunStatus, with Argo's event when the phase changes
    (``emitAnalysisRunStatusChanges``)."""
    key = RUN_STATUS_KEY[kind]
    prev = (c.st.get("canary") or {}).get(key)
    rec = {"name": run.name, "status": run.phase}
    if run.message:
        rec["message"] = run.message
    c.st.setdefault("canary", {})[key] = rec
    if run.phase and (prev is None or (prev.get("name") == run.name
                                       and prev.get("status") != run.phase)):
        before = (prev or {}).get("status") or "NoPreviousStatus"
        kind_ = "Warning" if run.phase in ("Failed", "Error") else "Normal"
        c.event(f"AnalysisRun{run.phase}", f"{kind} Analysis Run '{run.name}' Status New: "
                f"'{run.phase}' Previous: '{before}'", kind_)


def _refresh_run_status(c: _Ctx) -> None:
    for kind in (BACKGROUND, STEP):
        run = _current_run(c, kind)
        if run is not None:
            _record_run(c, kind, run)


def _clear_run_status(c: _Ctx) -> None:
    canary = c.st.get("canary") or {}
    for key in RUN_STATUS_KEY.values():
        canary.pop(key, None)


def _start_run(c: _Ctx, kind: str, ref: RolloutAnalysis, index: int | None) -> AnalysisRunObs:
    """Create the run (``<rollout>-<hash>-<revision>[-<step>]``), or adopt a live one a previous
    engine created just before it died (CreateWithCollisionCounter: same run, still going)."""
    h = c.spec.pod_hash
    rev = _revision_for(c, h)
    base = f"{c.spec.name}-{h}-{rev}" + (f"-{index}" if index is not None else "")
    name, n = base, 0
    while name in c.runs:
        old = c.runs[name]
        if (not c.retrying and old.kind == kind and old.pod_hash == h
                and old.step_index == index and old.phase not in RUN_DONE
                and not old.terminate):
            return old
        n += 1
        name = f"{base}.{n}"
    run = AnalysisRunObs(name, kind, h, index)
    c.runs[name] = run
    c.d.actions.append(CreateAnalysisRun(name, kind, h, rev, ref, index))
    return run


def _cancel_runs(c: _Ctx, keep: set[str]) -> None:
    """Terminate every live run of this Rollout except ``keep`` (``cancelAnalysisRuns``)."""
    for run in c.runs.values():
        if run.name in keep or run.terminate or run.phase in RUN_DONE:
            continue
        run.terminate = True
        c.d.actions.append(TerminateAnalysisRun(run.name))


def _judge(c: _Ctx, run: AnalysisRunObs, label: str) -> None:
    if run.phase == "Inconclusive":
        _add_pause(c, INCONCLUSIVE_PAUSE)
    elif run.phase in ("Failed", "Error") and c.abort_message is None:
        c.abort_message = f"{label} analysis phase error/failed" + (
            f": {run.message}" if run.message else "")


def _add_pause(c: _Ctx, reason: str) -> None:
    pcs = c.st.setdefault("pauseConditions", [])
    if not any(p.get("reason") == reason for p in pcs):
        pcs.append({"reason": reason, "startTime": rfc3339(c.now)})
        c.st["controllerPause"] = True
        c.event("RolloutPaused", f"Rollout is paused ({reason})")


def _promoted_past_inconclusive(c: _Ctx, run: AnalysisRunObs | None) -> bool:
    """``needsNewAnalysisRun``: the user cleared the pause an inconclusive run caused."""
    return (run is not None and run.phase == "Inconclusive" and bool(c.st.get("controllerPause"))
            and not c.st.get("pauseConditions"))


def _background_analysis(c: _Ctx, index: int) -> None:
    """``reconcileBackgroundAnalysisRun``: start at ``startingStep``, then judge the run."""
    ref = c.spec.background_analysis
    if ref is None or not ref.templates or index < ref.starting_step:
        return
    run = _current_run(c, BACKGROUND)
    if any(p.get("reason") == INCONCLUSIVE_PAUSE for p in c.st.get("pauseConditions") or []):
        if run is not None:
            _record_run(c, BACKGROUND, run)
        return
    if run is None or c.retrying or _promoted_past_inconclusive(c, run):
        if run is not None and run.phase == "Inconclusive":
            c.st.pop("controllerPause", None)
        run = _start_run(c, BACKGROUND, ref, None)
    _record_run(c, BACKGROUND, run)
    _judge(c, run, "Background")


def _step_analysis(c: _Ctx, step: Step, index: int) -> bool:
    """``reconcileStepBasedAnalysisRun`` + completion: the step is done once its run is
    Successful; Inconclusive pauses, Failed/Error aborts."""
    st = c.st
    if step.analysis is None or not step.analysis.templates:
        return True
    run = _current_run(c, STEP)
    if run is not None and run.step_index != index:
        run = None
    if st.get("pauseConditions") or st.get("abort"):
        if run is not None:
            _record_run(c, STEP, run)
        return False
    if run is None or c.retrying or _promoted_past_inconclusive(c, run):
        if run is not None and run.phase == "Inconclusive":
            st.pop("controllerPause", None)
        run = _start_run(c, STEP, step.analysis, index)
    _record_run(c, STEP, run)
    if run.phase == "Successful":
        (st.get("canary") or {}).pop(RUN_STATUS_KEY[STEP], None)  # canary.go: nil on completion
        return True
    _judge(c, run, "Step-based")
    return False


def _finish(c: _Ctx, touch_replicas: bool = True) -> Decision:
    """Replica counts, conditions and the phase, as Argo computes them."""
    spec, st, obs = c.spec, c.st, c.obs
    completed_msg = st.pop("_completedMessage", None)
    if touch_replicas:
        rss = obs.replicasets
        cur = spec.pod_hash
        new = rss.get(cur)
        st["replicas"] = sum(r.current for r in rss.values())
        st["updatedReplicas"] = new.current if new else 0
        st["readyReplicas"] = sum(r.ready for r in rss.values())
        st["availableReplicas"] = sum(r.available for r in rss.values())
        st["HPAReplicas"] = st["replicas"]
        st["selector"] = ",".join(f"{k}={v}" for k, v in sorted(spec.selector.items()))
        _conditions(c, completed_msg)
        _prune_history(c)
    # Argo compares updatedReplicas with spec.replicas, not with the pods that exist.
    phase, message = rollout_phase(st, spec.paused, desired_replicas=spec.replicas,
                                   traffic_routed=spec.traffic_routed)
    st["phase"] = phase
    st["message"] = message
    if not message:
        st.pop("message", None)
    if spec.paused:
        set_condition(st, "Paused", "True", "RolloutPaused", "Rollout is paused", c.now)
    c.d.events.extend(c.late_events)
    return c.d


def _conditions(c: _Ctx, completed_msg: str | None) -> None:
    """Argo's calculateRolloutConditions (rollout/sync.go:859) plus the pause bookkeeping of
    checkPausedConditions (rollout/sync.go:716)."""
    spec, st, now = c.spec, c.st, c.now
    cur = spec.pod_hash
    promoted = st.get("stableRS") == cur
    available = int(st.get("availableReplicas") or 0)
    rev = _revision_for(c, cur)
    if available >= spec.replicas:
        set_condition(st, "Available", "True", "AvailableReason",
                      "Rollout has minimum availability", now)
    else:
        set_condition(st, "Available", "False", "AvailableReason",
                      "Rollout does not have minimum availability", now)
    paused = bool(st.get("pauseConditions")) or spec.paused
    healthy = not paused and _rollout_healthy(c)
    prev_healthy = get_condition(c.old, "Healthy")
    became_unhealthy = (not healthy and prev_healthy is not None
                        and prev_healthy.get("status") == "True")
    if healthy:
        set_condition(st, "Healthy", "True", "RolloutHealthy", "Rollout is healthy", now)
    else:
        set_condition(st, "Healthy", "False", "RolloutHealthy", "Rollout is not healthy", now)
    _progressing(c, healthy, became_unhealthy)
    if paused:
        set_condition(st, "Paused", "True", "RolloutPaused", "Rollout is paused", now)
        prog = get_condition(st, "Progressing")
        if not prog or prog.get("reason") not in ("RolloutAborted", "NewReplicaSetAvailable"):
            set_condition(st, "Progressing", "Unknown", "RolloutPaused", "Rollout is paused", now)
    elif get_condition(st, "Paused") is not None:
        set_condition(st, "Paused", "False", "RolloutResumed", "Rollout is resumed", now)
        prog = get_condition(st, "Progressing")
        if prog and prog.get("reason") == "RolloutPaused":
            set_condition(st, "Progressing", "Unknown", "RolloutResumed", "Rollout is resumed",
                          now)
    if promoted:
        prev = get_condition(st, "Completed") or {}
        if completed_msg or prev.get("status") != "True":
            msg = completed_msg or f"Rollout completed update to revision {rev} ({cur})"
            set_condition(st, "Completed", "True", "RolloutCompleted", msg, now)
    else:
        msg = f"Rollout not completed, started update to revision {rev} ({cur})"
        prev = get_condition(c.old, "Completed")
        if prev is None or prev.get("status") != "False":
            # Argo records this when the condition turns False (rollout/sync.go:984), so on
            # the first deploy too.
            c.event("RolloutNotCompleted", msg)
        set_condition(st, "Completed", "False", "RolloutNotCompleted", msg, now)


def _rollout_healthy(c: _Ctx) -> bool:
    """utils/conditions/conditions.go RolloutHealthy, for the canary strategy."""
    spec, st = c.spec, c.st
    n = len(spec.steps)
    index = st.get("currentStepIndex")
    all_steps = n == 0 or index is None or int(index) == n
    return (int(st.get("updatedReplicas") or 0) == spec.replicas
            and int(st.get("availableReplicas") or 0) == spec.replicas
            and c.old.get("observedGeneration") == str(c.obs.generation)
            and all_steps and bool(st.get("stableRS")) and st.get("stableRS") == spec.pod_hash
            and int(st.get("replicas") or 0) == spec.replicas and not st.get("abort"))


def _made_progress(c: _Ctx) -> bool:
    """utils/conditions/conditions.go RolloutProgressing: anything moved since the last
    status."""
    st, old = c.st, c.old

    def num(d: dict[str, Any], k: str) -> int:
        return int(d.get(k) or 0)

    step_moved = (st.get("currentStepIndex") is not None
                  and old.get("currentStepIndex") is not None
                  and st.get("currentStepIndex") != old.get("currentStepIndex"))
    return (num(st, "updatedReplicas") != num(old, "updatedReplicas")
            or (num(st, "replicas") - num(st, "updatedReplicas")
                < num(old, "replicas") - num(old, "updatedReplicas"))
            or num(st, "readyReplicas") > num(old, "readyReplicas")
            or num(st, "availableReplicas") > num(old, "availableReplicas")
            or st.get("stableRS") != old.get("stableRS") or step_moved
            or st.get("currentStepHash") != old.get("currentStepHash"))


def _indefinite_step(c: _Ctx) -> bool:
    """rollout/sync.go isIndefiniteStep: a pause or analysis step, or a Paused condition."""
    index = int(c.old.get("currentStepIndex") or 0)
    if index < len(c.spec.steps) and c.spec.steps[index].kind in ("pause", "analysis"):
        return True
    paused = get_condition(c.old, "Paused")
    return paused is not None and paused.get("status") == "True"


def _progressing(c: _Ctx, healthy: bool, became_unhealthy: bool) -> None:
    """The Progressing condition and the progress deadline (rollout/sync.go:891-955): progress
    restarts the deadline (lastUpdateTime); no progress for progressDeadlineSeconds (spec
    time, so it scales with the clock) while not paused turns it False with
    ProgressDeadlineExceeded, which the phase reports as Degraded; progress afterwards
    recovers."""
    spec, st, now = c.spec, c.st, c.now
    if st.get("abort"):
        return  # _aborted set RolloutAborted
    name = c.rs_name(spec.pod_hash)
    if healthy:
        set_condition(st, "Progressing", "True", "NewReplicaSetAvailable",
                      f'ReplicaSet "{name}" has successfully progressed.', now)
        return
    prev = get_condition(st, "Progressing")
    if _made_progress(c) or became_unhealthy:
        if st.get("stableRS") == spec.pod_hash and became_unhealthy:
            reason, msg = "ReplicaSetNotAvailable", "Rollout does not have minimum availability"
        else:
            reason, msg = "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.'
        ts = rfc3339(now)
        kept = prev.get("lastTransitionTime") if prev and prev.get("status") == "True" else ts
        remove_condition(st, "Progressing")
        st.setdefault("conditions", []).append({
            "type": "Progressing", "status": "True", "reason": reason, "message": msg,
            "lastUpdateTime": ts, "lastTransitionTime": kept or ts})
        c.d.requeue(spec.progress_deadline)
        return
    if prev is None or prev.get("reason") in ("RolloutAborted", "RolloutPaused"):
        return
    if prev.get("reason") == "ProgressDeadlineExceeded":
        return
    if _indefinite_step(c) or bool(st.get("pauseConditions")) or spec.paused:
        return
    if any(rs.scale_down_at is not None and h not in (spec.pod_hash, st.get("stableRS"))
           for h, rs in c.rs.items()):
        return  # isWaitingForReplicaSetScaleDown
    since = parse_time(prev.get("lastUpdateTime")) or now
    due = since + spec.progress_deadline * c.obs.scale
    if now > due:
        set_condition(st, "Progressing", "False", "ProgressDeadlineExceeded",
                      f'ReplicaSet "{name}" has timed out progressing.', now)
    else:
        c.d.requeue((due - now) / c.obs.scale)


def _prune_history(c: _Ctx) -> None:
    """Delete scaled-down old ReplicaSets beyond revisionHistoryLimit (oldest first)."""
    keep = {c.spec.pod_hash, c.st.get("stableRS")}
    old = sorted((rs for h, rs in c.rs.items()
                  if h not in keep and rs.replicas == 0 and rs.current == 0),
                 key=lambda r: r.revision)
    for rs in old[: max(0, len(old) - c.spec.revision_history_limit)]:
        c.d.actions.append(DeleteReplicaSet(rs.name))
