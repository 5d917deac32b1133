"""REST semantics through the official ``kubernetes`` Python client."""

from __future__ import annotations

import json
import threading

import pytest
import requests
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch
from kubernetes.client.rest import ApiException
from support import CRDS
from support.apiserver import ApiServer
from support.poll import wait_for


def _deployment(name: str, labels: dict | None = None, image: str = "podinfo:1.7.0") -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                     {"name": "app", "image": image,
                      "ports": [{"containerPort": 9898, "name": "http"}],
                      "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                     {"name": "side", "image": "busybox:1.36"}]}}},
    }


@pytest.fixture(scope="module")
def api(apiserver: ApiServer) -> k8s.ApiClient:
    return apiserver.client()


@pytest.fixture
def ns(api: k8s.ApiClient, request: pytest.FixtureRequest) -> str:
    name = request.node.name.replace("_", "-").lower()[:40].strip("-")
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def _status(e: ApiException) -> dict:
    return json.loads(e.body)


def test_requests_without_the_token_get_401_status(apiserver: ApiServer) -> None:
    for url in (apiserver.url, apiserver.https_url):
        r = requests.get(url + "/api/v1/namespaces", timeout=5,
                         verify=str(apiserver.dir / "store" / "apiserver.crt"))
        assert r.status_code == 401
        assert r.json()["kind"] == "Status" and r.json()["reason"] == "Unauthorized"
    r = requests.get(apiserver.url + "/api/v1/namespaces",
                     headers={"Authorization": "Bearer wrong"}, timeout=5)
    assert r.status_code == 401
    r = requests.get(apiserver.url + "/api/v1/namespaces", headers=apiserver.headers, timeout=5)
    assert r.status_code == 200 and r.json()["kind"] == "NamespaceList"
    names = {n["metadata"]["name"] for n in r.json()["items"]}
    assert {"default", "kube-system", "kube-public"} <= names


