"""Deployment readiness with Flagger's messages (pkg/canary/deployment_ready.go)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from canary.engine.types import Readiness


def parse_time(ts: str | None) -> float | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _condition(dep: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for c in (dep.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c
    return None


def deployment_readiness(dep: dict[str, Any] | None, ready_threshold: int = 100,
                         deadline_wall: float | None = None, now: float | None = None,
                         not_before: float | None = None) -> Readiness:
    """Whether ``dep`` finished rolling out.

    ``deadline_wall`` is progressDeadlineSeconds in wall seconds: a Deployment whose Available
    condition is False/MinimumReplicasUnavailable for longer is stuck (not retriable), as
    Flagger judges it. The stuck clock never starts before ``not_before`` (when the canary
    entered its phase), so a stale condition cannot fail a rollout that just began.
    """
    if dep is None:
        return Readiness(False, True, "deployment not found")
    md, spec, st = dep.get("metadata") or {}, dep.get("spec") or {}, dep.get("status") or {}
    name = md.get("name", "")
    if int(md.get("generation") or 0) > int(st.get("observedGeneration") or 0):
        return Readiness(False, True, "waiting for rollout to finish: observed deployment "
                                      "generation less than desired generation")
    progress = _condition(dep, "Progressing")
    if progress and progress.get("reason") == "ProgressDeadlineExceeded":
        return Readiness(False, False, f'deployment "{name}" exceeded its progress deadline')
    replicas = spec.get("replicas", 1)
    updated = int(st.get("updatedReplicas") or 0)
    total = int(st.get("replicas") or 0)
    available = int(st.get("availableReplicas") or 0)
    msg = ""
    if replicas is not None and updated < replicas:
        msg = f"waiting for rollout to finish: {updated} out of {replicas} new replicas " \
              "have been updated"
    elif total > updated:
        msg = f"waiting for rollout to finish: {total - updated} old replicas are pending " \
              "termination"
    elif available < math.ceil(updated * ready_threshold / 100):
        msg = f"waiting for rollout to finish: {available} of {updated} (readyThreshold " \
              f"{ready_threshold}%) updated replicas are available"
    if not msg:
        return Readiness(True)
    avail = _condition(dep, "Available")
    if (avail and avail.get("status") == "False"
            and avail.get("reason", "MinimumReplicasUnavailable") == "MinimumReplicasUnavailable"
            and deadline_wall is not None and now is not None):
        since = parse_time(avail.get("lastUpdateTime") or avail.get("lastTransitionTime"))
        if since is not None and not_before is not None:
            since = max(since, not_before)
        if since is not None and now - since > deadline_wall:
            return Readiness(False, False, msg)
    return Readiness(False, True, msg)
