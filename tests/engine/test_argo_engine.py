"""The Argo step walk, driven through the seed's Rollout on a fake clock.

``World`` is an in-memory cluster: it applies the engine's actions the way the controller
would and makes ReplicaSets ready instantly (or not, when told).
"""

from __future__ import annotations

import copy
from typing import Any

from support import manifest_object

from canary.clock import FakeClock
from canary.engine import argo
from canary.engine.argo import rollout_phase
from canary.engine.types import Event
from canary.spec.rollout import parse_rollout


def seed_rollout() -> dict[str, Any]:
    ro = manifest_object("argo-rollout-corrected.yaml", "Rollout")
    ro["metadata"]["generation"] = 1
    return ro


class World:
    def __init__(self, rollout: dict[str, Any], clock: FakeClock | None = None) -> None:
        self.rollout = rollout
        self.status: dict[str, Any] = {}
        self.clock = clock or FakeClock()
        self.rs: dict[str, argo.ReplicaSetObs] = {}
        self.selectors: dict[str, str] = {}
        self.weights: list[int] = []  # every route write that changed the canary weight
        self.events: list[Event] = []
        self.auto_ready = True
        self.last: argo.Decision | None = None

    @property
    def weight(self) -> int | None:
        return self.weights[-1] if self.weights else None

    def set_image(self, image: str) -> None:
        c = self.rollout["spec"]["template"]["spec"]["containers"][0]
        c["image"] = image
        self.rollout["metadata"]["generation"] += 1

    def reconcile(self) -> argo.Decision:
        spec = parse_rollout(self.rollout)
        obs = argo.Observations(now=self.clock.now(), replicasets=copy.deepcopy(self.rs),
                                generation=self.rollout["metadata"]["generation"],
                                scale=self.clock.scale)
        d = argo.reconcile(spec, self.status, obs)
        for a in d.actions:
            self.apply(a)
        self.status = d.status
        self.events.extend(d.events)
        self.last = d
        return d

    def apply(self, a: argo.Action) -> None:
        if isinstance(a, argo.CreateReplicaSet):
            self.rs[a.hash] = argo.ReplicaSetObs(a.name, a.hash, a.revision, a.replicas)
        elif isinstance(a, argo.ScaleReplicaSet):
            rs = next(r for r in self.rs.values() if r.name == a.name)
            rs.replicas = a.replicas
            rs.scale_down_at = a.scale_down_at
        elif isinstance(a, argo.DeleteReplicaSet):
            self.rs = {h: r for h, r in self.rs.items() if r.name != a.name}
        elif isinstance(a, argo.SetServiceSelector):
            self.selectors[a.service] = a.hash
        elif isinstance(a, argo.SetWeight):
            if self.weight != a.canary_weight:
                self.weights.append(a.canary_weight)
        if self.auto_ready:
            self.make_ready()

    def make_ready(self) -> None:
        for rs in self.rs.values():
            rs.current = rs.ready = rs.available = rs.replicas

    def settle(self, rounds: int = 5) -> None:
        for _ in range(rounds):
            self.reconcile()

    def advance(self, spec_seconds: float) -> None:
        self.clock.advance(spec_seconds)
        self.settle()

    def reasons(self) -> list[str]:
        return [e.reason for e in self.events]

    def messages(self, reason: str) -> list[str]:
        return [e.message for e in self.events if e.reason == reason]


NEW_IMAGE = "quay.io/stefanprodan/podinfo:1.7.1"


def started() -> World:
    w = World(seed_rollout())
    w.settle()
    return w


def paused_at_step_1() -> World:
    w = started()
    w.set_image(NEW_IMAGE)
    w.settle()
    return w


def promote(w: World) -> None:
    """What `canary rollouts promote` sends when paused: pauseConditions null."""
    w.status.pop("pauseConditions", None)
    w.settle()


def test_first_creation_goes_straight_to_100_percent_without_steps() -> None:
    w = started()
    st = w.status
    h = parse_rollout(w.rollout).pod_hash
    assert st["phase"] == "Healthy" and "message" not in st
    assert st["stableRS"] == st["currentPodHash"] == h
    assert st["currentStepIndex"] == 8
    assert w.rs[h].replicas == 1 and w.rs[h].name == f"rollouts-demo-{h}"
    assert w.weights == [0]
    assert w.selectors == {"podinfo-canary": h, "podinfo-stable": h}
    assert st["canary"]["weights"]["canary"] == {
        "weight": 0, "podTemplateHash": h, "serviceName": "podinfo-canary"}
    assert st["canary"]["weights"]["stable"]["weight"] == 100
    assert f"Rollout completed update to revision 1 ({h}): Initial deploy" in w.messages(
        "RolloutCompleted")
    assert "RolloutStepCompleted" not in w.reasons()
    assert st["observedGeneration"] == "1"
    types = {c["type"]: c["status"] for c in st["conditions"]}
    assert types["Healthy"] == "True" and types["Completed"] == "True"
    assert types["Available"] == "True"


