"""Argo's canary replica math against upstream's own table cases.

The cases are read out of argoproj/argo-rollouts utils/replicaset/canary_test.go by
tests/support/data/extract_argo_canary_cases.py (each keeps its upstream line number).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from canary.engine.argo_replicas import (
    DEFAULT_MAX_SURGE,
    DEFAULT_MAX_UNAVAILABLE,
    RSCount,
    aborted_dynamic_weight,
    approximate_weighted_counts,
    basic_canary_counts,
    canary_replicas_or_weight,
    max_surge,
    max_unavailable,
    parse_int_or_percent,
    resolve_fenceposts,
    set_canary_scale_in_force,
    traffic_routed_counts,
)

DATA = json.loads((Path(__file__).parents[1] / "support" / "data"
                   / "argo_canary_cases.json").read_text())
SRC = DATA["source"]


def _id(case: dict[str, Any]) -> str:
    return f"line{case['line']}"


@pytest.mark.parametrize("case", DATA["approximate"], ids=_id)
def test_approximate_weighted_counts(case: dict[str, Any]) -> None:
    got = approximate_weighted_counts(case["replicas"], case["weight"], case["maxWeight"],
                                      case["maxSurge"])
    assert got == (case["expCanary"], case["expStable"]), f"{SRC}:{case['line']}"


@pytest.mark.parametrize("case", DATA["basic"], ids=_id)
def test_calculate_replica_counts(case: dict[str, Any]) -> None:
    """TestCalculateReplicaCountsForCanary: one setWeight step, stable "stable", current
    "canary"; traffic-routed cases are computed without ReplicaSets or route weights."""
    replicas = case["rolloutSpecReplicas"]
    surge_v = case.get("maxSurge", 0)
    unavail_v = case.get("maxUnavailable", 0)
    routed = bool(case.get("trafficRouting"))
    aborted = bool(case.get("statusAbort"))
    delay = case.get("abortScaleDownDelaySeconds")
    if delay is None:
        delay = 30 if routed else 0  # Argo's default applies with traffic routing only
    scale = set_canary_scale_in_force(case.get("setCanaryScale"), routed, aborted, delay)
    weight = 0 if aborted else case["setWeight"]
    scale_replicas, weight = canary_replicas_or_weight(100, bool(case.get("promoteFull")),
                                                       scale, weight)
    if routed:
        got = traffic_routed_counts(replicas, weight, 100, canary_scale_replicas=scale_replicas,
                                    min_pods=case.get("minPodsPerReplicaSet"))
    else:
        older = case.get("olderRS")
        got = basic_canary_counts(
            replicas, weight, 100, max_surge(surge_v, unavail_v, replicas),
            max_unavailable(surge_v, unavail_v, replicas),
            RSCount(case["canarySpecReplica"], case["canaryAvailableReplica"], "canary"),
            RSCount(case["stableSpecReplica"], case["stableAvailableReplica"], "stable"),
            [RSCount(older["spec"], older["available"], "older")] if older else [])
    want = (case["expectedCanaryReplicaCount"], case["expectedStableReplicaCount"])
    assert got == want, f"{case['name']} ({SRC}:{case['line']})"


@pytest.mark.parametrize("case", DATA["dynamic"], ids=_id)
def test_dynamic_stable_scale(case: dict[str, Any]) -> None:
    """TestCalculateReplicaCountsForCanaryTrafficRoutingDynamicScale (maxSurge 0, maxUnavailable
    1; rolloutMaxReplicas is the single setWeight step of upstream's newRollout helper)."""
    replicas = case["rolloutReplicas"]
    aborted = bool(case.get("rolloutAbort"))
    steps = [case["rolloutMaxReplicas"]] + list(case.get("steps") or [])
    canary = stable = None
    if case.get("canaryRSReplicas"):
        canary = RSCount(case["canaryRSReplicas"], case["canaryRSReplicas"], "canary")
    if case.get("stableRSReplicas"):
        stable = RSCount(case["stableRSReplicas"], case["availableStableReplicas"], "stable")
    weight = 0 if aborted else steps[0]
    if aborted:
        dyn = aborted_dynamic_weight(replicas, 100, steps, canary, stable, False)
        weight = dyn if dyn is not None else 0
    got = traffic_routed_counts(replicas, weight, 100, dynamic_stable_scale=True,
                                weights=(case["canaryWeight"], case["stableWeight"]),
                                aborted=aborted)
    want = (case["expectedCanaryReplicas"], case["expectedStableReplicas"])
    assert got == want, f"{case['name']} ({SRC}:{case['line']})"


def test_new_deployment_goes_to_full_scale() -> None:
    """canary_test.go TestCalculateReplicaCountsForNewDeployment: new and stable are the same
    set, so the canary takes every replica."""
    same = RSCount(10, 0, "stable")
    assert basic_canary_counts(10, 10, 100, *resolve_fenceposts(0, 1, 10), same, same) == (10, 0)


@pytest.mark.parametrize("surge,unavailable,replicas,want", [
    # replicaset.go resolveFenceposts: surge rounds up, unavailable rounds down, never both 0
    (DEFAULT_MAX_SURGE, DEFAULT_MAX_UNAVAILABLE, 4, (1, 1)),
    (DEFAULT_MAX_SURGE, DEFAULT_MAX_UNAVAILABLE, 10, (3, 2)),
    ("1%", "0%", 2, (1, 0)),
    ("0%", "1%", 2, (0, 1)),  # unavailable rounds down to 0, so it becomes 1
    (2, 0, 4, (2, 0)),
])
def test_fenceposts(surge: Any, unavailable: Any, replicas: int, want: tuple[int, int]) -> None:
    assert resolve_fenceposts(surge, unavailable, replicas) == want


def test_bad_int_or_percent_names_the_field() -> None:
    value, err = parse_int_or_percent("lots", "spec.strategy.canary.maxSurge")
    assert value is None and err and "spec.strategy.canary.maxSurge" in err
    assert parse_int_or_percent("30%", "f") == ("30%", None)
    assert parse_int_or_percent(-1, "f")[1]


def test_acceptance_crashing_canary_with_surge_two() -> None:
    """Issue 12 acceptance 3 (test/e2e/canary_test.go TestRolloutScalingDuringUpdate): 4
    replicas, maxSurge 2, maxUnavailable 0, no steps (weight 100), canary pods never become
    available: canary 2, stable 4, total 6 -- and it stays there."""
    surge, unavail = resolve_fenceposts(2, 0, 4)
    new, stable = RSCount(0, 0, "new"), RSCount(4, 4, "stable")
    for _ in range(3):
        c, s = basic_canary_counts(4, 100, 100, surge, unavail, new, stable)
        new, stable = RSCount(c, 0, "new"), RSCount(s, s, "stable")
    assert (new.spec, stable.spec) == (2, 4)
