"""Argo Rollouts' canary replica math (pure): how many canary and stable pods a pass asks for.

Ported from argoproj/argo-rollouts ``utils/replicaset/canary.go``
(``CalculateReplicaCountsForBasicCanary``, ``approximateWeightedCanaryStableReplicaCounts``,
``CalculateReplicaCountsForTrafficRoutedCanary``, ``GetDesiredCanaryWeight``) and
``utils/replicaset/replicaset.go`` (``resolveFenceposts``, ``MaxSurge``, ``MaxUnavailable``).
A basic canary (no traffic router) moves in steps bounded by maxSurge / maxUnavailable from
the ReplicaSets' current spec and available counts; a traffic-routed canary asks for its
target at once (the router, not the pod count, decides who gets traffic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_MAX_SURGE = "25%"
DEFAULT_MAX_UNAVAILABLE = "25%"

IntOrPercent = int | str


@dataclass(frozen=True)
class RSCount:
    """A ReplicaSet as the math sees it: spec.replicas and status.availableReplicas."""

    spec: int
    available: int = 0
    name: str = ""


def parse_int_or_percent(value: object, field: str) -> tuple[IntOrPercent | None, str | None]:
    """(value, error): an int >= 0 or a string "N%" (Kubernetes IntOrString)."""
    if isinstance(value, bool):
        return None, f"{field}: must be an integer or a percentage like \"25%\", got {value!r}"
    if isinstance(value, int):
        if value < 0:
            return None, f"{field}: must be >= 0, got {value}"
        return value, None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%") and text[:-1].isdigit():
            return text, None
        if text.isdigit():  # Kubernetes accepts only "N%" strings; say so plainly
            return None, f"{field}: a string must be a percentage like \"25%\", got {value!r}"
    return None, f"{field}: must be an integer or a percentage like \"25%\", got {value!r}"


def scaled_value(value: IntOrPercent, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: percentages of ``total``, rounded as asked."""
    if isinstance(value, int):
        return value
    pct = int(value.rstrip("%"))
    exact = pct * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def resolve_fenceposts(surge: IntOrPercent, unavailable: IntOrPercent,
                       replicas: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) in pods: surge rounds up, unavailable rounds down, and when
    both come out 0 unavailable becomes 1 (replicaset.go resolveFenceposts)."""
    s = scaled_value(surge, replicas, True)
    u = scaled_value(unavailable, replicas, False)
    if s == 0 and u == 0:
        u = 1
    return s, u


def max_surge(surge: IntOrPercent, unavailable: IntOrPercent, replicas: int) -> int:
    return resolve_fenceposts(surge, unavailable, replicas)[0]


def max_unavailable(surge: IntOrPercent, unavailable: IntOrPercent, replicas: int) -> int:
    if replicas == 0:
        return 0
    return min(replicas, resolve_fenceposts(surge, unavailable, replicas)[1])


def both_zero(surge: IntOrPercent, unavailable: IntOrPercent) -> bool:
    """Argo's validation: maxSurge and maxUnavailable may not both be 0 (0 or "0%")."""
    def value(v: IntOrPercent) -> int:
        return v if isinstance(v, int) else int(v.rstrip("%"))
    return value(surge) == 0 and value(unavailable) == 0


def _tied(weight: int, max_weight: int, total: int) -> bool:
    frac = (total * (weight / max_weight)) % 1
    return frac == 0.5


def _delta(weight: int, max_weight: int, canary: int, total: int) -> float:
    return abs(canary * max_weight / total - weight)


