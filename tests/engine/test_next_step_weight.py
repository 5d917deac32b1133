"""Flagger's ``nextStepWeight`` (fluxcd/flagger pkg/controller/scheduler.go:58), checked in both
places that apply it: the engine's spec (``AnalysisSpec.next_step_weight``) and the harness's
independent oracle (``canary.harness.expected.next_step``). The rows are read off Flagger's
function: stepWeight wins; from 0 the first entry; from an entry, the gap to the next one (found
by equality, so unsorted lists give negative steps); off the list or past its end, the rest up
to 100; at 100, 1."""

import pytest

from canary.harness.expected import expected_weights, next_step
from canary.spec.canary import AnalysisSpec

ROWS = [
    # stepWeight, stepWeights, current canary weight, Flagger's next step
    (10, (), 0, 10),
    (10, (), 90, 10),
    (10, (5, 50), 0, 10),  # stepWeight wins over stepWeights
    (0, (5, 25, 50), 0, 5),
    (0, (5, 25, 50), 5, 20),
    (0, (5, 25, 50), 25, 25),
    (0, (5, 25, 50), 50, 50),  # last entry: the rest up to 100
    (0, (5, 25, 50), 15, 85),  # not in the list: the rest up to 100
    (0, (5, 25, 50), 100, 1),  # nothing left: any step promotes
    (0, (50, 20, 80), 0, 50),  # unsorted: walks as listed
    (0, (50, 20, 80), 50, -30),
    (0, (50, 20, 80), 20, 60),
    (0, (120,), 0, 100),  # capped at what is left
    (0, (30, 80), 60, 40),  # off the list after an edit mid-analysis
]


@pytest.mark.parametrize("step, steps, current, expected", ROWS)
def test_engine_and_oracle_match_flagger(step, steps, current, expected):
    engine = AnalysisSpec(step_weight=step, step_weights=steps)
    assert engine.next_step_weight(current) == expected
    oracle = {"stepWeight": step, "stepWeights": list(steps)} if steps else {"stepWeight": step}
    assert next_step(oracle, current) == expected


@pytest.mark.parametrize("steps, weights", [
    ([5, 25, 50], [5, 25, 50]),
    ([50, 20, 80], [50, 20, 80]),
    ([50, 20], [50]),  # maxWeight is the last entry (20): 50 is already past it
    ([10, 60, 100], [10, 60, 100]),
])
def test_oracle_walks_flaggers_sequence(steps, weights):
    assert list(expected_weights({"analysis": {"stepWeights": steps}}).weights) == weights