def test_new_image_pauses_at_step_1_with_weight_30() -> None:
    w = paused_at_step_1()
    st = w.status
    assert st["phase"] == "Paused" and st["message"] == "CanaryPauseStep"
    assert st["currentStepIndex"] == 1
    assert st["controllerPause"] is True
    assert [p["reason"] for p in st["pauseConditions"]] == ["CanaryPauseStep"]
    assert w.weights == [0, 30]
    assert st["canary"]["weights"]["canary"]["weight"] == 30
    assert st["canary"]["weights"]["stable"]["weight"] == 70
    new = parse_rollout(w.rollout).pod_hash
    assert st["currentPodHash"] == new != st["stableRS"]
    assert w.rs[new].replicas == 1 and w.rs[st["stableRS"]].replicas == 1  # stable full scale
    assert w.selectors == {"podinfo-canary": new, "podinfo-stable": st["stableRS"]}
    assert w.messages("RolloutStepCompleted") == ["Rollout step 1/8 completed (setWeight: 30)"]
    assert w.messages("RolloutPaused") == ["Rollout is paused (CanaryPauseStep)"]
    assert "Traffic weight updated from 0 to 30" in w.messages("TrafficWeightUpdated")
    assert w.reasons().count("RolloutUpdated") == 2


def test_weight_waits_for_canary_pods() -> None:
    w = started()
    w.auto_ready = False
    w.set_image(NEW_IMAGE)
    w.settle()
    assert w.weights == [0] and w.status["currentStepIndex"] == 0
    assert w.status["phase"] == "Progressing"
    w.make_ready()
    w.settle()
    assert w.weights == [0, 30] and w.status["phase"] == "Paused"


def test_promote_walks_timed_pauses_to_healthy() -> None:
    w = paused_at_step_1()
    old = w.status["stableRS"]
    promote(w)
    assert w.weights[-1] == 40
    assert w.status["phase"] == "Paused" and w.status["currentStepIndex"] == 3
    w.advance(5)
    assert w.weights[-1] == 40  # 10s pause not over
    w.advance(6)
    assert w.weights[-1] == 60 and w.status["currentStepIndex"] == 5
    w.advance(11)
    assert w.weights[-1] == 80
    w.advance(11)
    st = w.status
    new = parse_rollout(w.rollout).pod_hash
    assert w.weights == [0, 30, 40, 60, 80, 100, 0]
    assert st["phase"] == "Healthy" and st["stableRS"] == new
    assert st["currentStepIndex"] == 8
    assert st["canary"]["weights"]["canary"]["weight"] == 0
    assert st["canary"]["weights"]["stable"] == {
        "weight": 100, "podTemplateHash": new, "serviceName": "podinfo-stable"}
    assert w.selectors == {"podinfo-canary": new, "podinfo-stable": new}
    assert w.messages("RolloutStepCompleted")[-1] == "Rollout step 8/8 completed (pause: 10s)"
    assert (f"Rollout completed update to revision 2 ({new}): Completed all 8 canary steps"
            in w.messages("RolloutCompleted"))
    assert "RolloutResumed" in w.reasons()
    # The old stable keeps running for scaleDownDelaySeconds (30s), then goes to 0.
    assert w.rs[old].replicas == 1 and w.rs[old].scale_down_at is not None
    w.advance(29)
    assert w.rs[old].replicas == 1
    w.advance(2)
    assert w.rs[old].replicas == 0


