"""The progress deadline (Degraded, recovery) and the order of a Rollout's event reasons, as
argoproj/argo-rollouts records them (rollout/sync.go calculateRolloutConditions,
test/e2e/functional_test.go TestRolloutAbortRetryPromote)."""

from __future__ import annotations

from test_argo_engine import NEW_IMAGE, World, seed_rollout

from canary.engine.argo import get_condition
from canary.spec.rollout import parse_rollout


def basic_one_replica() -> World:
    """functional_test.go:41 abort-retry-promote: 1 replica, no traffic router,
    steps setWeight 50 and pause 3s."""
    ro = seed_rollout()
    canary = ro["spec"]["strategy"]["canary"]
    del canary["trafficRouting"]
    canary["steps"] = [{"setWeight": 50}, {"pause": {"duration": "3s"}}]
    return World(ro)


def test_event_reasons_in_argos_order_deploy_update_abort_retry_complete() -> None:
    w = basic_one_replica()
    w.settle()
    assert w.status["phase"] == "Healthy"
    w.set_image(NEW_IMAGE)
    w.settle()
    assert w.status["phase"] == "Paused"
    w.status["abort"] = True  # `kubectl argo rollouts abort`
    w.settle()
    assert w.status["phase"] == "Degraded"
    w.status.pop("abort")  # `kubectl argo rollouts retry`
    w.settle()
    assert w.status["phase"] == "Paused"
    w.advance(4)
    assert w.status["phase"] == "Healthy"
    # functional_test.go:92-116, after the controller's own RolloutAddedToInformer
    assert w.reasons() == [
        "RolloutUpdated", "NewReplicaSetCreated", "RolloutNotCompleted", "ScalingReplicaSet",
        "RolloutCompleted",
        "RolloutUpdated", "NewReplicaSetCreated", "RolloutNotCompleted", "ScalingReplicaSet",
        "RolloutStepCompleted", "RolloutPaused",
        "ScalingReplicaSet", "RolloutAborted",
        "ScalingReplicaSet", "RolloutStepCompleted", "RolloutPaused",
        "RolloutStepCompleted", "RolloutResumed", "ScalingReplicaSet", "RolloutCompleted",
    ]
    scaling = w.messages("ScalingReplicaSet")
    assert scaling[2].startswith("Scaled down") and "(revision 2) from 1 to 0" in scaling[2]
    assert scaling[-1].startswith("Scaled down") and "(revision 1) from 1 to 0" in scaling[-1]
    assert w.messages("RolloutCompleted")[-1].endswith("Completed all 2 canary steps")


def test_traffic_routed_update_records_not_completed_before_scaling() -> None:
    w = World(seed_rollout())
    w.settle()
    first = w.reasons()
    assert first[:3] == ["RolloutUpdated", "NewReplicaSetCreated", "RolloutNotCompleted"]
    w.events.clear()
    w.set_image(NEW_IMAGE)
    w.settle()
    r = w.reasons()
    assert r[:4] == ["RolloutUpdated", "NewReplicaSetCreated", "RolloutNotCompleted",
                     "ScalingReplicaSet"]
    assert r.count("RolloutNotCompleted") == 1


def test_initial_deploy_slower_than_the_deadline_is_degraded_then_healthy() -> None:
    """The measured gap of issue 12: pods that take longer than progressDeadlineSeconds on the
    first deploy turn the Rollout Degraded (ProgressDeadlineExceeded); once they are
    available it recovers to Healthy."""
    ro = seed_rollout()
    ro["spec"]["progressDeadlineSeconds"] = 10
    w = World(ro)
    w.auto_ready = False
    w.settle()
    assert w.status["phase"] == "Progressing"
    w.advance(9)
    assert w.status["phase"] == "Progressing"
    w.advance(2)
    name = f"rollouts-demo-{parse_rollout(w.rollout).pod_hash}"
    prog = get_condition(w.status, "Progressing")
    assert prog is not None
    assert (prog["status"], prog["reason"], prog["message"]) == (
        "False", "ProgressDeadlineExceeded", f'ReplicaSet "{name}" has timed out progressing.')
    assert w.status["phase"] == "Degraded"
    assert w.status["message"].startswith("ProgressDeadlineExceeded: ")
    w.make_ready()
    w.settle()
    prog = get_condition(w.status, "Progressing")
    assert prog is not None and prog["reason"] == "NewReplicaSetAvailable"
    assert prog["message"] == f'ReplicaSet "{name}" has successfully progressed.'
    assert w.status["phase"] == "Healthy"


def test_progress_restarts_the_deadline_and_a_pause_never_times_out() -> None:
    """Pods that keep coming up one by one never exceed the deadline; an indefinite pause
    step waits as long as the user likes (rollout/sync.go isIndefiniteStep)."""
    ro = seed_rollout()
    ro["spec"]["replicas"] = 3
    ro["spec"]["progressDeadlineSeconds"] = 10
    w = World(ro)
    w.settle()
    w.auto_ready = False
    w.set_image(NEW_IMAGE)
    w.settle()
    new = parse_rollout(w.rollout).pod_hash
    for _ in range(3):
        w.advance(8)
        rs = w.rs[new]
        rs.current = rs.replicas
        rs.ready = rs.available = min(rs.replicas, rs.available + 1)
        w.settle()
        assert w.status["phase"] != "Degraded"
    assert w.status["phase"] == "Paused"  # pause {} after setWeight 30
    w.advance(3600)
    assert w.status["phase"] == "Paused"


def test_deadline_on_update_uses_spec_time() -> None:
    """Deadlines are spec seconds: at time scale 0.1 a 10s deadline is 1s of wall time, and
    the engine compares wall timestamps with it scaled."""
    from canary.clock import FakeClock

    ro = seed_rollout()
    ro["spec"]["progressDeadlineSeconds"] = 10
    w = World(ro, FakeClock(scale=0.1))
    w.settle()
    w.auto_ready = False
    w.set_image("quay.io/stefanprodan/podinfo:does-not-exist")
    w.settle()
    start = w.clock.now()
    w.advance(5)
    assert w.status["phase"] == "Progressing"
    w.advance(6)
    assert w.status["phase"] == "Degraded"
    assert w.clock.now() - start < 1.2  # wall seconds
