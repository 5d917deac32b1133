"""The deployment controller's arithmetic: hashes, fenceposts, scaling steps and status."""

from __future__ import annotations

import pytest

from canary.sandbox.node import rollout as ro

NOW = 1_700_000_000.0


def deployment(replicas: int = 3, surge: object = "25%", unavailable: object = "25%",
               generation: int = 1, status: dict | None = None, **spec: object) -> dict:
    return {"metadata": {"name": "podinfo", "namespace": "test", "uid": "d1",
                         "generation": generation},
            "spec": {"replicas": replicas,
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": surge,
                                                    "maxUnavailable": unavailable}},
                     "template": {"metadata": {"labels": {"app": "podinfo"}},
                                  "spec": {"containers": [{"name": "c", "image": "x:1"}]}},
                     **spec},
            "status": status or {}}


def rs(name: str, replicas: int, available: int | None = None, ready: int | None = None,
       actual: int | None = None, created: str = "2024-01-01T00:00:00Z",
       revision: int = 1) -> dict:
    available = replicas if available is None else available
    return {"metadata": {"name": name, "creationTimestamp": created, "generation": 1,
                         "annotations": {ro.REVISION: str(revision)}},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas if actual is None else actual,
                       "readyReplicas": available if ready is None else ready,
                       "availableReplicas": available, "observedGeneration": 1}}


def test_pod_template_hash_is_stable_short_and_uses_the_kubernetes_alphabet():
    t = deployment()["spec"]["template"]
    h = ro.pod_template_hash(t)
    assert h == ro.pod_template_hash(t)
    assert 1 <= len(h) <= 10
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_pod_template_hash_changes_with_the_template_but_ignores_its_own_label():
    t = deployment()["spec"]["template"]
    other = deployment()["spec"]["template"]
    other["spec"]["containers"][0]["image"] = "x:2"
    assert ro.pod_template_hash(t) != ro.pod_template_hash(other)
    labelled = deployment()["spec"]["template"]
    labelled["metadata"]["labels"][ro.HASH_LABEL] = "abc"
    assert ro.pod_template_hash(labelled) == ro.pod_template_hash(t)
    assert ro.templates_equal(labelled, t)
    assert ro.pod_template_hash(t, 1) != ro.pod_template_hash(t)


def test_rollback_template_with_null_timestamp_matches_the_old_replicaset():
    t = deployment()["spec"]["template"]
    undo = deployment()["spec"]["template"]
    undo["metadata"]["creationTimestamp"] = None  # what kubectl rollout undo sends
    undo["spec"]["volumes"] = []
    assert ro.templates_equal(undo, t)
    assert ro.pod_template_hash(undo) == ro.pod_template_hash(t)


@pytest.mark.parametrize("replicas,surge,unavailable,expected", [
    (4, "25%", "25%", (1, 1)),
    (3, "25%", "25%", (1, 0)),     # surge rounds up, unavailable rounds down
    (10, "25%", "25%", (3, 2)),
    (1, 0, 0, (0, 1)),             # both zero would stall: unavailable becomes 1
    (5, 2, "0%", (2, 0)),
    (2, "50%", 1, (1, 1)),
])
def test_fenceposts_round_like_kubernetes(replicas, surge, unavailable, expected):
    assert ro.resolve_fenceposts(deployment(replicas, surge, unavailable)) == expected


def test_bad_int_or_percent_names_the_value():
    with pytest.raises(ValueError, match="abc"):
        ro.resolve_fenceposts(deployment(3, "abc", 1))


def test_new_replicaset_scales_up_within_max_surge():
    d = deployment(4, 1, 0)
    old = rs("old", 4)
    assert ro.new_rs_replicas(d, [old], None) == 1
    new = rs("new", 1, available=0)
    assert ro.new_rs_replicas(d, [old, new], new) == 1  # 5 pods = 4 + surge: wait
    old3 = rs("old", 3)
    assert ro.new_rs_replicas(d, [old3, new], new) == 2


def test_recreate_scales_straight_to_the_desired_count():
    d = deployment(3)
    d["spec"]["strategy"] = {"type": "Recreate"}
    assert ro.new_rs_replicas(d, [], None) == 3
    assert ro.max_unavailable(d) == 0 and ro.max_surge(d) == 0


def test_old_replicasets_scale_down_only_as_far_as_availability_allows():
    d = deployment(4, 1, 0)
    old = rs("old", 4)
    new = rs("new", 1, available=0)
    # the new pod is not available yet: nothing may go
    assert ro.old_rs_scale_down(d, [old, new], [old], new) == {}
    new_ready = rs("new", 1, available=1)
    assert ro.old_rs_scale_down(d, [old, new_ready], [old], new_ready) == {"old": 3}


def test_unhealthy_old_pods_are_removed_first():
    d = deployment(2, 1, 0)
    old = rs("old", 2, available=0)
    new = rs("new", 1, available=1)
    assert ro.old_rs_scale_down(d, [old, new], [old], new) == {"old": 1}


def test_oldest_replicasets_shrink_first():
    d = deployment(4, 0, 2)
    a = rs("a", 2, created="2024-01-01T00:00:00Z")
    b = rs("b", 2, created="2024-01-02T00:00:00Z")
    new = rs("new", 0)
    assert ro.old_rs_scale_down(d, [a, b, new], [b, a], new) == {"a": 0}