def test_abort_at_60_then_retry_restarts_from_step_0() -> None:
    w = paused_at_step_1()
    promote(w)
    w.advance(11)
    assert w.weights[-1] == 60
    w.status["abort"] = True  # `canary rollouts abort`
    w.reconcile()
    st = w.status
    new = parse_rollout(w.rollout).pod_hash
    assert w.weights[-1] == 0
    assert st["phase"] == "Degraded"
    assert st["message"] == "RolloutAborted: Rollout aborted update to revision 2"
    assert st["currentStepIndex"] == 0 and st["abortedAt"]
    assert st["canary"]["weights"]["canary"]["weight"] == 0
    assert w.selectors["podinfo-canary"] == st["stableRS"]
    assert w.messages("RolloutAborted") == ["Rollout aborted update to revision 2"]
    w.advance(31)  # abortScaleDownDelaySeconds
    assert w.rs[new].replicas == 0
    assert w.status["phase"] == "Degraded"
    w.status["abort"] = False  # `canary rollouts retry`
    w.settle()
    st = w.status
    assert st["phase"] == "Paused" and st["currentStepIndex"] == 1
    assert w.weights[-1] == 30 and w.rs[new].replicas == 1
    assert "abortedAt" not in st
    assert w.messages("RolloutStepCompleted").count(
        "Rollout step 1/8 completed (setWeight: 30)") == 2


def test_promote_full_skips_remaining_steps() -> None:
    w = paused_at_step_1()
    w.status["promoteFull"] = True
    w.settle()
    assert w.status["phase"] == "Healthy"
    assert w.status["stableRS"] == parse_rollout(w.rollout).pod_hash
    assert "promoteFull" not in w.status
    assert w.weights == [0, 30, 0]  # the weight holds at 30 until the switch, as Argo
    assert any(m.endswith("Full promotion requested") for m in w.messages("RolloutCompleted"))


def test_promote_when_not_paused_skips_the_current_step() -> None:
    w = started()
    w.auto_ready = False
    w.set_image(NEW_IMAGE)
    w.settle()
    w.status["currentStepIndex"] = 1  # promote outside a pause: index + 1
    w.make_ready()
    w.settle()
    assert w.status["phase"] == "Paused" and w.status["currentStepIndex"] == 1


def test_set_canary_scale_sets_pods_not_weight() -> None:
    ro = seed_rollout()
    ro["spec"]["replicas"] = 4
    ro["spec"]["strategy"]["canary"]["steps"] = [
        {"setCanaryScale": {"replicas": 3}}, {"setWeight": 25}, {"pause": {}}]
    w = World(ro)
    w.settle()
    w.set_image(NEW_IMAGE)
    w.settle()
    new = parse_rollout(w.rollout).pod_hash
    assert w.rs[new].replicas == 3 and w.weights[-1] == 25
    assert "Rollout step 1/3 completed (setCanaryScale{replicas: 3})" in w.messages(
        "RolloutStepCompleted")


def test_canary_replicas_follow_weight_rounded_up() -> None:
    ro = seed_rollout()
    ro["spec"]["replicas"] = 5
    w = World(ro)
    w.settle()
    w.set_image(NEW_IMAGE)
    w.settle()
    new = parse_rollout(w.rollout).pod_hash
    assert w.rs[new].replicas == 2  # ceil(5 * 30 / 100)
    assert w.rs[w.status["stableRS"]].replicas == 5


