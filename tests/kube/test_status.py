"""The one status writer: only differences, removed fields nulled, nested fields diffed, and a
guarded write refused on a stale read."""

import pytest
from support.apiserver import ApiServer

from canary.kube.client import Conflict
from canary.kube.status import merge_diff, write_status


def test_merge_diff_is_exactly_the_difference():
    old = {"phase": "Progressing", "canary": {"weight": 30, "step": 1}, "conditions": [1, 2]}
    new = {"phase": "Progressing", "canary": {"weight": 40}, "conditions": [1]}
    assert merge_diff(old, new) == {"canary": {"weight": 40, "step": None}, "conditions": [1]}
    assert merge_diff(new, new) == {}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    server = ApiServer(tmp_path_factory.mktemp("status-api"))
    server.start()
    yield server.install_crds()
    server.stop()


def _rollout(client, name: str) -> dict:
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return client.create({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": name, "namespace": name},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})


def test_writes_only_changes_and_removes_what_is_gone(client):
    ro = _rollout(client, "st-a")
    api = {"api_version": "argoproj.io/v1alpha1", "kind": "Rollout"}
    step = {"name": "run-1", "status": "Running"}
    background = {"name": "run-2", "status": "Running"}
    assert write_status(client, ro, {"phase": "Paused", "currentStepIndex": 1, "canary": {
        "currentStepAnalysisRunStatus": step, "currentBackgroundAnalysisRunStatus": background}},
        **api)
    ro = client.get("argoproj.io/v1alpha1", "Rollout", "st-a", "st-a")
    assert not write_status(client, ro, dict(ro["status"]), **api)  # nothing changed
    assert write_status(client, ro, {"phase": "Paused", "canary": {
        "currentStepAnalysisRunStatus": {**step, "status": "Successful"}}}, **api)
    got = client.get("argoproj.io/v1alpha1", "Rollout", "st-a", "st-a")["status"]
    assert got == {"phase": "Paused", "canary": {
        "currentStepAnalysisRunStatus": {"name": "run-1", "status": "Successful"}}}


def test_a_guarded_write_on_a_stale_read_is_a_conflict(client):
    stale = _rollout(client, "st-b")
    api = {"api_version": "argoproj.io/v1alpha1", "kind": "Rollout"}
    write_status(client, stale, {"phase": "Progressing"}, **api)
    with pytest.raises(Conflict):
        write_status(client, stale, {"phase": "Healthy"}, guard=True, **api)
    got = client.get("argoproj.io/v1alpha1", "Rollout", "st-b", "st-b")["status"]
    assert got == {"phase": "Progressing"}
