"""meta.k8s.io/v1 Tables: the columns and cells ``kubectl get`` prints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from canary.sandbox.apiserver.tables import (
    JSONPathError,
    evaluate_jsonpath,
    human_duration,
    to_table,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def ago(seconds: float) -> str:
    return datetime.fromtimestamp(NOW - seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(name: str, age: float = 300, **extra: object) -> dict:
    return {
        "name": name,
        "namespace": "test",
        "uid": f"uid-{name}",
        "resourceVersion": "42",
        "creationTimestamp": ago(age),
        **extra,
    }


def kubectl_headers(table: dict, wide: bool = False) -> list[str]:
    """What kubectl prints as the header line: upper-cased names, priority 0 unless -o wide."""
    return [c["name"].upper() for c in table["columnDefinitions"] if wide or c["priority"] == 0]


def cells(table: dict, wide: bool = False) -> list[list]:
    keep = [wide or c["priority"] == 0 for c in table["columnDefinitions"]]
    return [[v for v, k in zip(r["cells"], keep, strict=True) if k] for r in table["rows"]]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (45, "45s"),
        (119, "119s"),
        (120, "2m"),
        (330, "5m30s"),
        (599, "9m59s"),
        (600, "10m"),
        (179 * 60 + 59, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 25 * 60, "3h25m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (8 * 86400, "8d"),
        (729 * 86400, "729d"),
        (2 * 365 * 86400, "2y"),
        (3 * 365 * 86400 + 10 * 86400, "3y10d"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration_matches_kubernetes(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def container_status(name: str, ready: bool, state: dict, restarts: int = 0, **kw: object) -> dict:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": state, **kw}


RUNNING = {"running": {"startedAt": ago(200)}}


def pod(name: str, statuses: list[dict], phase: str = "Running", **meta_extra: object) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(name, **meta_extra),
        "spec": {"nodeName": "sandbox", "containers": [{"name": s["name"]} for s in statuses]},
        "status": {"phase": phase, "podIP": "127.1.0.7", "containerStatuses": statuses},
    }


@pytest.mark.parametrize(
    ("obj", "row"),
    [
        pytest.param(
            pod("running", [container_status("podinfod", True, RUNNING)]),
            ["running", "1/1", "Running", "0", "5m"],
            id="running",
        ),
        pytest.param(
            pod(
                "pull",
                [container_status("podinfod", False, {"waiting": {"reason": "ImagePullBackOff"}})],
                phase="Pending",
            ),
            ["pull", "0/1", "ImagePullBackOff", "0", "5m"],
            id="image-pull-backoff",
        ),
        pytest.param(
            pod(
                "errpull",
                [container_status("podinfod", False, {"waiting": {"reason": "ErrImagePull"}})],
                phase="Pending",
            ),
            ["errpull", "0/1", "ErrImagePull", "0", "5m"],
            id="err-image-pull",
        ),
        pytest.param(
            pod(
                "crash",
                [
                    container_status(
                        "podinfod",
                        False,
                        {"waiting": {"reason": "CrashLoopBackOff"}},
                        restarts=3,
                        lastState={"terminated": {"exitCode": 1, "finishedAt": ago(75)}},
                    )
                ],
            ),
            ["crash", "0/1", "CrashLoopBackOff", "3 (75s ago)", "5m"],
            id="crash-loop",
        ),
        pytest.param(
            pod(
                "creating",
                [container_status("podinfod", False, {"waiting": {"reason": "ContainerCreating"}})],
                phase="Pending",
            ),
            ["creating", "0/1", "ContainerCreating", "0", "5m"],
            id="container-creating",
        ),
        pytest.param(
            pod(
                "two",
                [
                    container_status("app", True, RUNNING),
                    container_status("proxy", False, {"waiting": {"reason": "CrashLoopBackOff"}}),
                ],
            ),
            ["two", "1/2", "CrashLoopBackOff", "0", "5m"],
            id="one-of-two-ready",
        ),
        pytest.param(
            pod(
                "stopping",
                [container_status("podinfod", True, RUNNING)],
                deletionTimestamp=ago(1),
            ),
            ["stopping", "1/1", "Terminating", "0", "5m"],
            id="terminating",
        ),
        pytest.param(
            pod(
                "done",
                [
                    container_status(
                        "job", False, {"terminated": {"exitCode": 0, "reason": "Completed"}}
                    )
                ],
                phase="Succeeded",
            ),
            ["done", "0/1", "Completed", "0", "5m"],
            id="completed",
        ),
        pytest.param(
            pod("new", [], phase="Pending"),
            ["new", "0/0", "Pending", "0", "5m"],
            id="pending-no-status",
        ),
    ],
)
def test_pod_rows(obj: dict, row: list) -> None:
    table = to_table([obj], "Pod", "v1", now=NOW)
    assert kubectl_headers(table) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert cells(table) == [row]


def test_pod_wide_columns_and_completed_condition() -> None:
    obj = pod("done", [], phase="Succeeded")
    table = to_table([obj], "Pod", "v1", now=NOW)
    assert kubectl_headers(table, wide=True)[5:] == [
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]
    assert table["rows"][0]["cells"][5:] == ["127.1.0.7", "sandbox", "<none>", "<none>"]
    assert table["rows"][0]["conditions"][0]["type"] == "Completed"


def test_table_envelope_and_include_object() -> None:
    obj = pod("running", [container_status("podinfod", True, RUNNING)])
    table = to_table([obj], "Pod", "v1", list_resource_version="77", now=NOW)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "77"}
    for col in table["columnDefinitions"]:
        assert set(col) == {"name", "type", "format", "description", "priority"}
    assert table["columnDefinitions"][0]["format"] == "name"
    assert table["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }
    assert (
        to_table([obj], "Pod", "v1", include_object="Object", now=NOW)["rows"][0]["object"] == obj
    )
    assert "object" not in to_table([obj], "Pod", "v1", include_object="None")["rows"][0]
    assert to_table([], "Pod", "v1")["rows"] == []
    with pytest.raises(ValueError, match='Unsupported value: "Full"'):
        to_table([obj], "Pod", "v1", include_object="Full")


def test_deployment_row() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta("podinfo", age=3 * 3600),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "podinfo"}},
            "template": {
                "spec": {
                    "containers": [
                        {"name": "podinfod", "image": "quay.io/stefanprodan/podinfo:1.7.0"},
                        {"name": "sidecar", "image": "busybox:1"},
                    ]
                }
            },
        },
        "status": {"replicas": 2, "readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1},
    }
    table = to_table([obj], "Deployment", "apps/v1", now=NOW)
    assert kubectl_headers(table, wide=True) == [
        "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR",
    ]  # fmt: skip
    assert table["rows"][0]["cells"] == [
        "podinfo",
        "1/2",
        2,
        1,
        "3h",
        "podinfod,sidecar",
        "quay.io/stefanprodan/podinfo:1.7.0,busybox:1",
        "app=podinfo",
    ]
    fresh = {**obj, "status": {}}
    assert to_table([fresh], "Deployment", "apps/v1", now=NOW)["rows"][0]["cells"][1:4] == [
        "0/2",
        0,
        0,
    ]


def test_replicaset_row() -> None:
    obj = {
        "metadata": meta("podinfo-5d8f", age=45),
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "podinfo", "pod-template-hash": "5d8f"}},
            "template": {"spec": {"containers": [{"name": "podinfod", "image": "podinfo:1"}]}},
        },
        "status": {"replicas": 3, "readyReplicas": 2},
    }
    table = to_table([obj], "ReplicaSet", "apps/v1", now=NOW)
    assert kubectl_headers(table) == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert table["rows"][0]["cells"] == [
        "podinfo-5d8f", 3, 3, 2, "45s",
        "podinfod", "podinfo:1", "app=podinfo,pod-template-hash=5d8f",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "status", "row"),
    [
        pytest.param(
            {"clusterIP": "127.100.0.3", "ports": [{"port": 9898, "targetPort": "http"}],
             "selector": {"app": "podinfo"}},
            {},
            ["podinfo", "ClusterIP", "127.100.0.3", "<none>", "9898/TCP", "5m", "app=podinfo"],
            id="cluster-ip",
        ),
        pytest.param(
            {"type": "NodePort", "clusterIP": "127.100.0.4",
             "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                       {"port": 53, "protocol": "UDP"}]},
            {},
            ["podinfo", "NodePort", "127.100.0.4", "<none>", "80:30080/TCP,53/UDP", "5m", "<none>"],
            id="node-port",
        ),
        pytest.param(
            {"type": "LoadBalancer", "clusterIP": "127.100.0.5", "ports": []},
            {},
            ["podinfo", "LoadBalancer", "127.100.0.5", "<pending>", "<none>", "5m", "<none>"],
            id="pending-lb",
        ),
        pytest.param(
            {"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 80}]},
            {},
            ["podinfo", "ClusterIP", "None", "<none>", "80/TCP", "5m", "<none>"],
            id="headless",
        ),
        pytest.param(
            {"type": "ExternalName", "externalName": "example.com"},
            {},
            ["podinfo", "ExternalName", "<none>", "example.com", "<none>", "5m", "<none>"],
            id="external-name",
        ),
    ],
)  # fmt: skip
def test_service_rows(spec: dict, status: dict, row: list) -> None:
    obj = {"metadata": meta("podinfo"), "spec": spec, "status": status}
    table = to_table([obj], "Service", "v1", now=NOW)
    assert kubectl_headers(table) == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert table["rows"][0]["cells"] == row


def test_core_event_rows() -> None:
    ev = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta("podinfo.17", age=600),
        "involvedObject": {"kind": "Canary", "namespace": "test", "name": "podinfo"},
        "reason": "Synced",
        "message": "Advance podinfo.test canary weight 10 \n",
        "type": "Normal",
        "source": {"component": "flagger"},
        "firstTimestamp": ago(600),
        "lastTimestamp": ago(30),
        "count": 4,
    }
    table = to_table([ev], "Event", "v1", now=NOW)
    assert kubectl_headers(table) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert cells(table) == [
        ["30s", "Normal", "Synced", "canary/podinfo", "Advance podinfo.test canary weight 10"]
    ]
    assert table["rows"][0]["cells"][4:] == [
        "",
        "flagger",
        "Advance podinfo.test canary weight 10",
        "10m",
        4,
        "podinfo.17",
    ]


@pytest.mark.parametrize(
    ("extra", "last_seen"),
    [
        ({"eventTime": "2026-01-01T11:59:00.000000Z"}, "60s"),
        ({}, "10m"),  # no timestamps at all: creation time
        ({"series": {"count": 3, "lastObservedTime": "2026-01-01T11:59:50.000000Z"}}, "10s"),
    ],
)
def test_event_last_seen_fallbacks(extra: dict, last_seen: str) -> None:
    ev = {"metadata": meta("e", age=600), "involvedObject": {"kind": "Pod"}, **extra}
    row = to_table([ev], "Event", "v1", now=NOW)["rows"][0]["cells"]
    assert row[0] == last_seen
    assert row[3] == "pod"


def test_events_k8s_io_event_uses_the_same_columns() -> None:
    ev = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": meta("podinfo.18", age=90),
        "eventTime": ago(90),
        "regarding": {"kind": "Deployment", "name": "podinfo", "namespace": "test"},
        "reason": "ScalingReplicaSet",
        "note": "Scaled up replica set podinfo-5d8f to 2",
        "type": "Normal",
        "reportingController": "deployment-controller",
        "reportingInstance": "sandbox",
    }
    table = to_table([ev], "Event", "events.k8s.io/v1", now=NOW)
    assert kubectl_headers(table) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    row = table["rows"][0]["cells"]
    assert row[:4] == ["90s", "Normal", "ScalingReplicaSet", "deployment/podinfo"]
    assert row[5:7] == ["deployment-controller, sandbox", "Scaled up replica set podinfo-5d8f to 2"]


FLAGGER_COLUMNS = [
    {"name": "Status", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Weight", "type": "string", "jsonPath": ".status.canaryWeight"},
    {"name": "FailedChecks", "type": "string", "priority": 1, "jsonPath": ".status.failedChecks"},
    {"name": "LastTransitionTime", "type": "date", "jsonPath": ".status.lastTransitionTime"},
]


def test_canary_with_flagger_printer_columns() -> None:
    canary = {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "Canary",
        "metadata": meta("podinfo"),
        "spec": {"targetRef": {"kind": "Deployment", "name": "podinfo"}},
        "status": {
            "phase": "Progressing",
            "canaryWeight": 10,
            "failedChecks": 0,
            "lastTransitionTime": ago(65),
        },
    }
    fresh = {**canary, "metadata": meta("fresh"), "status": {}}
    table = to_table([canary, fresh], "Canary", "flagger.app/v1beta1", FLAGGER_COLUMNS, now=NOW)
    assert kubectl_headers(table) == ["NAME", "STATUS", "WEIGHT", "LASTTRANSITIONTIME"]
    assert cells(table) == [["podinfo", "Progressing", "10", "65s"], ["fresh", None, None, None]]
    assert table["rows"][0]["cells"][3] == "0"
    descriptions = [c["description"] for c in table["columnDefinitions"]]
    assert "Custom resource definition column (in JSONPath format): .status.phase" in descriptions


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ({"type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'}, "True"),
        ({"type": "string", "jsonPath": ".status.conditions[?(@.type=='Gone')].status"}, None),
        ({"type": "string", "jsonPath": ".status.conditions[1].type"}, "Ready"),
        ({"type": "integer", "jsonPath": ".spec.replicas"}, 3),
        ({"type": "integer", "jsonPath": ".spec.name"}, None),
        ({"type": "number", "jsonPath": ".spec.replicas"}, 3.0),
        ({"type": "boolean", "jsonPath": ".spec.paused"}, False),
        ({"type": "string", "jsonPath": ".spec.paused"}, "false"),
        ({"type": "date", "jsonPath": ".metadata.creationTimestamp"}, "5m"),
        ({"type": "date", "jsonPath": ".spec.name"}, "<invalid>"),
        ({"type": "string", "jsonPath": ".metadata.labels['app.kubernetes.io/name']"}, "podinfo"),
        ({"type": "string", "jsonPath": ".spec.selector"}, '{"app":"x"}'),
    ],
)
def test_printer_column_values(column: dict, value: object) -> None:
    obj = {
        "metadata": meta("r", labels={"app.kubernetes.io/name": "podinfo"}),
        "spec": {"replicas": 3, "name": "x", "paused": False, "selector": {"app": "x"}},
        "status": {
            "conditions": [
                {"type": "Available", "status": "False"},
                {"type": "Ready", "status": "True"},
            ]
        },
    }
    table = to_table([obj], "Rollout", "argoproj.io/v1alpha1", [{"name": "C", **column}], now=NOW)
    assert table["rows"][0]["cells"] == ["r", value]


def test_custom_resource_without_printer_columns_prints_name_and_age() -> None:
    obj = {"metadata": meta("tpl", age=3600 * 30)}
    for columns in ([], None):
        table = to_table([obj], "MetricTemplate", "flagger.app/v1beta1", columns, now=NOW)
        assert kubectl_headers(table) == ["NAME", "AGE"]
        assert table["rows"][0]["cells"] == ["tpl", "30h"]


def test_bad_printer_column_path_is_reported_with_its_index() -> None:
    with pytest.raises(JSONPathError, match=r"additionalPrinterColumns\[0\]"):
        to_table([{}], "X", "x/v1", [{"name": "A", "type": "string", "jsonPath": "status"}])
    assert evaluate_jsonpath(".items[*].name", {"items": [{"name": "a"}, {"name": "b"}]}) == [
        "a",
        "b",
    ]


@pytest.mark.parametrize(
    ("kind", "obj", "headers", "row"),
    [
        ("Namespace", {"metadata": meta("test"), "status": {"phase": "Active"}},
         ["NAME", "STATUS", "AGE"], ["test", "Active", "5m"]),
        ("ConfigMap", {"metadata": meta("cm"), "data": {"a": "1", "b": "2"}},
         ["NAME", "DATA", "AGE"], ["cm", 2, "5m"]),
        ("Secret", {"metadata": meta("s"), "type": "Opaque", "data": {"a": "MQ=="}},
         ["NAME", "TYPE", "DATA", "AGE"], ["s", "Opaque", 1, "5m"]),
        ("ServiceAccount", {"metadata": meta("default")},
         ["NAME", "SECRETS", "AGE"], ["default", 0, "5m"]),
        ("Lease", {"metadata": meta("engine"), "spec": {"holderIdentity": "canary-1"}},
         ["NAME", "HOLDER", "AGE"], ["engine", "canary-1", "5m"]),
        ("CustomResourceDefinition", {"metadata": meta("canaries.flagger.app")},
         ["NAME", "CREATED AT"], ["canaries.flagger.app", "2026-01-01T11:55:00Z"]),
        ("ClusterRole", {"metadata": meta("flagger")},
         ["NAME", "CREATED AT"], ["flagger", "2026-01-01T11:55:00Z"]),
        ("RoleBinding",
         {"metadata": meta("rb"), "roleRef": {"kind": "ClusterRole", "name": "flagger"},
          "subjects": [{"kind": "ServiceAccount", "name": "flagger", "namespace": "flagger"}]},
         ["NAME", "ROLE", "AGE"], ["rb", "ClusterRole/flagger", "5m", "", "", "flagger:flagger"]),
        ("Endpoints",
         {"metadata": meta("podinfo"),
          "subsets": [{"addresses": [{"ip": f"127.1.0.{i}"} for i in range(1, 5)],
                       "ports": [{"port": 9898}]}]},
         ["NAME", "ENDPOINTS", "AGE"],
         ["podinfo", "127.1.0.1:9898,127.1.0.2:9898,127.1.0.3:9898 + 1 more...", "5m"]),
        ("Endpoints", {"metadata": meta("none")}, ["NAME", "ENDPOINTS", "AGE"],
         ["none", "<none>", "5m"]),
        ("EndpointSlice",
         {"metadata": meta("podinfo-abc"), "addressType": "IPv4", "ports": [{"port": 9898}],
          "endpoints": [{"addresses": ["127.1.0.1"]}]},
         ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
         ["podinfo-abc", "IPv4", "9898", "127.1.0.1", "5m"]),
    ],
)  # fmt: skip
def test_other_builtin_kinds(kind: str, obj: dict, headers: list[str], row: list) -> None:
    table = to_table([obj], kind, "v1", now=NOW)
    assert kubectl_headers(table) == headers
    assert table["rows"][0]["cells"] == row


MALFORMED = [
    {},
    {"metadata": None, "spec": "x", "status": 5},
    {"metadata": {"name": 3}, "spec": {"containers": "x", "ports": [None, 1]}, "status": []},
    {"spec": {"replicas": "two", "selector": {"matchExpressions": [{"operator": "Bad"}]}}},
    {"status": {"containerStatuses": [{"state": {"waiting": "x"}, "restartCount": "many"}]}},
    {"subsets": [{"addresses": [None, {"ip": 1}], "ports": "x"}], "involvedObject": []},
    {"series": {"count": "x"}, "count": [], "regarding": "x", "subjects": [{"kind": 1}]},
]


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "ReplicaSet", "Service", "Endpoints",
                                  "EndpointSlice", "Event", "ConfigMap", "Secret", "RoleBinding",
                                  "Lease", "Namespace", "Canary"])  # fmt: skip
def test_malformed_objects_still_render(kind: str) -> None:
    table = to_table(MALFORMED, kind, "v1", now=NOW)
    width = len(table["columnDefinitions"])
    assert all(len(row["cells"]) == width for row in table["rows"])