def test_status_counts_and_available_condition():
    d = deployment(3, 1, 0, generation=2)
    old = rs("old", 1, available=1)
    new = rs("new", 3, available=1, ready=2)
    st = ro.calculate_status(d, [old, new], new, NOW)
    assert st["observedGeneration"] == 2
    assert st["replicas"] == 4 and st["updatedReplicas"] == 3
    assert st["readyReplicas"] == 3 and st["availableReplicas"] == 2
    assert st["unavailableReplicas"] == 2
    avail = ro.get_condition(st, "Available")
    assert avail["status"] == "False" and avail["reason"] == "MinimumReplicasUnavailable"
    assert avail["message"] == "Deployment does not have minimum availability."


def test_complete_rollout_reports_new_replicaset_available():
    d = deployment(2, status={"conditions": [ro.condition(
        "Progressing", "True", ro.NEW_RS_CREATED, 'Created new replica set "podinfo-x"',
        NOW - 5)]})
    new = rs("podinfo-x", 2)
    st = ro.rollout_status(d, [new], new, NOW, 1.0)
    prog = ro.get_condition(st, "Progressing")
    assert prog["reason"] == "NewReplicaSetAvailable"
    assert prog["message"] == 'ReplicaSet "podinfo-x" has successfully progressed.'
    avail = ro.get_condition(st, "Available")
    assert (avail["reason"], avail["message"]) == ("MinimumReplicasAvailable",
                                                   "Deployment has minimum availability.")
    assert ro.deployment_complete(d, st)


def test_progress_keeps_transition_time_and_bumps_update_time():
    created = ro.condition("Progressing", "True", ro.NEW_RS_CREATED, "x", NOW - 100)
    d = deployment(2, status={"updatedReplicas": 1, "conditions": [created]})
    new = rs("podinfo-x", 2, available=0, actual=2)
    st = ro.rollout_status(d, [new], new, NOW, 1.0)
    prog = ro.get_condition(st, "Progressing")
    assert prog["reason"] == "ReplicaSetUpdated"
    assert prog["message"] == 'ReplicaSet "podinfo-x" is progressing.'
    assert prog["lastTransitionTime"] == created["lastTransitionTime"]
    assert prog["lastUpdateTime"] == ro.rfc3339(NOW)


def test_deadline_is_scaled_by_the_time_scale():
    cond = ro.condition("Progressing", "True", ro.RS_UPDATED, "x", NOW)
    d = deployment(1, status={"updatedReplicas": 1, "replicas": 1, "conditions": [cond]},
                   progressDeadlineSeconds=60)
    new = rs("podinfo-x", 1, available=0)
    # 60s at scale 0.05 is 3s of wall time
    assert ro.get_condition(ro.rollout_status(d, [new], new, NOW + 2.9, 0.05),
                            "Progressing")["reason"] == ro.RS_UPDATED
    st = ro.rollout_status(d, [new], new, NOW + 3.1, 0.05)
    prog = ro.get_condition(st, "Progressing")
    assert (prog["status"], prog["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert prog["message"] == 'ReplicaSet "podinfo-x" has timed out progressing.'


def test_no_deadline_means_no_progressing_condition():
    d = deployment(1, progressDeadlineSeconds=2**31 - 1)
    st = ro.rollout_status(d, [rs("n", 1)], rs("n", 1), NOW, 1.0)
    assert ro.get_condition(st, "Progressing") is None


def test_history_beyond_the_limit_is_cleaned_oldest_revision_first():
    d = deployment(1, revisionHistoryLimit=1)
    olds = [rs("r1", 0, revision=1), rs("r2", 0, revision=2), rs("r3", 0, revision=3)]
    assert [r["metadata"]["name"] for r in ro.cleanable_old_rss(d, olds)] == ["r1", "r2"]
    busy = [rs("r1", 1, revision=1), rs("r2", 0, revision=2)]
    assert ro.cleanable_old_rss(d, busy) == []


def test_status_patch_drops_zero_counts_as_go_omits_them():
    patch = ro.status_patch({"readyReplicas": 2, "collisionCount": 1},
                            {"replicas": 0, "readyReplicas": 1})
    assert patch == {"replicas": None, "readyReplicas": 1, "collisionCount": None}


def sized(r: dict, desired: int, max_replicas: int) -> dict:
    r["metadata"]["annotations"][ro.DESIRED_REPLICAS] = str(desired)
    r["metadata"]["annotations"][ro.MAX_REPLICAS] = str(max_replicas)
    return r


def test_resizing_a_settled_deployment_scales_its_only_replicaset():
    d = deployment(5)
    only = sized(rs("only", 3), 3, 4)
    assert ro.is_scaling_event(d, [only])
    assert ro.scale_plan(d, only, []) == {"only": 5}
    assert not ro.is_scaling_event(deployment(3), [only])


def test_resizing_mid_rollout_shares_the_change_proportionally():
    # 10 replicas, surge 3: old 8 + new 5 = 13 = 10 + 3; scaled to 20 (surge 5): 25 allowed
    d = deployment(20, "25%", "25%")
    old = sized(rs("old", 8, created="2024-01-01T00:00:00Z"), 10, 13)
    new = sized(rs("new", 5, available=0, created="2024-01-02T00:00:00Z"), 10, 13)
    plan = ro.scale_plan(d, new, [old])
    assert sum(plan.values()) == 25
    assert plan == {"old": 15, "new": 10}