def test_metadata_fields_and_errors_are_kubernetes_shaped(api: k8s.ApiClient, ns: str) -> None:
    apps = k8s.AppsV1Api(api)
    d = apps.create_namespaced_deployment(ns, _deployment("web"))
    md = d.metadata
    assert md.uid and md.creation_timestamp and md.generation == 1
    assert int(md.resource_version) > 0
    with pytest.raises(ApiException) as e:
        apps.create_namespaced_deployment(ns, _deployment("web"))
    assert e.value.status == 409 and _status(e.value)["reason"] == "AlreadyExists"
    assert _status(e.value)["message"] == 'deployments.apps "web" already exists'
    with pytest.raises(ApiException) as e:
        apps.read_namespaced_deployment("nope", ns)
    assert e.value.status == 404
    assert _status(e.value)["details"] == {"name": "nope", "group": "apps",
                                           "kind": "deployments"}
    bad = _deployment("Bad_Name")
    with pytest.raises(ApiException) as e:
        apps.create_namespaced_deployment(ns, bad)
    st = _status(e.value)
    assert e.value.status == 422 and st["reason"] == "Invalid"
    assert st["details"]["causes"][0]["field"] == "metadata.name"
    mismatch = _deployment("mismatch")
    mismatch["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    del mismatch["spec"]["template"]["spec"]["containers"][1]["image"]
    with pytest.raises(ApiException) as e:
        apps.create_namespaced_deployment(ns, mismatch)
    fields = {c["field"] for c in _status(e.value)["details"]["causes"]}
    assert fields == {"spec.template.metadata.labels", "spec.template.spec.containers[1].image"}
    with pytest.raises(ApiException) as e:
        k8s.CoreV1Api(api).create_namespaced_config_map("no-such-ns", {"metadata": {"name": "x"}})
    assert e.value.status == 404
    assert _status(e.value)["message"] == 'namespaces "no-such-ns" not found'
    gen = k8s.CoreV1Api(api).create_namespaced_config_map(
        ns, {"metadata": {"generateName": "cfg-"}})
    assert gen.metadata.name.startswith("cfg-") and len(gen.metadata.name) == 9


def test_concurrent_writers_one_gets_409(api: k8s.ApiClient, ns: str) -> None:
    core = k8s.CoreV1Api(api)
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "shared"},
                                                "data": {"n": "0"}})
    results: list[int] = []
    barrier = threading.Barrier(2)

    def writer(value: str) -> None:
        body = {"metadata": {"name": "shared", "resourceVersion": cm.metadata.resource_version},
                "data": {"n": value}}
        barrier.wait()
        try:
            core.replace_namespaced_config_map("shared", ns, body)
            results.append(200)
        except ApiException as e:
            results.append(e.status)
            assert "the object has been modified" in _status(e)["message"]
            assert _status(e)["reason"] == "Conflict"

    threads = [threading.Thread(target=writer, args=(v,)) for v in ("1", "2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == [200, 409]


def test_strategic_merge_patch_on_containers_env_and_ports(apiserver: ApiServer,
                                                           api: k8s.ApiClient, ns: str) -> None:
    apps = k8s.AppsV1Api(api)
    apps.create_namespaced_deployment(ns, _deployment("smp"))
    patch = {"spec": {"template": {"spec": {"containers": [{
        "name": "app", "image": "podinfo:1.7.1",
        "env": [{"name": "B", "value": "changed"}, {"name": "C", "value": "3"}],
        "ports": [{"containerPort": 9797, "name": "grpc"}]}]}}}}
    d = apps.patch_namespaced_deployment("smp", ns, patch)
    app, side = d.spec.template.spec.containers
    assert (app.name, app.image, side.name, side.image) == ("app", "podinfo:1.7.1", "side",
                                                            "busybox:1.36")
    assert {(e.name, e.value) for e in app.env} == {("A", "1"), ("B", "changed"), ("C", "3")}
    assert sorted(p.container_port for p in app.ports) == [9797, 9898]
    assert d.metadata.generation == 2
    # $patch: delete removes one container by its merge key
    d = apps.patch_namespaced_deployment("smp", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "side", "$patch": "delete"}]}}}})
    assert [c.name for c in d.spec.template.spec.containers] == ["app"]
    # JSON patch and merge patch through the same endpoint
    url = f"{apiserver.url}/apis/apps/v1/namespaces/{ns}/deployments/smp"
    r = requests.patch(url, headers={**apiserver.headers,
                                     "Content-Type": "application/json-patch+json"},
                       json=[{"op": "replace", "path": "/spec/replicas", "value": 4}], timeout=5)
    assert r.status_code == 200 and r.json()["spec"]["replicas"] == 4
    r = requests.patch(url, headers={**apiserver.headers,
                                     "Content-Type": "application/merge-patch+json"},
                       json={"metadata": {"annotations": {"a": "b"}}}, timeout=5)
    assert r.json()["metadata"]["annotations"] == {"a": "b"}
    r = requests.patch(url, headers={**apiserver.headers,
                                     "Content-Type": "application/merge-patch+json"},
                       json={"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 1}},
                       timeout=5)
    assert r.status_code == 409 and r.json()["reason"] == "Conflict"
    with pytest.raises(ApiException) as e:
        apps.patch_namespaced_deployment("missing", ns, {"spec": {"replicas": 1}})
    assert e.value.status == 404


def test_status_and_spec_are_written_separately(api: k8s.ApiClient, ns: str) -> None:
    apps = k8s.AppsV1Api(api)
    created = apps.create_namespaced_deployment(ns, {**_deployment("sep"),
                                                     "status": {"replicas": 99}})
    assert not created.status.replicas  # status is never taken from a create
    d = apps.patch_namespaced_deployment_status("sep", ns, {
        "spec": {"replicas": 7}, "status": {"observedGeneration": 1, "replicas": 1}})
    assert d.status.replicas == 1 and d.spec.replicas == 1 and d.metadata.generation == 1
    assert int(d.metadata.resource_version) > int(created.metadata.resource_version)
    d = apps.patch_namespaced_deployment("sep", ns, {"spec": {"replicas": 2},
                                                     "status": {"replicas": 50}})
    assert d.spec.replicas == 2 and d.status.replicas == 1 and d.metadata.generation == 2
    # metadata-only changes do not bump generation
    d = apps.patch_namespaced_deployment("sep", ns, {"metadata": {"labels": {"x": "y"}}})
    assert d.metadata.generation == 2
    scale = apps.read_namespaced_deployment_scale("sep", ns)
    assert scale.spec.replicas == 2 and scale.status.selector == "app=sep"
    apps.patch_namespaced_deployment_scale("sep", ns, {"spec": {"replicas": 5}})
    d = apps.read_namespaced_deployment("sep", ns)
    assert d.spec.replicas == 5 and d.metadata.generation == 3


def test_label_and_field_selectors_on_list_and_watch(api: k8s.ApiClient, ns: str) -> None:
    core = k8s.CoreV1Api(api)
    for name, labels in (("a", {"tier": "web", "env": "prod"}), ("b", {"tier": "db"}),
                         ("c", {"tier": "web", "env": "dev"}), ("d", {})):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "labels": labels}})

    def names(**kw: str) -> list[str]:
        return [i.metadata.name for i in core.list_namespaced_config_map(ns, **kw).items]

    assert names(label_selector="tier=web") == ["a", "c"]
    # the namespace's kube-root-ca.crt has no labels, so it matches != and ! as on a cluster
    assert names(label_selector="tier!=web") == ["b", "d", "kube-root-ca.crt"]
    assert names(label_selector="tier in (db,web),env notin (dev)") == ["a", "b"]
    assert names(label_selector="env") == ["a", "c"]
    assert names(label_selector="!env") == ["b", "d", "kube-root-ca.crt"]
    assert names(field_selector="metadata.name=b") == ["b"]
    assert names(field_selector="metadata.name!=b", label_selector="tier") == ["a", "c"]
    with pytest.raises(ApiException) as e:
        core.list_namespaced_config_map(ns, field_selector="spec.nope=1")
    assert e.value.status == 400

    core.create_namespaced_event(ns, {
        "metadata": {"name": "e1"}, "reason": "Synced", "type": "Normal", "message": "hi",
        "involvedObject": {"kind": "Canary", "name": "podinfo", "namespace": ns}})
    core.create_namespaced_event(ns, {
        "metadata": {"name": "e2"}, "reason": "Synced", "type": "Warning", "message": "ho",
        "involvedObject": {"kind": "Deployment", "name": "podinfo", "namespace": ns}})
    evs = core.list_namespaced_event(
        ns, field_selector="involvedObject.kind=Canary,involvedObject.name=podinfo").items
    assert [e.metadata.name for e in evs] == ["e1"]
    assert [e.metadata.name for e in core.list_namespaced_event(
        ns, field_selector="type=Warning").items] == ["e2"]

    # a watch with a label selector: leaving the selection is DELETED, entering is ADDED
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.patch_namespaced_config_map("a", ns, {"metadata": {"labels": {"tier": "cache"}}})
    core.patch_namespaced_config_map("d", ns, {"metadata": {"labels": {"tier": "web"}}})
    core.patch_namespaced_config_map("c", ns, {"data": {"k": "v"}})
    seen = []
    for ev in k8s_watch.Watch().stream(core.list_namespaced_config_map, ns,
                                       label_selector="tier=web", resource_version=rv,
                                       timeout_seconds=2):
        seen.append((ev["type"], ev["object"].metadata.name))
        if len(seen) == 3:
            break
    assert seen == [("DELETED", "a"), ("ADDED", "d"), ("MODIFIED", "c")]


