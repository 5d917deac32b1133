"""Durability and watch resume across SIGKILL + restart (fresh server per test, 50-event window)."""

from __future__ import annotations

import json

import pytest
import requests
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch
from kubernetes.client.rest import ApiException
from support.apiserver import ApiServer


def _core(server: ApiServer) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(server.client())


def _watch(server: ApiServer, rv: str, count: int) -> list[dict]:
    r = requests.get(f"{server.url}/api/v1/namespaces/default/configmaps",
                     params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "2"},
                     headers=server.headers, stream=True, timeout=10)
    assert r.status_code == 200
    events = []
    for line in r.iter_lines():
        if line:
            events.append(json.loads(line))
            if len(events) == count:
                break
    r.close()
    return events


def test_sigkill_right_after_a_write_loses_nothing(fresh_apiserver: ApiServer) -> None:
    core = _core(fresh_apiserver)
    cm = core.create_namespaced_config_map("default", {"metadata": {"name": "kept"},
                                                       "data": {"v": "1"}})
    svc = core.create_namespaced_service("default", {"metadata": {"name": "web"}, "spec": {
        "ports": [{"port": 80}]}})
    core.patch_namespaced_config_map("kept", "default", {"data": {"v": "2"}})
    fresh_apiserver.kill()
    fresh_apiserver.start()
    core = _core(fresh_apiserver)
    again = core.read_namespaced_config_map("kept", "default")
    assert again.data == {"v": "2"} and again.metadata.uid == cm.metadata.uid
    assert core.read_namespaced_service("web", "default").spec.cluster_ip == svc.spec.cluster_ip
    other = core.create_namespaced_service("default", {"metadata": {"name": "other"},
                                                       "spec": {"ports": [{"port": 80}]}})
    assert other.spec.cluster_ip != svc.spec.cluster_ip
    new = core.create_namespaced_config_map("default", {"metadata": {"name": "after"}})
    assert int(new.metadata.resource_version) > int(again.metadata.resource_version)


def test_a_restart_starts_a_new_watch_window(fresh_apiserver: ApiServer) -> None:
    """As kube-apiserver's watch cache: versions from before a restart are 410, a relist's
    version resumes and sees later changes."""
    core = _core(fresh_apiserver)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", {"metadata": {"name": "one"}})
    fresh_apiserver.kill()
    fresh_apiserver.start()
    core = _core(fresh_apiserver)
    events = _watch(fresh_apiserver, rv, 1)
    assert events[0]["type"] == "ERROR"
    assert (events[0]["object"]["code"], events[0]["object"]["reason"]) == (410, "Expired")
    listed = core.list_namespaced_config_map("default")
    assert "one" in [c.metadata.name for c in listed.items]
    core.create_namespaced_config_map("default", {"metadata": {"name": "two"}})
    core.delete_namespaced_config_map("one", "default")
    events = _watch(fresh_apiserver, listed.metadata.resource_version, 2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "two"), ("DELETED", "one")]


def test_too_old_resource_version_is_410_expired(fresh_apiserver: ApiServer) -> None:
    core = _core(fresh_apiserver)
    first = core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    for i in range(60):  # the test server keeps a 50-event window
        core.patch_namespaced_config_map("c", "default", {"data": {"i": str(i)}})
    old = first.metadata.resource_version
    for restart in (False, True):
        if restart:
            fresh_apiserver.kill()
            fresh_apiserver.start()
        events = _watch(fresh_apiserver, old, 1)
        assert events[0]["type"] == "ERROR"
        status = events[0]["object"]
        assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
        assert status["message"].startswith(f"too old resource version: {old} (")
    for i in range(2):
        _core(fresh_apiserver).patch_namespaced_config_map("c", "default",
                                                            {"data": {"i": f"after-{i}"}})
    recent = _core(fresh_apiserver).read_namespaced_config_map("c", "default")
    events = _watch(fresh_apiserver, str(int(recent.metadata.resource_version) - 2), 2)
    assert [e["type"] for e in events] == ["MODIFIED", "MODIFIED"]
    with pytest.raises(ApiException) as e:
        for _ in k8s_watch.Watch().stream(_core(fresh_apiserver).list_namespaced_config_map,
                                          "default", resource_version=old, timeout_seconds=2):
            pass
    assert e.value.status == 410
