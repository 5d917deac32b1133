"""maxSurge / maxUnavailable and dynamicStableScale through the engine's reconcile, with pods
that become available only when the test says so (test/e2e/canary_test.go scenarios)."""

from __future__ import annotations

from typing import Any

from test_argo_engine import NEW_IMAGE, World, seed_rollout

from canary.spec.rollout import parse_rollout


def basic(replicas: int, surge: Any, unavailable: Any, steps: list[Any] | None) -> World:
    ro = seed_rollout()
    ro["spec"]["replicas"] = replicas
    canary = ro["spec"]["strategy"]["canary"]
    del canary["trafficRouting"]
    canary.update(maxSurge=surge, maxUnavailable=unavailable)
    if steps is None:
        del canary["steps"]
    else:
        canary["steps"] = steps
    w = World(ro)
    w.settle()
    w.auto_ready = False
    return w


def counts(w: World) -> tuple[int, int]:
    """(canary, stable) spec.replicas, as ExpectCanaryStablePodCount reads them."""
    new = parse_rollout(w.rollout).pod_hash
    stable = w.status["stableRS"]
    return (w.rs[new].replicas if new in w.rs else 0,
            w.rs[stable].replicas if stable != new else 0)


def pods_exist(w: World, ready: set[str]) -> None:
    """Every ReplicaSet's pods exist; only those of ``ready`` hashes become available."""
    for h, rs in w.rs.items():
        rs.current = rs.replicas
        rs.ready = rs.available = rs.replicas if h in ready else 0


def settle(w: World, ready: set[str], rounds: int = 6) -> None:
    for _ in range(rounds):
        w.reconcile()
        pods_exist(w, ready)
    w.reconcile()


def test_crashing_canary_is_bounded_by_max_surge() -> None:
    """Issue 12 acceptance 3 / canary_test.go TestRolloutScalingDuringUpdate: 4 replicas,
    maxSurge 2, maxUnavailable 0, a canary whose pods never start: status.replicas 6 with
    canary 2 and stable 4; scaling to 8 gives 6/4, back to 4 gives 2/4."""
    w = basic(4, 2, 0, None)
    stable = w.status["stableRS"]
    w.rollout["spec"]["template"]["spec"]["containers"][0]["command"] = ["/bad-command"]
    w.rollout["metadata"]["generation"] += 1
    settle(w, {stable})
    assert counts(w) == (2, 4)
    assert w.status["replicas"] == 6 and w.status["availableReplicas"] == 4
    assert w.status["phase"] == "Progressing"
    for replicas, want in ((8, (6, 4)), (4, (2, 4))):
        w.rollout["spec"]["replicas"] = replicas
        w.rollout["metadata"]["generation"] += 1
        settle(w, {stable})
        assert counts(w) == want, replicas
        assert w.status["replicas"] == sum(want)


def test_reducing_weight_honors_max_unavailable() -> None:
    """canary_test.go TestReduceWeightAndHonorMaxUnavailable: 3 replicas, maxSurge 2,
    maxUnavailable 0; at setWeight 100 the canary has 3 pods and the stable none; going to
    setWeight 0 grows the stable by the surge first and keeps the canary until the stable's
    pods are available."""
    w = basic(3, 2, 0, [{"setWeight": 100}, {"pause": {}}, {"setWeight": 0}, {"pause": {}}])
    stable = w.status["stableRS"]
    w.set_image(NEW_IMAGE)
    new = parse_rollout(w.rollout).pod_hash
    settle(w, {stable, new})
    assert w.status["phase"] == "Paused" and counts(w) == (3, 0)
    w.status.pop("pauseConditions", None)  # promote
    settle(w, {new})  # the stable's new pods are still starting
    assert counts(w) == (3, 2)
    settle(w, {stable, new})
    assert counts(w) == (0, 3)
    assert w.status["phase"] == "Paused" and w.status["currentStepIndex"] == 3


def test_percentages_round_as_argo_does() -> None:
    """10 replicas, maxSurge 25% (3 pods, rounded up), maxUnavailable 25% (2, rounded down):
    on the way to setWeight 50 no pass asks for more than 13 pods or leaves fewer than 8
    available. The new set is created at 0 (as Argo does); then the canary surges by 3 while
    the stable gives up 2."""
    w = basic(10, "25%", "25%", [{"setWeight": 50}, {"pause": {}}])
    w.set_image(NEW_IMAGE)
    seen = []
    for _ in range(8):
        w.reconcile()
        c, s = counts(w)
        seen.append((c, s))
        assert c + s <= 13
        assert sum(min(r.available, r.replicas) for r in w.rs.values()) >= 8
        pods_exist(w, set(w.rs))  # pods start one pass later
    assert seen[0] == (0, 10) and seen[1] == (3, 8)
    assert counts(w) == (5, 5) and w.status["phase"] == "Paused"


def test_both_zero_and_bad_values_are_invalid_spec() -> None:
    for surge, unavailable, field, text in (
            (0, 0, "spec.strategy.canary.maxSurge",
             "MaxSurge and MaxUnavailable both can not be zero"),
            ("lots", 1, "spec.strategy.canary.maxSurge", "percentage"),
            (1, -2, "spec.strategy.canary.maxUnavailable", ">= 0")):
        w = basic(2, surge, unavailable, None)
        assert w.status["phase"] == "Degraded"
        msg = w.status["message"]
        assert msg.startswith("InvalidSpec") and field in msg and text in msg, msg


def test_dynamic_stable_scale_needs_traffic_routing() -> None:
    ro = seed_rollout()
    canary = ro["spec"]["strategy"]["canary"]
    del canary["trafficRouting"]
    canary["dynamicStableScale"] = True
    w = World(ro)
    w.settle()
    assert "dynamicStableScale can only be used with traffic routing" in w.status["message"]


def test_dynamic_stable_scale_shrinks_the_stable_with_its_traffic() -> None:
    """With dynamicStableScale the stable follows its route weight: 10 replicas at setWeight
    30 keep ceil(70%) = 7 stable pods once the route moved; an abort grows it back to 10
    before the canary goes."""
    ro = seed_rollout()
    ro["spec"]["replicas"] = 10
    ro["spec"]["strategy"]["canary"]["dynamicStableScale"] = True
    w = World(ro)
    w.settle()
    stable = w.status["stableRS"]
    w.set_image(NEW_IMAGE)
    w.settle()
    new = parse_rollout(w.rollout).pod_hash
    assert w.weight == 30 and (w.rs[new].replicas, w.rs[stable].replicas) == (3, 7)
    w.status["abort"] = True
    w.reconcile()
    assert w.weight == 0 and w.rs[stable].replicas == 10
    w.settle()
    assert (w.rs[new].replicas, w.rs[stable].replicas) == (0, 10)
    assert w.status["phase"] == "Degraded"