def test_garbage_collection_background_foreground_orphan(api: k8s.ApiClient, ns: str) -> None:
    core = k8s.CoreV1Api(api)

    def owned(name: str, owner, block: bool = False) -> None:
        core.create_namespaced_config_map(ns, {"metadata": {"name": name, "ownerReferences": [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name,
            "uid": owner.metadata.uid, "blockOwnerDeletion": block}]}})

    def exists(name: str) -> bool:
        try:
            core.read_namespaced_config_map(name, ns)
            return True
        except ApiException as e:
            assert e.status == 404
            return False

    bg = core.create_namespaced_config_map(ns, {"metadata": {"name": "bg-owner"}})
    owned("bg-child", bg)
    core.delete_namespaced_config_map("bg-owner", ns)
    assert wait_for("the condition", lambda: not exists("bg-child"), 2)

    fg = core.create_namespaced_config_map(ns, {"metadata": {"name": "fg-owner"}})
    owned("fg-child", fg, block=True)
    core.patch_namespaced_config_map("fg-child", ns,
                                     {"metadata": {"finalizers": ["test/hold"]}})
    core.delete_namespaced_config_map("fg-owner", ns, propagation_policy="Foreground")
    owner = core.read_namespaced_config_map("fg-owner", ns)
    assert owner.metadata.deletion_timestamp and "foregroundDeletion" in owner.metadata.finalizers
    assert wait_for("the condition", lambda: core.read_namespaced_config_map(
        "fg-child", ns).metadata.deletion_timestamp, 2)
    assert exists("fg-owner")  # blocked by its dependent
    core.patch_namespaced_config_map("fg-child", ns, {"metadata": {"finalizers": None}})
    assert wait_for("the condition", lambda: not exists("fg-child") and not exists("fg-owner"), 2)

    orphan = core.create_namespaced_config_map(ns, {"metadata": {"name": "or-owner"}})
    owned("or-child", orphan)
    core.delete_namespaced_config_map("or-owner", ns, propagation_policy="Orphan")
    assert not exists("or-owner") and exists("or-child")
    assert not core.read_namespaced_config_map("or-child", ns).metadata.owner_references


