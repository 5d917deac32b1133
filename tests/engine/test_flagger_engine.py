"""The Flagger decision function, tick by tick on a fake clock: phases, weights, events."""

from __future__ import annotations

import pytest
from support.flagger_world import World, canary_obj

from canary.engine.types import Event, HookResult, PostRollout, Readiness, ScaleTarget, SetRoutes
from canary.spec.canary import parse_canary

NOT_READY = Readiness(False, True, "waiting for rollout to finish: 0 of 1 (readyThreshold 100%) "
                                   "updated replicas are available")


def world(analysis: dict | None = None, **spec) -> World:
    return World(spec=parse_canary(canary_obj(analysis, **spec)))


def test_initialization_waits_for_primary_then_scales_target_to_zero() -> None:
    w = World(primary=Readiness(False, True, "waiting for rollout to finish: 0 of 1 "
                                              "(readyThreshold 100%) updated replicas are "
                                              "available"))
    w.tick()
    assert w.status["phase"] == "Initializing"
    cond = w.status["conditions"][0]
    assert (cond["type"], cond["status"], cond["message"]) == (
        "Promoted", "Unknown", "New Deployment detected, starting initialization.")
    assert w.events == [("Warning", "podinfo-primary.test not ready: waiting for rollout to "
                                    "finish: 0 of 1 (readyThreshold 100%) updated replicas are "
                                    "available")]
    assert w.target_replicas == 1
    w.primary = Readiness(True)
    d = w.tick()
    assert ScaleTarget(0) in d.actions and w.target_replicas == 0
    assert w.status["phase"] == "Initialized"
    assert w.status["lastAppliedSpec"] == w.status["lastPromotedSpec"] == "v1"
    assert w.status["conditions"][0]["status"] == "True"
    assert w.status["conditions"][0]["message"] == "Deployment initialization completed."
    assert w.events[-1] == ("Normal", "Initialization done! podinfo.test")
    # nothing changed: idle, no actions, no status change
    before = dict(w.status)
    d = w.tick()
    assert d.actions == [] and w.status == before and d.summary == "idle"


def test_successful_rollout_weights_events_and_promotion() -> None:
    w = World()
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    assert w.status["phase"] == "Progressing" and w.status["canaryWeight"] == 0
    assert w.messages() == ["New revision detected! Scaling up podinfo.test"]
    assert w.target_replicas == 1
    assert w.status["conditions"][0]["message"] == \
        "New revision detected, progressing canary analysis."
    w.tick()
    assert w.messages()[1:] == ["Starting canary analysis for podinfo.test",
                                "Advance podinfo.test canary weight 10"]
    assert "analysis" not in w.needs  # no metric check at weight 0
    w.run_until("Promoting")
    assert w.weights == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert w.messages()[-1] == "Copying podinfo.test template spec to podinfo-primary.test"
    assert w.primary_hash == "v2" and w.route == (0, 100)
    assert w.status["canaryWeight"] == 100
    # primary rolling out: retry without counting a failed check
    w.primary = Readiness(False, True, "waiting for rollout to finish: 1 old replicas are "
                                       "pending termination")
    w.tick()
    assert w.status["phase"] == "Promoting"
    assert w.events[-1] == ("Warning", "podinfo-primary.test not ready: waiting for rollout to "
                                       "finish: 1 old replicas are pending termination")
    w.primary = Readiness(True)
    w.tick()
    assert w.status["phase"] == "Finalising" and w.route == (100, 0)
    assert w.status["canaryWeight"] == 0
    assert w.messages()[-1] == "Routing all traffic to primary"
    d = w.tick()
    assert w.status["phase"] == "Succeeded" and w.target_replicas == 0
    assert PostRollout("Succeeded") in d.actions
    assert w.messages()[-1] == "Promotion completed! Scaling down podinfo.test"
    assert w.status["lastPromotedSpec"] == "v2"
    assert w.status["conditions"][0]["message"] == \
        "Canary analysis completed successfully, promotion finished."
    assert w.tick().summary == "idle"


