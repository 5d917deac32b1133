"""The sandbox API server answers as kube-apiserver does, through the official client.

Every expectation is written from the Kubernetes API conventions
(kubernetes/community contributors/devel/sig-architecture/api-conventions.md) and the upstream
sources cited next to it, not from what the sandbox happens to return: status codes, ``reason``,
``details.causes``, ``generation``, watch events, namespace lifecycle, list chunking.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml
from kubernetes import client as k8s
from kubernetes import watch as k8s_watch
from kubernetes.client.rest import ApiException
from support import CRDS
from support.apiserver import ApiServer
from support.poll import wait_for

MANIFESTS = CRDS.parent


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    s = ApiServer(tmp_path_factory.mktemp("fidelity"))
    s.start()
    s.kubectl("apply", "-f", str(CRDS))
    yield s
    s.stop()


@pytest.fixture
def ns(server: ApiServer, request: pytest.FixtureRequest) -> str:
    name = request.node.name.replace("_", "-")[5:40].strip("-")
    k8s.CoreV1Api(server.client()).create_namespace({"metadata": {"name": name}})
    return name


def _core(server: ApiServer) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(server.client())


def _custom(server: ApiServer) -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(server.client())


def _body(e: ApiException) -> dict[str, Any]:
    return json.loads(e.body)


def _seed_canary(ns: str) -> dict[str, Any]:
    for doc in yaml.safe_load_all((MANIFESTS / "podinfo-canary.yaml").read_text()):
        if doc and doc["kind"] == "Canary":
            doc["metadata"]["namespace"] = ns
            return doc
    raise AssertionError("no Canary in podinfo-canary.yaml")


def _create_canary(server: ApiServer, ns: str, obj: dict[str, Any], **kw: Any) -> Any:
    return _custom(server).create_namespaced_custom_object(
        "flagger.app", "v1beta1", ns, "canaries", obj, **kw)


# -- errors: codes, reasons, causes -------------------------------------------------------------

def test_not_found_already_exists_and_conflict(server: ApiServer, ns: str) -> None:
    core = _core(server)
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("nope", ns)
    assert (e.value.status, _body(e.value)["reason"]) == (404, "NotFound")
    assert _body(e.value)["message"] == 'configmaps "nope" not found'
    cm = core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "c"}})
    assert (e.value.status, _body(e.value)["reason"]) == (409, "AlreadyExists")
    assert _body(e.value)["details"] == {"name": "c", "kind": "configmaps"}
    core.patch_namespaced_config_map("c", ns, {"data": {"a": "1"}})
    stale = {"metadata": {"name": "c", "resourceVersion": cm.metadata.resource_version}}
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("c", ns, stale)
    assert (e.value.status, _body(e.value)["reason"]) == (409, "Conflict")
    assert _body(e.value)["message"].startswith('Operation cannot be fulfilled on configmaps "c"')


def test_a_canary_its_schema_refuses_is_422_with_one_cause_per_field(server: ApiServer,
                                                                     ns: str) -> None:
    bad = _seed_canary(ns)
    bad["spec"]["service"]["port"] = "ninety"
    bad["spec"]["analysis"]["interval"] = "10 seconds"
    with pytest.raises(ApiException) as e:
        _create_canary(server, ns, bad)
    body = _body(e.value)
    assert (e.value.status, body["reason"], body["details"]["kind"]) == (422, "Invalid", "Canary")
    causes = {c["field"]: (c["reason"], c["message"]) for c in body["details"]["causes"]}
    assert causes == {
        "spec.service.port": (
            "FieldValueTypeInvalid",
            'Invalid value: "string": spec.service.port in body must be of type number: '
            '"string"'),
        "spec.analysis.interval": (
            "FieldValueInvalid",
            'Invalid value: "10 seconds": spec.analysis.interval in body should match '
            "'^[0-9]+(m|s)'"),
    }
    assert body["message"].startswith('Canary.flagger.app "podinfo" is invalid: [')
    with pytest.raises(ApiException):
        _custom(server).get_namespaced_custom_object("flagger.app", "v1beta1", ns, "canaries",
                                                     "podinfo")


def test_flaggers_schema_has_no_maximum_on_step_weight(server: ApiServer, ns: str) -> None:
    """fluxcd/flagger artifacts/flagger/crd.yaml: stepWeight is `type: number`, no bounds;
    a 150 passes the API server and is the engine's to refuse."""
    obj = _seed_canary(ns)
    obj["spec"]["analysis"]["stepWeight"] = 150
    created = _create_canary(server, ns, obj)
    assert created["spec"]["analysis"]["stepWeight"] == 150