def test_custom_resources_follow_their_crd(apiserver: ApiServer, api: k8s.ApiClient,
                                           ns: str) -> None:
    apiserver.kubectl("apply", "-f", str(CRDS / "argoproj.io_rollouts.yaml"))
    co = k8s.CustomObjectsApi(api)
    ro = co.create_namespaced_custom_object("argoproj.io", "v1alpha1", ns, "rollouts", {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "demo"}, "spec": {"replicas": 2}, "status": {"phase": "x"}})
    assert "status" not in ro and ro["metadata"]["generation"] == 1
    ro = co.patch_namespaced_custom_object_status("argoproj.io", "v1alpha1", ns, "rollouts",
                                                  "demo", {"status": {"HPAReplicas": 2,
                                                                      "selector": "app=demo"}})
    assert ro["status"]["HPAReplicas"] == 2 and ro["metadata"]["generation"] == 1
    scale = co.get_namespaced_custom_object_scale("argoproj.io", "v1alpha1", ns, "rollouts",
                                                  "demo")
    assert scale["spec"]["replicas"] == 2 and scale["status"]["selector"] == "app=demo"
    r = requests.patch(
        f"{apiserver.url}/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts/demo",
        headers={**apiserver.headers,
                 "Content-Type": "application/strategic-merge-patch+json"},
        data="{}", timeout=5)
    assert r.status_code == 415 and r.json()["reason"] == "UnsupportedMediaType"
    apiserver.kubectl("delete", "crd", "rollouts.argoproj.io")
    assert wait_for("the condition",
                    lambda: "rollouts" not in apiserver.kubectl("api-resources").stdout, 3)
    r = requests.get(f"{apiserver.url}/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts",
                     headers=apiserver.headers, timeout=5)
    assert r.status_code == 404
    apiserver.kubectl("apply", "-f", str(CRDS / "argoproj.io_rollouts.yaml"))
    assert co.list_namespaced_custom_object("argoproj.io", "v1alpha1", ns,
                                            "rollouts")["items"] == []


def test_services_get_cluster_ips_and_dns(apiserver: ApiServer, api: k8s.ApiClient,
                                          ns: str) -> None:
    core = k8s.CoreV1Api(api)
    svc = core.create_namespaced_service(ns, {"metadata": {"name": "podinfo"}, "spec": {
        "selector": {"app": "podinfo"}, "ports": [{"port": 9898}]}})
    ip = svc.spec.cluster_ip
    assert ip.startswith("127.100.")
    assert svc.spec.ports[0].target_port == 9898 and svc.spec.ports[0].protocol == "TCP"
    dns = json.loads((apiserver.dir / "dns.json").read_text())
    assert dns[f"podinfo.{ns}.svc.cluster.local"] == ip and dns[f"podinfo.{ns}"] == ip
    core.patch_namespaced_service("podinfo", ns, {"metadata": {"labels": {"a": "b"}}})
    assert core.read_namespaced_service("podinfo", ns).spec.cluster_ip == ip
    core.delete_namespaced_service("podinfo", ns)
    assert f"podinfo.{ns}" not in json.loads((apiserver.dir / "dns.json").read_text())


def test_finalizers_hold_an_object_until_removed(api: k8s.ApiClient, ns: str) -> None:
    core = k8s.CoreV1Api(api)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "held",
                                                        "finalizers": ["example.com/x"]}})
    core.delete_namespaced_config_map("held", ns)
    cm = core.read_namespaced_config_map("held", ns)
    assert cm.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("held", ns)
    assert e.value.status == 404