def test_failed_checks_roll_back_on_the_tick_after_threshold() -> None:
    w = World()
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()  # weight 10
    halt = Event("Warning", "Halt podinfo.test advancement success-rate 42.86 < 99")
    w.analysis_ok, w.analysis_events = False, [halt]
    for n in range(1, 6):
        w.tick()
        assert w.status["failedChecks"] == n and w.status["phase"] == "Progressing"
        assert w.route == (90, 10)
    d = w.tick()
    assert w.messages()[-2:] == ["Rolling back podinfo.test failed checks threshold reached 5",
                                 "Canary failed! Scaling down podinfo.test"]
    assert [e for e in d.events if e.type == "Warning"] == d.events
    assert w.route == (100, 0) and w.target_replicas == 0
    assert w.status["phase"] == "Failed"
    assert (w.status["failedChecks"], w.status["canaryWeight"]) == (0, 0)
    assert w.status["conditions"][0]["status"] == "False"
    assert w.status["conditions"][0]["message"] == \
        "Canary analysis failed, Deployment scaled to zero."
    assert PostRollout("Failed") in d.actions
    assert w.primary_hash == "v1"
    assert w.tick().summary == "idle"


def test_failed_checks_are_not_reset_by_a_passing_tick() -> None:
    w = World()
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()
    w.analysis_ok = False
    w.tick()
    w.analysis_ok = True
    w.tick()
    assert w.status["failedChecks"] == 1 and w.status["canaryWeight"] == 20


@pytest.mark.parametrize("analysis,expected", [
    ({"interval": "10s", "threshold": 1, "stepWeight": 20, "maxWeight": 50}, [20, 40, 60]),
    ({"interval": "10s", "threshold": 1, "stepWeights": [1, 2, 10, 80]}, [1, 2, 10, 80]),
    ({"interval": "10s", "threshold": 1, "stepWeight": 30}, [30, 60, 90, 100]),
    ({"interval": "10s", "threshold": 1, "stepWeights": [5, 50], "maxWeight": 10}, [5, 50]),
    # unsorted, as Flagger walks it (scheduler.go:58): the canary weight goes down on the way
    ({"interval": "10s", "threshold": 1, "stepWeights": [50, 20, 80]}, [50, 20, 80]),
])
def test_weight_steps_and_overshoot(analysis: dict, expected: list[int]) -> None:
    w = world(analysis)
    w.initialize()
    w.target_hash = "v2"
    w.run_until("Promoting")
    assert w.weights == expected


def test_step_weight_promotion_shifts_primary_gradually() -> None:
    w = world({"interval": "10s", "threshold": 1, "stepWeight": 50, "maxWeight": 50,
               "stepWeightPromotion": 30})
    w.initialize()
    w.target_hash = "v2"
    w.run_until("Promoting")
    w.run_until("Finalising")
    assert [m for m in w.messages() if "primary weight" in m] == [
        "Advance podinfo.test primary weight 80", "Advance podinfo.test primary weight 100"]
    assert w.route == (100, 0)


def test_revert_to_primary_spec_starts_nothing() -> None:
    w = World()
    w.initialize()
    w.target_hash = "v2"
    w.run_until("Succeeded")
    w.events.clear()
    w.target_hash = "v1"  # the old spec is not the promoted one: a new run
    w.tick()
    assert w.status["phase"] == "Progressing"
    w2 = World()
    w2.initialize()
    w2.target_hash = "v1"
    assert w2.tick().summary == "idle"


def test_new_revision_mid_analysis_restarts() -> None:
    w = World()
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()
    w.tick()
    assert w.route == (80, 20)
    w.analysis_ok = False
    w.tick()
    w.target_hash = "v3"
    d = w.tick()
    assert w.messages()[-1] == "New revision detected! Restarting analysis for podinfo.test"
    assert SetRoutes(100, 0) in d.actions and w.route == (100, 0)
    assert (w.status["phase"], w.status["canaryWeight"], w.status["failedChecks"]) == \
        ("Progressing", 0, 0)
    assert w.status["lastAppliedSpec"] == "v3"
    w.analysis_ok = True
    w.tick()
    assert w.messages()[-2] == "Starting canary analysis for podinfo.test"