def approximate_weighted_counts(replicas: int, weight: int, max_weight: int,
                                surge: int) -> tuple[int, int]:
    """(canary, stable) closest to ``weight``; may use one surge pod to get closer, keeps one
    of each for weights strictly between 0 and max (canary.go
    approximateWeightedCanaryStableReplicaCounts). Ties pick the first (larger) option."""
    if replicas == 0:
        return 0, 0
    ceil_c = math.ceil(replicas * weight / max_weight)
    floor_c = math.floor(replicas * weight / max_weight)
    zero_ok = weight in (0, max_weight) or (replicas == 1 and surge == 0)
    options: list[tuple[int, int]] = []
    if ceil_c < replicas or zero_ok:
        options.append((ceil_c, replicas))
    if not _tied(weight, max_weight, replicas) and (floor_c != 0 or zero_ok):
        options.append((floor_c, replicas))
    if surge > 0:
        options.append((ceil_c, replicas + 1))
        if not _tied(weight, max_weight, replicas + 1) and (floor_c != 0 or zero_ok):
            options.append((floor_c, replicas + 1))
    if not options:
        return 0, replicas
    best = options[0]
    for opt in options[1:]:
        if _delta(weight, max_weight, *opt) < _delta(weight, max_weight, *best):
            best = opt
    return best[0], best[1] - best[0]


def _for_scale_down(rs: RSCount | None, ignore_availability: bool) -> int:
    """canary.go GetReplicasForScaleDown."""
    if rs is None:
        return 0
    if rs.spec < rs.available or ignore_availability:
        return rs.spec
    return rs.available


def _drain(rs: RSCount | None, desired: int, scale_down: int, count: int) -> int:
    if rs is not None and rs.spec > desired:
        return max(desired, rs.spec - scale_down)
    return count


def _within_limits(drain: RSCount | None, adjust: RSCount | None, drain_count: int,
                   adjust_count: int, max_allowed: int, min_available: int) -> tuple[int, int]:
    """canary.go adjustReplicaWithinLimits: keep the pair within maxSurge without dropping
    below the minimum available pods."""
    over = max(0, adjust_count + drain_count - max_allowed)
    available = min(drain.available, drain_count) if drain is not None else 0
    if adjust is not None:
        adjust_count -= over
        available += min(adjust.available, adjust_count)
        extra = max(0, adjust.available - adjust_count)
        needed = max(0, min_available - available)
        adjust_count += min(extra, needed)
        over = max(0, adjust_count + drain_count - max_allowed)
        drain_count -= over
    return drain_count, adjust_count


def basic_canary_counts(replicas: int, weight: int, max_weight: int, surge: int,
                        unavailable: int, new: RSCount | None, stable: RSCount | None,
                        older: list[RSCount] | tuple[RSCount, ...] = ()) -> tuple[int, int]:
    """(canary, stable) spec.replicas for this pass of a basic canary
    (canary.go CalculateReplicaCountsForBasicCanary). ``surge`` and ``unavailable`` are the
    resolved pod counts; ``stable`` is None (or the same set as ``new``) when there is no
    separate stable, then the canary simply goes to full scale."""
    want_new, want_stable = approximate_weighted_counts(replicas, weight, max_weight, surge)
    new_count = new.spec if new is not None else 0
    has_stable = stable is not None and not (new is not None and new.name
                                             and new.name == stable.name)
    if has_stable:
        assert stable is not None
        stable_count = stable.spec
    else:
        stable_count = 0
        want_new, want_stable = replicas, 0
    max_allowed = replicas + surge
    total = sum(r.spec for r in older) + new_count + (stable_count if has_stable else 0)
    scale_up = max_allowed - total
    # The stable scales up first, then the canary, within the surge.
    if has_stable and stable is not None and stable.spec < want_stable and scale_up > 0:
        if stable.spec + scale_up < want_stable:
            stable_count, scale_up = stable.spec + scale_up, 0
        else:
            stable_count = want_stable
            scale_up -= want_stable - stable.spec
    if new is not None and new.spec < want_new and scale_up > 0:
        new_count = min(want_new, new.spec + scale_up)
    if sum(r.spec for r in older) > 0:
        return new_count, stable_count  # older sets are drained first
    min_available = replicas - unavailable
    # Growing the canary may ignore the stable's availability; shrinking it (abort, lower
    # weight) may ignore the canary's (a crashing canary must still be scaled down).
    increasing = new is None or want_new >= new.spec
    to_scale_down = (_for_scale_down(new, not increasing)
                     + _for_scale_down(stable if has_stable else None, increasing))
    if to_scale_down <= min_available:
        return new_count, stable_count
    scale_down = to_scale_down - min_available
    if not increasing:
        new_count = _drain(new, want_new, scale_down, new_count)
        new_count, stable_count = _within_limits(new, stable if has_stable else None, new_count,
                                                 stable_count, max_allowed, min_available)
    elif has_stable:
        stable_count = _drain(stable, want_stable, scale_down, stable_count)
        stable_count, new_count = _within_limits(stable, new, stable_count, new_count,
                                                 max_allowed, min_available)
    return new_count, stable_count


