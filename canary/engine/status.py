"""Canary status writers as Flagger applies them (pkg/canary/status.go), on plain dicts."""

from __future__ import annotations

import copy
from typing import Any

from canary.clock import rfc3339

INITIALIZING, INITIALIZED, WAITING = "Initializing", "Initialized", "Waiting"
PROGRESSING, WAITING_PROMOTION, PROMOTING = "Progressing", "WaitingPromotion", "Promoting"
FINALISING, SUCCEEDED, FAILED = "Finalising", "Succeeded", "Failed"

# phases in which the canary keeps its weight (SetStatusPhase resets it otherwise)
_KEEP_WEIGHT = (PROGRESSING, WAITING, PROMOTING)


def condition_for(phase: str, kind: str = "Deployment") -> tuple[str, str]:
    """(status, message) of the Promoted condition for ``phase`` (MakeStatusConditions)."""
    return {
        INITIALIZING: ("Unknown", f"New {kind} detected, starting initialization."),
        INITIALIZED: ("True", f"{kind} initialization completed."),
        WAITING: ("Unknown", "Waiting for approval."),
        WAITING_PROMOTION: ("Unknown", "Waiting for approval."),
        PROGRESSING: ("Unknown", "New revision detected, progressing canary analysis."),
        PROMOTING: ("Unknown", "Canary analysis completed, starting primary rolling update."),
        FINALISING: ("Unknown", "Canary analysis completed, routing all traffic to primary."),
        SUCCEEDED: ("True", "Canary analysis completed successfully, promotion finished."),
        FAILED: ("False", f"Canary analysis failed, {kind} scaled to zero."),
    }.get(phase, ("Unknown", f"New {kind} detected, starting initialization."))


def _set_condition(st: dict[str, Any], phase: str, now: float) -> None:
    status, message = condition_for(phase)
    ts = rfc3339(now)
    conds = [c for c in st.get("conditions") or [] if c.get("type") != "Promoted"]
    old = next((c for c in st.get("conditions") or [] if c.get("type") == "Promoted"), None)
    if old and old.get("status") == status and old.get("reason") == phase:
        new = old  # Flagger replaces the condition only when status or reason changes
    else:
        new = {"type": "Promoted", "status": status, "reason": phase, "message": message,
               "lastUpdateTime": ts, "lastTransitionTime": ts}
    st["conditions"] = [new, *conds]


def sync_status(st: dict[str, Any], phase: str, applied_hash: str, now: float,
                weight: int = 0, failed_checks: int = 0, iterations: int = 0) -> dict[str, Any]:
    """SyncStatus: phase and counters from the arguments, lastAppliedSpec = current hash."""
    st = copy.deepcopy(st)
    st.update(phase=phase, canaryWeight=weight, failedChecks=failed_checks,
              iterations=iterations, lastAppliedSpec=applied_hash,
              lastTransitionTime=rfc3339(now))
    if phase == INITIALIZED:
        st["lastPromotedSpec"] = applied_hash
    _set_condition(st, phase, now)
    return st


def set_phase(st: dict[str, Any], phase: str, now: float,
              analysis_iterations: int = 0) -> dict[str, Any]:
    st = copy.deepcopy(st)
    st["phase"] = phase
    st["lastTransitionTime"] = rfc3339(now)
    if phase not in _KEEP_WEIGHT:
        st["canaryWeight"] = 0
        st["iterations"] = 0
        if phase == WAITING_PROMOTION and analysis_iterations > 0:
            # pkg/canary/status.go:165 (upstream writes iterations-1 even for 0, i.e. -1, for
            # the canary strategy; we keep 0 there, which reads the same to every check)
            st["iterations"] = analysis_iterations - 1
    if phase in (INITIALIZED, SUCCEEDED):
        st["lastPromotedSpec"] = st.get("lastAppliedSpec", "")
    _set_condition(st, phase, now)
    return st


def set_failed_checks(st: dict[str, Any], value: int, now: float) -> dict[str, Any]:
    st = copy.deepcopy(st)
    st["failedChecks"] = value
    st["lastTransitionTime"] = rfc3339(now)
    return st


def set_iterations(st: dict[str, Any], value: int, now: float) -> dict[str, Any]:
    st = copy.deepcopy(st)
    st["iterations"] = value
    st["lastTransitionTime"] = rfc3339(now)
    return st


def set_weight(st: dict[str, Any], value: int, now: float) -> dict[str, Any]:
    st = copy.deepcopy(st)
    st["canaryWeight"] = value
    st["lastTransitionTime"] = rfc3339(now)
    return st


def spec_changed(st: dict[str, Any], new_hash: str) -> bool:
    """hasSpecChanged: a revert to the promoted spec starts nothing."""
    if not st.get("lastAppliedSpec"):
        return True
    if new_hash == st.get("lastPromotedSpec"):
        return False
    return new_hash != st.get("lastAppliedSpec")