def test_creating_in_a_terminating_namespace_is_forbidden(api: k8s.ApiClient, ns: str) -> None:
    core = k8s.CoreV1Api(api)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "held",
                                                        "finalizers": ["example.com/x"]}})
    core.delete_namespace(ns)
    nso = core.read_namespace(ns)
    assert nso.status.phase == "Terminating"
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "new"}})
    assert e.value.status == 403 and "being terminated" in _status(e.value)["message"]
    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})
    assert wait_for("the condition", lambda: ns not in {n.metadata.name
                                       for n in core.list_namespace().items}, 3)


def test_bookmarks_and_timeout(apiserver: ApiServer, ns: str) -> None:
    r = requests.get(f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps",
                     params={"watch": "1", "timeoutSeconds": "1", "allowWatchBookmarks": "true",
                             "sendInitialEvents": "true",
                             "resourceVersionMatch": "NotOlderThan"},
                     headers=apiserver.headers, stream=True, timeout=10)
    events = [json.loads(line) for line in r.iter_lines() if line]
    assert events[-1]["type"] == "BOOKMARK"
    assert events[-1]["object"]["metadata"]["annotations"] == {
        "k8s.io/initial-events-end": "true"}


def test_events_api_and_core_events_are_one_store(api: k8s.ApiClient, ns: str) -> None:
    core = k8s.CoreV1Api(api)
    ev_api = k8s.EventsV1Api(api)
    ev_api.create_namespaced_event(ns, {
        "metadata": {"name": "new-style"}, "note": "Advance podinfo.test canary weight 10",
        "reason": "Synced", "type": "Normal", "action": "Progress",
        "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "flagger",
        "reportingInstance": "flagger-1",
        "regarding": {"kind": "Canary", "name": "podinfo", "namespace": ns}})
    old = core.read_namespaced_event("new-style", ns)
    assert old.message == "Advance podinfo.test canary weight 10"
    assert old.involved_object.kind == "Canary" and old.reporting_component == "flagger"
    core.create_namespaced_event(ns, {
        "metadata": {"name": "old-style"}, "message": "hello", "reason": "Synced",
        "involvedObject": {"kind": "Deployment", "name": "podinfo", "namespace": ns}})
    listed = ev_api.list_namespaced_event(ns, field_selector="regarding.kind=Deployment").items
    assert [(e.metadata.name, e.note) for e in listed] == [("old-style", "hello")]


def test_deletecollection_with_a_label_selector(api: k8s.ApiClient, ns: str) -> None:
    core = k8s.CoreV1Api(api)
    for name, app in (("a", "x"), ("b", "x"), ("c", "y")):
        core.create_namespaced_config_map(ns, {"metadata": {"name": name,
                                                            "labels": {"app": app}}})
    core.delete_collection_namespaced_config_map(ns, label_selector="app=x")
    assert [c.metadata.name for c in core.list_namespaced_config_map(ns).items] == [
        "c", "kube-root-ca.crt"]


def test_sixty_concurrent_watchers_all_see_a_change(apiserver: ApiServer, ns: str) -> None:
    url = f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps"
    rv = requests.get(url, headers=apiserver.headers, timeout=5).json()["metadata"][
        "resourceVersion"]
    got: list[str] = []
    lock = threading.Lock()

    def watch() -> None:
        with requests.get(url, params={"watch": "true", "resourceVersion": rv,
                                       "timeoutSeconds": "10"},
                          headers=apiserver.headers, stream=True, timeout=15) as r:
            for line in r.iter_lines():
                if line:
                    with lock:
                        got.append(json.loads(line)["object"]["metadata"]["name"])
                    return

    threads = [threading.Thread(target=watch) for _ in range(60)]
    for t in threads:
        t.start()
    requests.post(url, json={"metadata": {"name": "ping"}}, headers=apiserver.headers,
                  timeout=5).raise_for_status()
    for t in threads:
        t.join(15)
    assert got == ["ping"] * 60


def test_metadata_only_representation(apiserver: ApiServer, ns: str) -> None:
    accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
    requests.post(f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps", timeout=5,
                  headers=apiserver.headers, json={"metadata": {"name": "m"}, "data": {"a": "b"}})
    r = requests.get(f"{apiserver.url}/api/v1/namespaces/{ns}/configmaps", timeout=5,
                     headers={**apiserver.headers, "Accept": accept})
    doc = r.json()
    assert doc["kind"] == "PartialObjectMetadataList"
    assert [i["metadata"]["name"] for i in doc["items"]] == ["kube-root-ca.crt", "m"]
    assert "data" not in doc["items"][0]