def test_revert_to_promoted_spec_mid_analysis_does_not_restart() -> None:
    w = World()
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()
    w.target_hash = "v1"
    w.tick()
    assert "Restarting" not in " ".join(w.messages()) and w.route == (80, 20)


def test_canary_not_ready_waits_then_progress_deadline_rolls_back() -> None:
    w = World()
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.canary = NOT_READY
    w.tick()
    assert w.events[-1] == ("Warning", "canary deployment podinfo.test not ready: waiting for "
                                       "rollout to finish: 0 of 1 (readyThreshold 100%) updated "
                                       "replicas are available")
    assert w.status["failedChecks"] == 0 and w.status["phase"] == "Progressing"
    w.canary = Readiness(False, False, 'deployment "podinfo" exceeded its progress deadline')
    w.tick()
    assert w.messages()[-2:] == [
        'Rolling back podinfo.test progress deadline exceeded canary deployment podinfo.test '
        'not ready: deployment "podinfo" exceeded its progress deadline',
        "Canary failed! Scaling down podinfo.test"]
    assert w.status["phase"] == "Failed"


def test_failed_release_is_retried_only_by_a_template_change() -> None:
    w = World()
    w.initialize()
    w.target_hash = "v2"
    w.analysis_ok = False
    w.run_until("Failed")
    assert w.tick().summary == "idle"  # same failed spec: nothing
    w.target_hash = "v1"  # reverted to the primary's spec: nothing, but remembered
    assert w.tick().summary == "idle"
    assert w.status["lastAppliedSpec"] == "v1"
    w.target_hash = "v2"  # re-applying the failed spec starts a new run
    w.tick()
    assert w.status["phase"] == "Progressing"


def test_crash_between_route_write_and_status_write_skips_no_weight() -> None:
    w = World()
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()
    w.tick()
    w.tick(crash_before_status=True)  # route at 30, status still 20
    assert w.route == (70, 30) and w.status["canaryWeight"] == 20
    w.run_until("Promoting")
    assert w.weights == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]


def test_crash_after_promote_before_status_promotes_once_more_idempotently() -> None:
    w = world({"interval": "10s", "threshold": 1, "stepWeight": 50, "maxWeight": 50})
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()
    w.tick(crash_before_status=True)  # Promote done, status still Progressing
    assert w.primary_hash == "v2" and w.status["phase"] == "Progressing"
    w.tick()
    assert w.status["phase"] == "Promoting"
    w.run_until("Succeeded")
    assert w.messages().count("Promotion completed! Scaling down podinfo.test") == 1


WEBHOOKS = [{"name": "gate", "type": "confirm-rollout", "url": "http://lt/gate"},
            {"name": "acceptance", "type": "pre-rollout", "url": "http://lt/"},
            {"name": "traffic", "type": "confirm-traffic-increase", "url": "http://lt/t"},
            {"name": "promo", "type": "confirm-promotion", "url": "http://lt/p"},
            {"name": "rb", "type": "rollback", "url": "http://lt/rb"}]


def hooked() -> World:
    return world({"interval": "10s", "threshold": 2, "stepWeight": 50, "maxWeight": 50,
                  "webhooks": WEBHOOKS})


def test_confirm_rollout_gate() -> None:
    w = hooked()
    w.initialize()
    w.target_hash = "v2"
    w.hooks["confirm-rollout"] = [HookResult("gate", False, "denied")]
    w.tick()
    assert w.status["phase"] == "Waiting"
    assert w.events == [("Warning", "Halt podinfo.test advancement waiting for approval gate")]
    assert w.status["conditions"][0]["message"] == "Waiting for approval."
    w.tick()
    assert len(w.events) == 1  # no repeated event while still waiting
    w.hooks["confirm-rollout"] = [HookResult("gate", True)]
    w.tick()
    assert w.messages()[-2:] == ["Confirm-rollout check gate passed",
                                 "New revision detected! Scaling up podinfo.test"]
    assert w.status["phase"] == "Progressing"