def test_unknown_fields_strict_is_400_warn_prunes(server: ApiServer, ns: str) -> None:
    typo = _seed_canary(ns)
    typo["spec"]["analysis"]["stepweight"] = 5
    with pytest.raises(ApiException) as e:
        _create_canary(server, ns, typo, field_validation="Strict")
    assert (e.value.status, _body(e.value)["reason"]) == (400, "BadRequest")
    assert _body(e.value)["message"] == (
        'Canary in version "v1beta1" cannot be handled as a Canary: strict decoding error: '
        'unknown field "spec.analysis.stepweight"')
    r = requests.post(f"{server.url}/apis/flagger.app/v1beta1/namespaces/{ns}/canaries",
                      json=typo, headers=server.headers, timeout=5)
    assert r.status_code == 201
    assert r.headers["Warning"] == '299 - "unknown field \\"spec.analysis.stepweight\\""'
    assert "stepweight" not in r.json()["spec"]["analysis"]


# -- generation and status ---------------------------------------------------------------------

def test_generation_counts_spec_changes_only(server: ApiServer, ns: str) -> None:
    api = _custom(server)
    obj = _create_canary(server, ns, _seed_canary(ns))
    assert obj["metadata"]["generation"] == 1
    args = ("flagger.app", "v1beta1", ns, "canaries", "podinfo")
    obj = api.patch_namespaced_custom_object(*args, {"metadata": {"labels": {"a": "b"}}})
    assert obj["metadata"]["generation"] == 1
    obj = api.patch_namespaced_custom_object_status(*args, {"status": {"phase": "Initialized"}})
    assert (obj["metadata"]["generation"], obj["status"]["phase"]) == (1, "Initialized")
    obj = api.patch_namespaced_custom_object(*args, {"spec": {"analysis": {"threshold": 3}}})
    assert obj["metadata"]["generation"] == 2
    assert obj["status"]["phase"] == "Initialized"  # the main resource ignores status
    with pytest.raises(ApiException) as e:  # status is validated too: phase is an enum
        api.patch_namespaced_custom_object_status(*args, {"status": {"phase": "Done"}})
    assert [c["field"] for c in _body(e.value)["details"]["causes"]] == ["status.phase"]


# -- namespaces -------------------------------------------------------------------------------

def test_a_new_namespace_holds_its_root_ca_and_default_service_account(server: ApiServer,
                                                                       ns: str) -> None:
    core = _core(server)
    got = core.read_namespace(ns)
    assert (got.status.phase, got.spec.finalizers) == ("Active", ["kubernetes"])
    cm = core.read_namespaced_config_map("kube-root-ca.crt", ns)
    ca = (server.dir / "store" / "apiserver.crt").read_text()
    assert cm.data == {"ca.crt": ca}
    assert core.read_namespaced_service_account("default", ns).metadata.name == "default"
    core.delete_namespaced_config_map("kube-root-ca.crt", ns)  # the publisher puts it back
    assert wait_for("the condition", lambda: core.list_namespaced_config_map(
        ns, field_selector="metadata.name=kube-root-ca.crt").items)