def weight_to_replicas(replicas: int, weight: int, max_weight: int) -> int:
    """canary.go trafficWeightToReplicas: rounds up."""
    return math.ceil(weight * replicas / max_weight)


def _min_pods(count: int, min_pods: int | None, replicas: int) -> int:
    """canary.go CheckMinPodsPerReplicaSet (traffic routing only), capped at spec.replicas."""
    if count == 0 or min_pods is None:
        return count
    return max(count, min(min_pods, replicas))


def traffic_routed_counts(replicas: int, weight: int, max_weight: int, *,
                          canary_scale_replicas: int | None = None,
                          dynamic_stable_scale: bool = False,
                          weights: tuple[int, int] | None = None, aborted: bool = False,
                          min_pods: int | None = None) -> tuple[int, int]:
    """(canary, stable) for a traffic-routed canary (canary.go
    CalculateReplicaCountsForTrafficRoutedCanary). ``weights`` is the route's current
    (canary, stable) weight; the stable stays at full scale unless dynamicStableScale."""
    if canary_scale_replicas is not None:
        canary = canary_scale_replicas
    else:
        canary = _min_pods(weight_to_replicas(replicas, weight, max_weight), min_pods, replicas)
    if not dynamic_stable_scale:
        return canary, replicas
    stable = weight_to_replicas(replicas, max_weight - weight, max_weight)
    if weights is not None:
        # The stable shrinks only once traffic has left it; an aborted canary keeps the pods
        # its current traffic needs until the route has moved back.
        stable = max(stable, weight_to_replicas(replicas, weights[1], max_weight))
        if aborted:
            canary = max(canary, weight_to_replicas(replicas, weights[0], max_weight))
    return _min_pods(canary, min_pods, replicas), _min_pods(stable, min_pods, replicas)


def aborted_dynamic_weight(replicas: int, max_weight: int, step_weights: list[int],
                           new: RSCount | None, stable: RSCount | None,
                           explicit_abort_delay: bool) -> int | None:
    """canary.go GetDesiredCanaryWeight for an aborted rollout with dynamicStableScale: walk
    the setWeight steps backwards so the stable grows as the canary drains, not all at once.
    None when the rule does not apply (a ReplicaSet is missing)."""
    if new is None or stable is None:
        return None
    expected = replicas - stable.available
    canary = expected if explicit_abort_delay else max(expected, new.available)
    for w in reversed(step_weights):
        if weight_to_replicas(replicas, w, max_weight) < canary:
            return w
    return 0


def set_canary_scale_in_force(scale: dict[str, object] | None, traffic_routed: bool,
                              aborted: bool, abort_delay: int) -> dict[str, object] | None:
    """canary.go UseSetCanaryScale: only with a traffic router; an aborted rollout drops it
    unless abortScaleDownDelaySeconds is 0 (leave the canary up). ``scale`` is the
    setCanaryScale in force at the current step (None after matchTrafficWeight)."""
    if not traffic_routed or scale is None or scale.get("matchTrafficWeight"):
        return None
    if aborted and abort_delay != 0:
        return None
    return scale


def canary_replicas_or_weight(max_weight: int, full: bool, scale: dict[str, object] | None,
                              weight: int) -> tuple[int | None, int]:
    """canary.go GetCanaryReplicasOrWeight. ``full`` is promoteFull, no stable, or the stable
    being the current hash; ``weight`` is the desired setWeight (0 when aborted)."""
    if full:
        return None, max_weight
    if scale is not None:
        if scale.get("replicas") is not None:
            return int(scale["replicas"]), 0  # type: ignore[call-overload]
        if scale.get("weight") is not None:
            return None, int(scale["weight"])  # type: ignore[call-overload]
    return None, weight