def test_pre_rollout_failure_counts_a_failed_check() -> None:
    w = hooked()
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.hooks["pre-rollout"] = [HookResult("acceptance", False, "exit status 1")]
    w.hooks["rollback"] = [HookResult("rb", False, "no")]
    w.tick()
    assert w.status["failedChecks"] == 1 and w.route == (100, 0)
    assert w.messages()[-1] == \
        "Halt podinfo.test advancement pre-rollout check acceptance failed exit status 1"
    assert "Rollback hook rb not signaling a rollback" in w.messages()
    w.hooks["pre-rollout"] = [HookResult("acceptance", True)]
    w.hooks["confirm-traffic-increase"] = [HookResult("traffic", False, "closed")]
    w.tick()
    assert w.messages()[-1] == \
        "Halt podinfo.test advancement waiting for traffic increase approval traffic"
    assert w.status["failedChecks"] == 1 and w.route == (100, 0)
    w.hooks["confirm-traffic-increase"] = [HookResult("traffic", True)]
    w.tick()
    assert w.messages()[-3:] == ["Pre-rollout check acceptance passed",
                                 "Confirm-traffic-increase check traffic passed",
                                 "Advance podinfo.test canary weight 50"]


def test_confirm_promotion_waits_then_promotes() -> None:
    w = hooked()
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()
    assert w.route == (50, 50)
    w.hooks["confirm-promotion"] = [HookResult("promo", False, "closed")]
    w.tick()
    assert w.status["phase"] == "WaitingPromotion"
    assert w.status["canaryWeight"] == 0 and w.route == (50, 50)  # as Flagger (issue #1819)
    assert w.messages()[-1] == \
        "Halt podinfo.test advancement waiting for promotion approval promo"
    w.hooks["confirm-promotion"] = [HookResult("promo", True)]
    w.tick()
    assert w.messages()[-2:] == ["Confirm-promotion check promo passed",
                                 "Copying podinfo.test template spec to podinfo-primary.test"]
    assert w.status["phase"] == "Promoting"


def test_manual_rollback_webhook() -> None:
    w = hooked()
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()
    w.hooks["rollback"] = [HookResult("rb", True)]
    w.tick()
    assert w.messages()[-3:] == ["Rollback check rb passed",
                                 "Rolling back podinfo.test manual webhook invoked",
                                 "Canary failed! Scaling down podinfo.test"]
    assert w.status["phase"] == "Failed" and w.route == (100, 0)


def test_skip_analysis_promotes_in_one_tick() -> None:
    w = world(None, skipAnalysis=True)
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()
    assert w.messages()[-2:] == ["Copying podinfo.test template spec to podinfo-primary.test",
                                 "Promotion completed! Canary analysis was skipped for "
                                 "podinfo.test"]
    assert w.status["phase"] == "Succeeded" and w.primary_hash == "v2"
    assert w.target_replicas == 0


def test_primary_failure_during_promotion_routes_to_canary() -> None:
    w = world({"interval": "10s", "threshold": 1, "stepWeight": 50, "maxWeight": 50})
    w.initialize()
    w.target_hash = "v2"
    w.run_until("Promoting")
    w.primary = Readiness(False, False, 'deployment "podinfo-primary" exceeded its progress '
                                        'deadline')
    w.tick()
    assert w.status["phase"] == "Failed" and w.route == (0, 100)
    assert w.status["canaryWeight"] == 100
    assert w.messages()[-1] == ('Promotion of podinfo.test failed, primary not ready: '
                                'deployment "podinfo-primary" exceeded its progress deadline')


def test_suspended_canary_does_nothing() -> None:
    w = world(None, suspend=True)
    d = w.tick()
    assert w.messages() == ["skipping canary run as object is suspended"]
    assert [a for a in d.actions if not isinstance(a, Event)] == []


def test_crash_inside_a_rollback_still_completes_it() -> None:
    w = hooked()
    w.initialize()
    w.target_hash = "v2"
    w.tick()
    w.tick()
    w.hooks["rollback"] = [HookResult("rb", True)]
    w.tick(crash_before_status=True)  # routes 100/0 and target at 0, status still Progressing
    assert w.status["phase"] == "Progressing" and w.target_replicas == 0
    w.hooks["rollback"] = [HookResult("rb", False, "closed")]  # the signal went away
    w.tick()
    assert w.status["phase"] == "Failed" and w.route == (100, 0)
    assert w.messages()[-1] == "Canary failed! Scaling down podinfo.test"
