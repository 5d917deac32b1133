"""Assertions over recorded rollouts: what passes, and what a failure message tells the user."""

import pytest

from canary.harness import assertions as A
from canary.harness.expected import expected_weights
from canary.harness.samples import rollout
from canary.harness.timeline import Timeline, first_phase_time, rollout_window
from canary.harness.traffic import image_version, share_by_step

SEED = {"analysis": {"stepWeight": 10, "maxWeight": 100}}


def steps_of(tl: Timeline) -> list[int]:
    start, end = rollout_window(tl, "podinfo", "test")
    return A.observed_steps(tl, "podinfo", start, end, "test")[0]


def test_a_faithful_rollout_matches_the_spec():
    plan = expected_weights(SEED)
    tl = rollout(list(plan.weights))
    assert steps_of(tl) == list(plan.weights)
    A.assert_weight_sequence(plan, steps_of(tl))


def test_a_skipped_step_fails_with_both_sequences_listed():
    plan = expected_weights({"analysis": {"stepWeight": 10, "maxWeight": 50}})
    tl = rollout([10, 20, 40, 50])  # an engine that skipped 30
    with pytest.raises(A.RolloutAssertion) as exc:
        A.assert_weight_sequence(plan, steps_of(tl))
    msg = str(exc.value)
    assert "expected: [10, 20, 30, 40, 50]" in msg
    assert "observed: [10, 20, 40, 50]" in msg
    assert "missing [30]" in msg
    assert "stepWeight 10, maxWeight 50" in msg


def test_step_weights_plan_against_recorded_route():
    plan = expected_weights({"analysis": {"stepWeights": [5, 25, 50]}})
    tl = rollout(list(plan.weights))
    start, end = rollout_window(tl, "podinfo", "test")
    steps, traj = A.observed_steps(tl, "podinfo", start, end, "test")
    assert steps == [5, 25, 50] and traj == [0, 5, 25, 50, 0]


def test_events_in_order_pass_and_fail_clearly():
    tl = rollout([10, 20])
    A.assert_events_in_order(tl, ["New revision detected! Scaling up podinfo.test",
                                  "Advance podinfo.test canary weight 10",
                                  "Promotion completed!"], obj="Canary/podinfo")
    with pytest.raises(A.RolloutAssertion) as exc:
        A.assert_events_in_order(tl, ["Advance podinfo.test canary weight 20",
                                      "Advance podinfo.test canary weight 10"])
    assert "occurs, but before the previous expected event" in str(exc.value)
    assert "Advance podinfo.test canary weight 10" in str(exc.value)


def test_rollback_within_threshold_times_interval_plus_one_tick():
    tl = rollout([10, 20, 30], failed_after=1, threshold=5)
    start, _ = rollout_window(tl, "podinfo", "test")
    first = next(e["t"] for e in tl.of("canary", name="podinfo") if e["failedChecks"] >= 1)
    failed = first_phase_time(tl, "podinfo", "Failed", after=start)
    took = A.assert_rollback_within(first, failed, interval=10, threshold=5, time_scale=0.05)
    assert 40 <= took <= 60


def test_slow_rollback_reports_budget_and_observed_time():
    with pytest.raises(A.RolloutAssertion) as exc:
        A.assert_rollback_within(100.0, 104.0, interval=10, threshold=5, time_scale=0.05)
    msg = str(exc.value)
    assert "within 60s (threshold 5 x interval 10s + one tick)" in msg
    assert "observed: 80.0s" in msg


def test_never_rolled_back_is_reported():
    with pytest.raises(A.RolloutAssertion, match="never rolled back"):
        A.assert_rollback_within(1.0, None, interval=10, threshold=2, time_scale=0.05)


def test_client_failure_share_bound():
    tl = rollout([10, 20], failed_after=1, threshold=3, fail_share=0.5)
    start, end = rollout_window(tl, "podinfo", "test")
    with pytest.raises(A.RolloutAssertion) as exc:
        A.assert_failure_share(tl, start, end, 1.0, source="load")
    assert "expected: at most 1%" in str(exc.value)
    assert "observed:" in str(exc.value)
    A.assert_failure_share(tl, start, end, 50.0, source="load")


def test_no_client_traffic_is_not_a_pass():
    tl = Timeline(time_scale=0.05)
    with pytest.raises(A.RolloutAssertion, match="no requests"):
        A.assert_failure_share(tl, 0, None, 5.0)


def test_traffic_share_follows_weights_and_detects_a_wrong_split():
    tl = rollout([10, 50, 100], qps=200)
    start, end = rollout_window(tl, "podinfo", "test")
    rows = share_by_step(tl, "podinfo", "1.7.1", start, end, source="load")
    assert [r["weight"] for r in rows] == [10, 50, 100]
    A.assert_traffic_follows(rows)
    for r in rows:  # the mesh ignored the weights: the canary got nothing
        r["canary"] = 0
    with pytest.raises(A.RolloutAssertion, match="does not follow the declared weights"):
        A.assert_traffic_follows(rows)


def test_route_weights_and_leftovers_messages():
    A.assert_route_weights({"a": 100, "b": 0}, {"a": 100, "b": 0}, "podinfo")
    with pytest.raises(A.RolloutAssertion, match="expected: {'a': 100, 'b': 0}"):
        A.assert_route_weights({"a": 90, "b": 10}, {"a": 100, "b": 0}, "podinfo")
    with pytest.raises(A.RolloutAssertion, match="namespace test"):
        A.assert_nothing_left(["namespace test"])


def test_image_version():
    assert image_version("quay.io/stefanprodan/podinfo:1.7.1") == "1.7.1"
    assert image_version("localhost:5000/podinfo") == "latest"


def test_timeline_json_round_trip(tmp_path):
    tl = rollout([10, 20])
    path = tl.dump(tmp_path / "t.json")
    back = Timeline.load(path)
    assert back.entries == tl.to_dict()["entries"] and back.time_scale == 0.05


def test_rollback_must_follow_the_threshold_within_a_tick():
    assert A.assert_rollback_at_threshold(10.0, 10.5, interval=10, threshold=5,
                                          time_scale=0.05) == pytest.approx(10.0)
    with pytest.raises(A.RolloutAssertion, match="within one tick"):
        A.assert_rollback_at_threshold(10.0, 12.0, interval=10, threshold=5, time_scale=0.05)
    with pytest.raises(A.RolloutAssertion, match="never reached the threshold 5"):
        A.assert_rollback_at_threshold(None, 12.0, interval=10, threshold=5, time_scale=0.05)
