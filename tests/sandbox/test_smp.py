"""Strategic merge patch: the patches kubectl sends, applied as the API server applies them."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess

import pytest

from canary.sandbox.apiserver.smp import PatchError, patch_meta, strategic_merge


def deployment(containers: list[dict], **spec: object) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "podinfo", "namespace": "test", "labels": {"app": "podinfo"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "podinfo"}},
            "template": {
                "metadata": {"labels": {"app": "podinfo"}},
                "spec": {"containers": containers},
            },
            **spec,
        },
    }


PODINFOD = {
    "name": "podinfod",
    "image": "quay.io/stefanprodan/podinfo:1.7.0",
    "ports": [
        {"containerPort": 9898, "name": "http", "protocol": "TCP"},
        {"containerPort": 9797, "name": "metrics", "protocol": "TCP"},
    ],
    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
    "command": ["./podinfo", "--port=9898"],
}
SIDECAR = {"name": "sidecar", "image": "busybox:1", "args": ["sleep", "1000"]}


def containers_of(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def tpl(spec: dict) -> dict:
    return {"spec": {"template": {"spec": spec}}}


def test_set_image_changes_only_that_container() -> None:
    live = deployment([copy.deepcopy(PODINFOD), copy.deepcopy(SIDECAR)])
    patch = tpl(
        {"containers": [{"name": "podinfod", "image": "quay.io/stefanprodan/podinfo:1.7.1"}]}
    )
    out = strategic_merge(live, patch, "Deployment")
    expected = copy.deepcopy(live)
    containers_of(expected)[0]["image"] = "quay.io/stefanprodan/podinfo:1.7.1"
    assert out == expected


def test_inputs_are_never_mutated() -> None:
    live = deployment([copy.deepcopy(PODINFOD)])
    patch = tpl({"containers": [{"name": "podinfod", "$patch": "delete"}]})
    live_copy, patch_copy = copy.deepcopy(live), copy.deepcopy(patch)
    strategic_merge(live, patch, "Deployment")
    assert live == live_copy and patch == patch_copy


def test_kubectl_apply_three_way_patch_with_set_element_order() -> None:
    # Last-applied had podinfod + sidecar; the new file drops sidecar, adds "init-env" env var
    # and a new container "logger" between podinfod and the end: what kubectl apply sends.
    live = deployment([copy.deepcopy(PODINFOD), copy.deepcopy(SIDECAR)])
    patch = tpl(
        {
            "$setElementOrder/containers": [{"name": "logger"}, {"name": "podinfod"}],
            "containers": [
                {"name": "logger", "image": "busybox:2"},
                {
                    "name": "podinfod",
                    "$setElementOrder/env": [{"name": "B"}, {"name": "C"}, {"name": "A"}],
                    "env": [{"name": "C", "value": "3"}],
                },
                {"name": "sidecar", "$patch": "delete"},
            ],
        }
    )
    out = strategic_merge(live, patch, "Deployment")
    assert [c["name"] for c in containers_of(out)] == ["logger", "podinfod"]
    podinfod = containers_of(out)[1]
    assert [e["name"] for e in podinfod["env"]] == ["B", "C", "A"]
    assert podinfod["image"] == PODINFOD["image"]
    assert "$setElementOrder/env" not in podinfod
    assert podinfod["ports"] == PODINFOD["ports"]


def test_set_element_order_keeps_server_only_items_in_live_position() -> None:
    # The example of the "preserve order in strategic merge patch" design, as implemented.
    live = deployment([{"name": n} for n in ("ENV2", "ENV5", "ENV1", "ENV3", "ENV4")])
    patch = tpl(
        {
            "$setElementOrder/containers": [{"name": "ENV1"}, {"name": "ENV2"}, {"name": "ENV6"}],
            "containers": [{"name": "ENV3", "$patch": "delete"}, {"name": "ENV6"}],
        }
    )
    out = strategic_merge(live, patch, "Deployment")
    assert [c["name"] for c in containers_of(out)] == ["ENV5", "ENV1", "ENV2", "ENV6", "ENV4"]

    live = deployment([{"name": "a"}, {"name": "injected"}, {"name": "b"}])
    patch = tpl({"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]})
    out = strategic_merge(live, patch, "Deployment")
    # Server-only items are interleaved by their live position (mergeSortedSlice).
    assert [c["name"] for c in containers_of(out)] == ["injected", "b", "a"]


@pytest.mark.parametrize(
    ("patch", "names", "env"),
    [
        pytest.param(
            tpl({"containers": [{"name": "sidecar", "$patch": "delete"}]}),
            ["podinfod"],
            ["A", "B"],
            id="delete-container",
        ),
        pytest.param(
            tpl({"containers": [{"name": "podinfod", "env": [{"name": "A", "$patch": "delete"}]}]}),
            ["podinfod", "sidecar"],
            ["B"],
            id="delete-env-var",
        ),
        pytest.param(
            tpl({"containers": [{"name": "podinfod", "env": [{"name": "Z", "value": "9"}]}]}),
            ["podinfod", "sidecar"],
            # Without $setElementOrder the API server puts patch items first.
            ["Z", "A", "B"],
            id="add-env-var",
        ),
        pytest.param(
            tpl({"containers": [{"name": "podinfod", "env": [{"name": "B", "value": "x"}]}]}),
            ["podinfod", "sidecar"],
            ["A", "B"],
            id="update-env-var-keeps-position",
        ),
        pytest.param(
            tpl({"containers": [{"$patch": "replace"}, {"name": "only", "image": "x"}]}),
            ["only"],
            None,
            id="replace-whole-list",
        ),
        pytest.param(
            tpl({"containers": [{"name": "podinfod", "$patch": "merge", "env": [{"name": "B"}]}]}),
            ["podinfod", "sidecar"],
            ["A", "B"],
            id="explicit-merge-element",
        ),
        pytest.param(
            tpl({"containers": [{"name": "new", "image": "x"}]}),
            ["new", "podinfod", "sidecar"],
            ["A", "B"],
            id="add-container",
        ),
    ],
)
def test_list_merges(patch: dict, names: list[str], env: list[str] | None) -> None:
    live = deployment([copy.deepcopy(PODINFOD), copy.deepcopy(SIDECAR)])
    out = strategic_merge(live, patch, "Deployment")
    assert [c["name"] for c in containers_of(out)] == names
    podinfod = next((c for c in containers_of(out) if c["name"] == "podinfod"), {})
    assert [e["name"] for e in podinfod.get("env", [])] == (env or [])
    assert "$patch" not in str(out)


def test_ports_merge_by_container_port() -> None:
    live = deployment([copy.deepcopy(PODINFOD)])
    patch = tpl(
        {
            "containers": [
                {
                    "name": "podinfod",
                    "ports": [
                        {"containerPort": 9797, "name": "prom"},
                        {"containerPort": 8080, "name": "grpc"},
                    ],
                }
            ]
        }
    )
    ports = containers_of(strategic_merge(live, patch, "Deployment"))[0]["ports"]
    assert ports == [
        {"containerPort": 9898, "name": "http", "protocol": "TCP"},
        {"containerPort": 9797, "name": "prom", "protocol": "TCP"},
        {"containerPort": 8080, "name": "grpc"},
    ]


def test_lists_without_merge_key_are_replaced() -> None:
    live = deployment([copy.deepcopy(PODINFOD)])
    live["spec"]["template"]["spec"]["tolerations"] = [{"key": "a", "operator": "Exists"}]
    patch = tpl(
        {
            "containers": [{"name": "podinfod", "command": ["./podinfo"], "args": ["-v"]}],
            "tolerations": [{"key": "b", "operator": "Exists"}],
        }
    )
    out = strategic_merge(live, patch, "Deployment")
    assert containers_of(out)[0]["command"] == ["./podinfo"]
    assert containers_of(out)[0]["args"] == ["-v"]
    assert out["spec"]["template"]["spec"]["tolerations"] == [{"key": "b", "operator": "Exists"}]


def test_retain_keys_on_deployment_strategy() -> None:
    # kubectl apply switching RollingUpdate -> Recreate sends $retainKeys.
    live = deployment(
        [copy.deepcopy(PODINFOD)],
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
    )
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    out = strategic_merge(live, patch, "Deployment")
    assert out["spec"]["strategy"] == {"type": "Recreate"}
    assert patch_meta("Deployment", ("spec", "strategy")) == ("retainKeys", "")


def test_retain_keys_rejects_a_field_it_does_not_list() -> None:
    live = deployment([], strategy={"type": "RollingUpdate"})
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}
    with pytest.raises(PatchError, match="rollingUpdate"):
        strategic_merge(live, patch, "Deployment")


@pytest.mark.parametrize(
    ("patch", "expected_metadata"),
    [
        pytest.param(
            {"metadata": {"labels": {"app": None, "tier": "web"}}},
            {"name": "podinfo", "namespace": "test", "labels": {"tier": "web"}},
            id="label-null-deletes",
        ),
        pytest.param(
            {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "t"}}},
            {
                "name": "podinfo",
                "namespace": "test",
                "labels": {"app": "podinfo"},
                "annotations": {"kubectl.kubernetes.io/restartedAt": "t"},
            },
            id="annotate-new-map",
        ),
        pytest.param(
            {"metadata": {"labels": None, "missing": None}},
            {"name": "podinfo", "namespace": "test"},
            id="null-map-and-unmatched-null",
        ),
        pytest.param(
            {"metadata": {"labels": {"$patch": "replace", "x": "y"}}},
            {"name": "podinfo", "namespace": "test", "labels": {"x": "y"}},
            id="replace-map",
        ),
        pytest.param(
            {"metadata": {"labels": {"$patch": "delete"}}},
            {"name": "podinfo", "namespace": "test", "labels": {}},
            id="delete-map",
        ),
        pytest.param(
            {"metadata": {"labels": {"$patch": "merge", "x": "y"}}},
            {"name": "podinfo", "namespace": "test", "labels": {"app": "podinfo", "x": "y"}},
            id="explicit-merge",
        ),
    ],
)
def test_map_semantics(patch: dict, expected_metadata: dict) -> None:
    out = strategic_merge(deployment([]), patch, "Deployment")
    assert out["metadata"] == expected_metadata


def test_scale_and_rollout_restart_patches() -> None:
    live = deployment([copy.deepcopy(PODINFOD)])
    out = strategic_merge(live, {"spec": {"replicas": 5}}, "Deployment")
    assert out["spec"]["replicas"] == 5
    restart = {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}
        }
    }
    out = strategic_merge(live, restart, "Deployment")
    assert out["spec"]["template"]["metadata"] == {
        "labels": {"app": "podinfo"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "now"},
    }
    assert containers_of(out) == containers_of(live)


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        pytest.param({"metadata": {"finalizers": ["b"]}}, ["b", "a"], id="merge-primitive"),
        pytest.param({"metadata": {"finalizers": ["a"]}}, ["a"], id="no-duplicates"),
        pytest.param(
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, [], id="delete-primitive"
        ),
        pytest.param(
            {
                "metadata": {
                    "$setElementOrder/finalizers": ["c", "a"],
                    "finalizers": ["c"],
                }
            },
            ["c", "a"],
            id="order-primitive",
        ),
    ],
)
def test_finalizers_merge_as_a_set(patch: dict, expected: list[str]) -> None:
    live = {"metadata": {"name": "x", "finalizers": ["a"]}}
    assert strategic_merge(live, patch, "ConfigMap")["metadata"]["finalizers"] == expected


def test_owner_references_merge_by_uid() -> None:
    live = {"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}}
    patch = {"metadata": {"ownerReferences": [{"uid": "2", "$patch": "delete"}]}}
    out = strategic_merge(live, patch, "Pod")
    assert out["metadata"]["ownerReferences"] == [{"uid": "1", "name": "a"}]


@pytest.mark.parametrize(
    ("kind", "live", "patch", "expected"),
    [
        pytest.param(
            "Service",
            {"spec": {"ports": [{"port": 80, "targetPort": 9898}, {"port": 81}]}},
            {"spec": {"ports": [{"port": 80, "targetPort": "http"}]}},
            {"spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81}]}},
            id="service-ports-by-port",
        ),
        pytest.param(
            "Pod",
            {"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "X"}]}},
            {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "X"}]}},
            id="pod-conditions-by-type",
        ),
        pytest.param(
            "Deployment",
            {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
            {"status": {"conditions": [{"type": "Progressing", "status": "True"}]}},
            {
                "status": {
                    "conditions": [
                        {"type": "Progressing", "status": "True"},
                        {"type": "Available", "status": "True"},
                    ]
                }
            },
            id="deployment-conditions-by-type",
        ),
        pytest.param(
            "Pod",
            {"spec": {"volumes": [{"name": "a", "emptyDir": {}}], "tolerations": [{"key": "a"}]}},
            {"spec": {"volumes": [{"name": "b", "configMap": {"name": "c"}}]}},
            {
                "spec": {
                    "volumes": [
                        {"name": "b", "configMap": {"name": "c"}},
                        {"name": "a", "emptyDir": {}},
                    ],
                    "tolerations": [{"key": "a"}],
                }
            },
            id="pod-volumes-by-name",
        ),
        pytest.param(
            "Endpoints",
            {"subsets": [{"addresses": [{"ip": "1"}]}]},
            {"subsets": [{"addresses": [{"ip": "2"}]}]},
            {"subsets": [{"addresses": [{"ip": "2"}]}]},
            id="endpoints-subsets-replaced",
        ),
        pytest.param(
            "Canary",
            {"spec": {"analysis": {"metrics": [{"name": "a"}], "interval": "1m"}}},
            {
                "spec": {
                    "analysis": {
                        "metrics": [
                            {"name": "b", "$patch": "merge"},
                            {"name": "c", "$patch": "delete"},
                        ]
                    }
                }
            },
            {"spec": {"analysis": {"metrics": [{"name": "b"}], "interval": "1m"}}},
            id="unknown-kind-replaces-lists-strips-directives",
        ),
        pytest.param(
            "Deployment",
            {"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}},
            {"spec": {"template": {"spec": {"initContainers": [{"name": "i", "image": "x"}]}}}},
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [{"name": "a"}],
                            "initContainers": [{"name": "i", "image": "x"}],
                        }
                    }
                }
            },
            id="new-list",
        ),
        pytest.param(
            "ConfigMap",
            {"data": {"a": "1"}},
            {"$patch": "replace", "data": {"b": "2"}},
            {"data": {"b": "2"}},
            id="replace-whole-object",
        ),
    ],
)
def test_merge_keys_by_kind(kind: str, live: dict, patch: dict, expected: dict) -> None:
    assert strategic_merge(live, patch, kind) == expected


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        pytest.param(tpl({"containers": [{"image": "x"}]}), "merge key: name", id="missing-key"),
        pytest.param(
            tpl({"containers": [{"$patch": "delete", "image": "x"}]}),
            "merge key: name",
            id="delete-without-key",
        ),
        pytest.param({"spec": {"$patch": "bogus"}}, "unknown patch type", id="bad-directive"),
        pytest.param(
            {"spec": {"strategy": {"$retainKeys": "type"}}}, "must be a list", id="bad-retain"
        ),
    ],
)
def test_bad_patches_raise_patch_error_naming_the_field(patch: dict, message: str) -> None:
    live = deployment([copy.deepcopy(PODINFOD)], strategy={"type": "Recreate"})
    with pytest.raises(PatchError, match=message) as err:
        strategic_merge(live, patch, "Deployment")
    assert "spec" in str(err.value)


# -- conformance: the same patches through kubectl's own strategicpatch code -----------------

KUBECTL = shutil.which("kubectl")
_BASE = deployment(
    [copy.deepcopy(PODINFOD), copy.deepcopy(SIDECAR)],
    strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
)
_BASE["metadata"]["finalizers"] = ["a", "b"]
_SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "podinfo"},
    "spec": {"ports": [{"port": 80, "targetPort": 9898}, {"port": 81}], "selector": {"a": "b"}},
}
_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {
        "containers": [{"name": "c", "image": "i"}],
        "volumes": [{"name": "a", "emptyDir": {}}],
    },
    "status": {
        "conditions": [{"type": "Ready", "status": "False"}, {"type": "X", "status": "True"}]
    },
}
CONFORMANCE = [
    (_BASE, tpl({"containers": [{"name": "podinfod", "image": "podinfo:2"}]})),
    (_BASE, tpl({"containers": [{"name": "new", "image": "x"}]})),
    (_BASE, tpl({"containers": [{"name": "podinfod", "env": [{"name": "Z", "value": "9"}]}]})),
    (
        _BASE,
        tpl(
            {
                "$setElementOrder/containers": [{"name": "logger"}, {"name": "podinfod"}],
                "containers": [
                    {"name": "logger", "image": "b"},
                    {
                        "name": "podinfod",
                        "$setElementOrder/env": [{"name": "B"}, {"name": "C"}, {"name": "A"}],
                        "env": [{"name": "C", "value": "3"}],
                    },
                    {"name": "sidecar", "$patch": "delete"},
                ],
            }
        ),
    ),
    (_BASE, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    (_BASE, {"metadata": {"finalizers": ["c"], "labels": {"app": None, "x": "y"}}}),
    (
        _BASE,
        {
            "metadata": {
                "$setElementOrder/finalizers": ["b", "c"],
                "$deleteFromPrimitiveList/finalizers": ["a"],
                "finalizers": ["c"],
            }
        },
    ),
    (_BASE, tpl({"containers": [{"name": "podinfod", "$patch": "replace", "image": "y"}]})),
    (_SERVICE, {"spec": {"ports": [{"port": 82}], "selector": {"$patch": "replace", "c": "d"}}}),
    (_POD, {"status": {"conditions": [{"type": "New", "status": "True"}]}}),
    (
        _POD,
        {
            "spec": {
                "volumes": [
                    {"name": "a", "$retainKeys": ["name", "configMap"], "configMap": {"name": "c"}}
                ]
            }
        },
    ),
]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")
@pytest.mark.parametrize(("live", "patch"), CONFORMANCE)
def test_same_result_as_kubectl_patch_local(live: dict, patch: dict, tmp_path) -> None:
    path = tmp_path / "obj.json"
    path.write_text(json.dumps(live))
    argv = [str(KUBECTL), "patch", "-f", str(path), "--local", "--type", "strategic"]
    done = subprocess.run(
        [*argv, "-p", json.dumps(patch), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": os.environ.get("PATH", ""), "KUBECONFIG": os.devnull, "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert strategic_merge(live, patch, live["kind"]) == json.loads(done.stdout)