def test_a_finalizer_holds_a_namespace_in_terminating(server: ApiServer, ns: str) -> None:
    core = _core(server)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "held",
                                                        "finalizers": ["example.com/hold"]}})
    core.delete_namespace(ns)
    got = wait_for("the NamespaceFinalizersRemaining condition", lambda: next(
        (c for c in core.read_namespace(ns).status.conditions or []
         if c.type == "NamespaceFinalizersRemaining"), None))
    assert core.read_namespace(ns).status.phase == "Terminating"
    assert (got.status, got.reason, got.message) == (
        "True", "SomeFinalizersRemain",
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 "
        "resource instances")
    held = core.read_namespaced_config_map("held", ns)
    assert held.metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(ns, {"metadata": {"name": "late"}})
    body = _body(e.value)
    assert (e.value.status, body["reason"]) == (403, "Forbidden")
    assert body["details"]["causes"][0]["reason"] == "NamespaceTerminating"
    core.patch_namespaced_config_map("held", ns, {"metadata": {"finalizers": None}})

    def gone() -> bool:
        try:
            core.read_namespace(ns)
        except ApiException as e:
            return e.status == 404
        return False
    assert wait_for("the condition", gone)


# -- watch ------------------------------------------------------------------------------------

def test_watch_events_and_410_for_a_version_before_the_window(server: ApiServer,
                                                              ns: str) -> None:
    core = _core(server)
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, {"metadata": {"name": "w"}})
    core.patch_namespaced_config_map("w", ns, {"data": {"k": "v"}})
    core.delete_namespaced_config_map("w", ns)
    seen = []
    for ev in k8s_watch.Watch().stream(core.list_namespaced_config_map, ns,
                                       resource_version=rv, timeout_seconds=2):
        seen.append((ev["type"], ev["object"].metadata.name, ev["object"].data))
        if len(seen) == 3:
            break
    assert seen == [("ADDED", "w", None), ("MODIFIED", "w", {"k": "v"}),
                    ("DELETED", "w", {"k": "v"})]
    # resourceVersion 1 predates the server's watch window (it starts when the server does)
    with pytest.raises(ApiException) as e:
        for _ in k8s_watch.Watch().stream(core.list_namespaced_config_map, ns,
                                          resource_version="1", timeout_seconds=2):
            pass
    assert e.value.status == 410


# -- list chunking ----------------------------------------------------------------------------

def test_limit_and_continue_page_through_a_list(server: ApiServer, ns: str) -> None:
    core = _core(server)
    for i in range(5):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"p{i}"}})
    first = core.list_namespaced_config_map(ns, limit=2)
    assert [c.metadata.name for c in first.items] == ["kube-root-ca.crt", "p0"]
    assert first.metadata.remaining_item_count == 4
    names, token, versions = [], first.metadata._continue, {first.metadata.resource_version}
    names += [c.metadata.name for c in first.items]
    while token:
        page = core.list_namespaced_config_map(ns, limit=2, _continue=token)
        names += [c.metadata.name for c in page.items]
        versions.add(page.metadata.resource_version)
        token = page.metadata._continue
    assert names == ["kube-root-ca.crt", "p0", "p1", "p2", "p3", "p4"]
    assert len(versions) == 1  # every chunk reports the first chunk's version
    with pytest.raises(ApiException) as e:
        core.list_namespaced_config_map(ns, limit=2, _continue="not-a-token")
    assert e.value.status == 400


# -- kubectl against the same server ----------------------------------------------------------

def test_kubectl_refuses_the_broken_canary_and_names_the_fields(server: ApiServer,
                                                               ns: str) -> None:
    bad = _seed_canary(ns)
    bad["spec"]["service"]["port"] = "ninety"
    bad["spec"]["analysis"]["interval"] = "10 seconds"
    bad["spec"]["analysis"]["stepweight"] = 5
    r = server.kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert r.returncode == 1
    # kubectl sends fieldValidation=Strict: the unknown field is refused first, as on a cluster
    assert 'strict decoding error: unknown field "spec.analysis.stepweight"' in r.stderr
    del bad["spec"]["analysis"]["stepweight"]
    r = server.kubectl("apply", "-f", "-", input=yaml.safe_dump(bad), check=False)
    assert r.returncode == 1
    assert 'The Canary "podinfo" is invalid:' in r.stderr
    assert "* spec.service.port: Invalid value" in r.stderr
    assert "* spec.analysis.interval: Invalid value" in r.stderr