def test_template_back_to_stable_is_fast_tracked() -> None:
    w = paused_at_step_1()
    stable = w.status["stableRS"]
    w.rollout["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "quay.io/stefanprodan/podinfo:1.7.0")
    w.rollout["metadata"]["generation"] += 1
    w.settle()
    assert w.status["phase"] == "Healthy" and w.status["currentPodHash"] == stable
    assert w.weights[-1] == 0


def test_invalid_spec_is_degraded_with_the_field_named() -> None:
    ro = seed_rollout()
    ro["spec"]["strategy"]["canary"]["steps"][3] = {"pause": {"duration": "1d"}}
    w = World(ro)
    w.settle()
    st = w.status
    assert st["phase"] == "Degraded"
    assert st["message"].startswith("InvalidSpec: spec.strategy.canary.steps[3].pause.duration")
    assert w.messages("InvalidSpec") and len(w.messages("InvalidSpec")) == 1
    assert w.rs == {}


def test_unknown_plugin_key_is_a_warning_event_and_condition() -> None:
    ro = seed_rollout()
    cfg = ro["spec"]["strategy"]["canary"]["trafficRouting"]["plugins"][
        "argoproj-labs/gatewayAPI"]
    cfg["httpRoutes"] = [{"name": cfg.pop("httpRoute")}]
    cfg["namepsace"] = "test"
    w = World(ro)
    w.settle()
    msg = ('spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"].namepsace: '
           "unknown field (did you mean namespace?)")
    assert w.messages("UnknownField") == [msg]  # once, not every reconcile
    cond = next(c for c in w.status["conditions"] if c["type"] == "SpecWarning")
    assert cond["message"] == msg and cond["status"] == "True"
    assert w.status["phase"] == "Healthy"


def test_phase_reports_unobserved_generation() -> None:
    st = {"observedGeneration": "1", "stableRS": "a", "currentPodHash": "a"}
    assert rollout_phase(st, generation=2) == (
        "Progressing", "waiting for rollout spec update to be observed")
    assert rollout_phase({"controllerPause": True}) == (
        "Progressing", "waiting for rollout to unpause")


def test_canary_that_never_gets_ready_exceeds_the_progress_deadline() -> None:
    w = started()
    w.auto_ready = False
    w.set_image("quay.io/stefanprodan/podinfo:does-not-exist")
    w.settle()
    w.advance(590)
    assert w.status["phase"] == "Progressing"
    w.advance(11)
    name = f"rollouts-demo-{parse_rollout(w.rollout).pod_hash}"
    msg = f'ReplicaSet "{name}" has timed out progressing.'
    assert w.status["phase"] == "Degraded"
    assert w.status["message"] == f"ProgressDeadlineExceeded: {msg}"
    assert w.messages("ProgressDeadlineExceeded") == []  # a condition, not an event (Argo)
    assert w.weights == [0]  # traffic never moved to pods that are not there
    w.make_ready()
    w.settle()
    assert w.status["phase"] == "Paused" and w.weights == [0, 30]


def test_old_revisions_beyond_history_limit_are_deleted() -> None:
    w = started()  # the seed keeps revisionHistoryLimit: 2
    for tag in ("1.7.1", "1.7.2", "1.7.3", "1.7.4"):
        w.set_image(f"quay.io/stefanprodan/podinfo:{tag}")
        w.settle()
        w.status["promoteFull"] = True
        w.settle()
        w.advance(31)
    revisions = sorted(r.revision for r in w.rs.values())
    assert revisions == [3, 4, 5]  # two old ones, scaled down, plus the stable
    assert w.status["phase"] == "Healthy"


def test_aborted_rollout_reverted_to_stable_template_is_healthy() -> None:
    w = paused_at_step_1()
    stable = w.status["stableRS"]
    w.status["abort"] = True
    w.settle()
    assert w.status["phase"] == "Degraded"
    w.rollout["spec"]["template"]["spec"]["containers"][0]["image"] = (
        "quay.io/stefanprodan/podinfo:1.7.0")
    w.rollout["metadata"]["generation"] += 1
    w.settle()
    assert w.status["phase"] == "Healthy" and w.status["stableRS"] == stable
    assert "abort" not in w.status and w.weights[-1] == 0


def test_new_image_after_abort_starts_a_fresh_update() -> None:
    w = paused_at_step_1()
    w.status["abort"] = True
    w.settle()
    w.set_image("quay.io/stefanprodan/podinfo:1.7.2")
    w.settle()
    st = w.status
    assert st["phase"] == "Paused" and st["currentStepIndex"] == 1
    assert "abort" not in st and "abortedAt" not in st
    assert w.messages("RolloutUpdated")[-1] == "Rollout updated to revision 3"
    assert w.weights[-2:] == [0, 30]


def test_basic_canary_without_traffic_routing_trades_pods() -> None:
    ro = seed_rollout()
    ro["spec"]["replicas"] = 4
    del ro["spec"]["strategy"]["canary"]["trafficRouting"]
    w = World(ro)
    w.settle()
    old = w.status["stableRS"]
    w.set_image(NEW_IMAGE)
    w.settle()
    new = parse_rollout(w.rollout).pod_hash
    # Argo's nearest split may use one surge pod (default maxSurge 25% of 4 = 1):
    # utils/replicaset/canary.go approximateWeightedCanaryStableReplicaCounts
    assert (w.rs[new].replicas, w.rs[old].replicas) == (1, 3)  # 30% of 4: 1 of 4
    assert w.weights == [] and "weights" not in (w.status.get("canary") or {})
    assert w.status["phase"] == "Paused"
    promote(w)
    assert (w.rs[new].replicas, w.rs[old].replicas) == (2, 3)  # 40%: 2 of 5, stable kept
    w.advance(11)
    w.advance(11)
    assert (w.rs[new].replicas, w.rs[old].replicas) == (4, 1)  # 80%: 4 of 5
    w.advance(11)
    w.settle()
    assert w.status["phase"] == "Healthy"
    assert (w.rs[new].replicas, w.rs[old].replicas) == (4, 0)  # no scale-down delay
