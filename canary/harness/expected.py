"""The canary weight sequence a Canary spec implies, derived exactly as Flagger steps it.

Flagger (``pkg/controller/scheduler.go``) advances one step per successful analysis tick while
``canaryWeight < maxWeight``; the check happens *before* adding, so with ``stepWeight`` the last
step may overshoot ``maxWeight`` (maxWeight 50, stepWeight 20 gives 20, 40, 60). With
``stepWeights`` the list is walked in order, each step capped at 100, and ``maxWeight`` is the last
list value (the spec's ``maxWeight`` is then ignored), and the next entry is found by equality
with the current weight, so an unsorted list walks back and forth and a weight not in the list
jumps to 100. ``stepWeight`` wins when both are set.

This module is the harness's oracle: it reads Flagger's rule from Flagger's source, not from
the bundled engine, so an engine bug cannot hide behind a shared mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TOTAL_WEIGHT = 100


class SpecError(ValueError):
    """The Canary spec cannot produce a weight sequence; the message names the field."""


@dataclass(frozen=True)
class WeightPlan:
    """Expected canary weights during the analysis, plus the spec values they came from."""

    weights: tuple[int, ...]
    source: str  # e.g. "stepWeight 10, maxWeight 50" - quoted in assertion messages

    def route_trajectory(self) -> list[int]:
        """Canary weight on the HTTPRoute over a whole successful rollout: 0, steps..., 0."""
        return [0, *self.weights, 0]


def _int_field(analysis: dict[str, Any], name: str) -> int | None:
    value = analysis.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"spec.analysis.{name}: expected an integer, got {value!r}")
    return value


def max_weight(analysis: dict[str, Any]) -> int:
    """Flagger's ``maxWeight()``: last stepWeights value (max 100), else maxWeight, else 100."""
    steps = analysis.get("stepWeights") or []
    if steps:
        return min(TOTAL_WEIGHT, int(steps[-1]))
    mw = _int_field(analysis, "maxWeight")
    return mw if mw and mw > 0 else TOTAL_WEIGHT


def next_step(analysis: dict[str, Any], current: int) -> int:
    """Flagger's ``nextStepWeight``: how much the canary weight grows on the next tick."""
    step = _int_field(analysis, "stepWeight") or 0
    steps = [int(w) for w in analysis.get("stepWeights") or []]
    if step > 0 or not steps:
        return step
    room = TOTAL_WEIGHT - current
    if room == 0:
        return 1  # any non-zero step moves the canary on to promotion
    if current == 0:
        return min(room, steps[0])
    for i, w in enumerate(steps):
        if w == current and i + 1 < len(steps):
            return min(room, steps[i + 1] - w)
    return room


def expected_weights(spec: dict[str, Any]) -> WeightPlan:
    """Weights the canary gets, tick by tick, from the first advance to the promotion decision.

    ``spec`` is a Canary's ``spec`` (or a whole Canary object, or just its ``analysis``).
    """
    if "spec" in spec:
        spec = spec["spec"] or {}
    analysis = spec.get("analysis", spec) if isinstance(spec, dict) else {}
    if not isinstance(analysis, dict):
        raise SpecError("spec.analysis: expected a mapping")
    steps_field = analysis.get("stepWeights")
    if steps_field is not None:
        if not isinstance(steps_field, list) or not all(
            isinstance(w, int) and not isinstance(w, bool) for w in steps_field
        ):
            raise SpecError(f"spec.analysis.stepWeights: expected a list of integers, "
                            f"got {steps_field!r}")
        if any(w <= 0 for w in steps_field):
            raise SpecError(f"spec.analysis.stepWeights: weights must be > 0, got {steps_field}")
    step = _int_field(analysis, "stepWeight") or 0
    if step < 0:
        raise SpecError(f"spec.analysis.stepWeight: must be > 0, got {step}")
    if step == 0 and not steps_field:
        raise SpecError("spec.analysis: neither stepWeight nor stepWeights is set, "
                        "so the canary weight never advances")
    top = max_weight(analysis)
    weights: list[int] = []
    current = 0
    while current < top:
        current = min(TOTAL_WEIGHT, current + next_step(analysis, current))
        if current in weights or current == 0:
            raise SpecError(f"spec.analysis.stepWeights {steps_field}: the canary weight comes "
                            f"back to {current} and never reaches maxWeight {top}, so Flagger "
                            f"would advance forever without promoting")
        weights.append(current)
        if current >= TOTAL_WEIGHT:
            break
    if step > 0:
        source = f"stepWeight {step}, maxWeight {top}"
        if steps_field:
            source += " (stepWeights ignored because stepWeight is set)"
    else:
        source = f"stepWeights {steps_field}"
    return WeightPlan(tuple(weights), source)


def analysis_seconds(spec: dict[str, Any]) -> tuple[float, int]:
    """(interval in spec seconds with Flagger's default 60s and 10s floor, threshold >= 1)."""
    from canary.clock import parse_duration

    if "spec" in spec:
        spec = spec["spec"] or {}
    analysis = spec.get("analysis") or {}
    try:
        interval = parse_duration(analysis.get("interval") or "60s")
    except ValueError:
        interval = 60.0
    interval = max(interval, 10.0)
    threshold = analysis.get("threshold")
    threshold = threshold if isinstance(threshold, int) and threshold > 0 else 1
    return interval, threshold
