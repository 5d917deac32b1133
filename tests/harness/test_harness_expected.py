"""The expected weight sequence, derived from a Canary spec the way Flagger steps it."""

import pytest

from canary.harness.expected import SpecError, analysis_seconds, expected_weights


def weights(**analysis):
    return list(expected_weights({"spec": {"analysis": analysis}}).weights)


def test_seed_canary_steps_by_ten_to_one_hundred():
    assert weights(stepWeight=10, maxWeight=100) == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]


def test_step_weight_overshoots_max_weight_like_flagger():
    # Flagger checks canaryWeight < maxWeight *before* adding a step: 20, 40, 60.
    assert weights(stepWeight=20, maxWeight=50) == [20, 40, 60]


def test_step_weight_is_capped_at_one_hundred():
    assert weights(stepWeight=30, maxWeight=100) == [30, 60, 90, 100]


def test_max_weight_defaults_to_one_hundred():
    assert weights(stepWeight=25) == [25, 50, 75, 100]


def test_step_weights_are_walked_in_order():
    assert weights(stepWeights=[5, 25, 50]) == [5, 25, 50]


def test_step_weights_ignore_max_weight():
    assert weights(stepWeights=[1, 2, 10, 80], maxWeight=50) == [1, 2, 10, 80]


def test_step_weights_above_one_hundred_are_capped():
    assert weights(stepWeights=[10, 20, 150]) == [10, 20, 100]


def test_step_weight_wins_over_step_weights():
    # ... but maxWeight still comes from the last stepWeights value (Flagger's maxWeight()).
    plan = expected_weights({"analysis": {"stepWeight": 50, "stepWeights": [5, 25]}})
    assert list(plan.weights) == [50]
    assert "stepWeights ignored" in plan.source


def test_plan_names_its_source_and_full_route_trajectory():
    plan = expected_weights({"analysis": {"stepWeights": [5, 25, 50]}})
    assert plan.source == "stepWeights [5, 25, 50]"
    assert plan.route_trajectory() == [0, 5, 25, 50, 0]


@pytest.mark.parametrize("analysis, field", [
    ({}, "neither stepWeight nor stepWeights"),
    ({"stepWeight": "ten"}, "spec.analysis.stepWeight"),
    ({"stepWeights": [10, 10, 30]}, "never reaches maxWeight 30"),
    ({"stepWeights": [0, 5]}, "must be > 0"),
    ({"stepWeights": "5,25"}, "list of integers"),
])
def test_bad_specs_name_the_field(analysis, field):
    with pytest.raises(SpecError, match=field):
        expected_weights({"analysis": analysis})


def test_interval_and_threshold_use_flagger_defaults():
    assert analysis_seconds({"spec": {"analysis": {"interval": "10s", "threshold": 5}}}) == (10, 5)
    assert analysis_seconds({"spec": {"analysis": {}}}) == (60, 1)
    assert analysis_seconds({"spec": {"analysis": {"interval": "2s", "threshold": 0}}}) == (10, 1)