def test_kubectl_says_no_matches_for_a_kind_without_a_crd(server: ApiServer, ns: str) -> None:
    # Argo's Experiment: a kind of a served group whose CRD the sandbox does not install
    obj = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Experiment",
           "metadata": {"name": "exp", "namespace": ns}, "spec": {"templates": []}}
    r = server.kubectl("apply", "-f", "-", input=yaml.safe_dump(obj), check=False)
    assert r.returncode == 1
    assert 'no matches for kind "Experiment" in version "argoproj.io/v1alpha1"' in r.stderr
    assert "openapi" not in r.stderr


def test_kubectl_chunked_get_lists_everything_once(server: ApiServer, ns: str) -> None:
    core = _core(server)
    for i in range(3):
        core.create_namespaced_config_map(ns, {"metadata": {"name": f"k{i}"}})
    r = server.kubectl("get", "configmaps", "-A", "--chunk-size=2", "-o", "json", "-v=6")
    rows = [(o["metadata"]["namespace"], o["metadata"]["name"])
            for o in json.loads(r.stdout)["items"]]
    assert len(rows) == len(set(rows))
    assert {(ns, "k0"), (ns, "k1"), (ns, "k2"), (ns, "kube-root-ca.crt")} <= set(rows)
    assert r.stderr.count("limit=2") >= 3


def test_the_seed_objects_apply_verbatim(server: ApiServer) -> None:
    core = _core(server)
    if "test" not in [n.metadata.name for n in core.list_namespace().items]:
        core.create_namespace({"metadata": {"name": "test"}})
    for file in ("podinfo-canary.yaml", "argo-rollout-corrected.yaml"):
        text = (MANIFESTS / file).read_text()
        r = server.kubectl("apply", "-f", "-", input=text)
        assert "Warning" not in r.stderr
        for doc in yaml.safe_load_all(text):
            if doc and doc["kind"] in ("Canary", "Rollout"):
                group, version = doc["apiVersion"].split("/")
                plural = {"Canary": "canaries", "Rollout": "rollouts"}[doc["kind"]]
                got = _custom(server).get_namespaced_custom_object(
                    group, version, "test", plural, doc["metadata"]["name"])
                assert got["spec"] == copy.deepcopy(doc["spec"])


# -- server-side apply ------------------------------------------------------------------------

def test_server_side_apply_owners_conflicts_and_force(server: ApiServer, ns: str) -> None:
    def apply(data: dict[str, str], manager: str, *extra: str) -> Any:
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "cfg", "namespace": ns}, "data": data}
        return server.kubectl("apply", "--server-side", f"--field-manager={manager}", *extra,
                              "-f", "-", input=yaml.safe_dump(cm), check=False)

    assert apply({"a": "1", "b": "2"}, "bob").returncode == 0
    r = apply({"a": "9"}, "alice")
    assert r.returncode == 1
    assert 'Apply failed with 1 conflict: conflict with "bob": .data.a' in r.stderr
    assert apply({"a": "9"}, "alice", "--force-conflicts").returncode == 0
    core = _core(server)
    cm = core.read_namespaced_config_map("cfg", ns)
    owners = {m.manager: (m.operation, m.fields_v1) for m in cm.metadata.managed_fields}
    assert owners == {"bob": ("Apply", {"f:data": {"f:b": {}}}),
                      "alice": ("Apply", {"f:data": {"f:a": {}}})}
    assert apply({}, "bob").returncode == 0  # bob stops applying b: nobody owns it, it goes
    assert core.read_namespaced_config_map("cfg", ns).data == {"a": "9"}
