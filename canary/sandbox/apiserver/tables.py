"""``meta.k8s.io/v1`` Table responses: what ``kubectl get`` prints.

Built-in kinds get the columns of the Kubernetes printers
(``pkg/printers/internalversion/printers.go``, generated with ``Wide: true`` as the API server
does; kubectl hides priority > 0 columns unless ``-o wide``). Custom resources get ``Name`` plus
their CRD version's ``additionalPrinterColumns`` (or ``Age`` when there are none), evaluated as
the apiextensions table convertor does; ``date`` columns render as a human duration ("5m").
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from canary.clock import rfc3339
from canary.sandbox.apiserver.selectors import SelectorError, selector_to_string

__all__ = ["JSONPathError", "evaluate_jsonpath", "human_duration", "to_table"]

INCLUDE_OBJECT = ("None", "Metadata", "Object")

_NAME_DESC = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_AGE_DESC = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


# -- time ---------------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """Kubernetes ``duration.HumanDuration``: ~2-3 significant figures ("45s", "5m30s", "3d4h")."""
    s = int(seconds)  # truncates toward zero, like Go's int(d.Seconds())
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _since(value: Any, now: float) -> str:
    """``translateTimestampSince``: "<unknown>" when unset."""
    ts = _parse_time(value)
    return "<unknown>" if ts is None else human_duration(now - ts)


def _created_at(obj: dict) -> str:
    ts = _parse_time(_get(obj, "metadata", "creationTimestamp"))
    if ts is None:
        return "<unknown>"
    return rfc3339(ts)


# -- helpers ------------------------------------------------------------------------------


def _get(obj: Any, *keys: str | int, default: Any = None) -> Any:
    cur = obj
    for key in keys:
        if isinstance(key, int):
            if not isinstance(cur, list) or not -len(cur) <= key < len(cur):
                return default
            cur = cur[key]
        else:
            if not isinstance(cur, dict) or key not in cur:
                return default
            cur = cur[key]
    if cur is None:
        return default
    # Stored objects are not always well-formed: a value of the wrong shape counts as unset.
    if isinstance(default, dict | list | str) and not isinstance(cur, type(default)):
        return default
    if isinstance(default, int) and (isinstance(cur, bool) or not isinstance(cur, int | float)):
        return default
    return cur


def _map(obj: Any, *keys: str) -> dict:
    return _get(obj, *keys, default={})


def _dicts(obj: Any, *keys: str) -> list[dict]:
    """The list at ``keys``, objects only."""
    return [item for item in _get(obj, *keys, default=[]) if isinstance(item, dict)]


def _text(obj: Any, *keys: str) -> str:
    value = _get(obj, *keys)
    return "" if value is None or isinstance(value, dict | list) else str(value)


def _int(obj: Any, *keys: str, default: int = 0) -> int:
    return int(_get(obj, *keys, default=default))


def _col(
    name: str, type_: str = "string", priority: int = 0, desc: str = "", fmt: str = ""
) -> dict:
    return {"name": name, "type": type_, "format": fmt, "description": desc, "priority": priority}


_NAME_COL = _col("Name", fmt="name", desc=_NAME_DESC)
_AGE_COL = _col("Age", desc=_AGE_DESC)


def _name(obj: dict) -> str:
    return _text(obj, "metadata", "name")


def _age(obj: dict, now: float) -> str:
    return _since(_get(obj, "metadata", "creationTimestamp"), now)


def _containers_cells(pod_spec: dict) -> list[str]:
    containers = _dicts(pod_spec, "containers")
    return [
        ",".join(_text(c, "name") for c in containers),
        ",".join(_text(c, "image") for c in containers),
    ]


def _selector_cell(sel: Any) -> str:
    try:
        return selector_to_string(sel if isinstance(sel, dict) else None)
    except SelectorError:
        return "<error>"


def _format_labels(labels: Any) -> str:
    if not isinstance(labels, dict) or not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def _more(items: list[str], total: int, limit: int = 3, empty: str = "") -> str:
    text = ",".join(items[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or empty


Row = Callable[[dict, float], list]


# -- built-in printers --------------------------------------------------------------------


def _pod_cells(pod: dict, now: float) -> list:
    spec, status = _map(pod, "spec"), _map(pod, "status")
    conditions = _dicts(status, "conditions")
    phase = _text(status, "phase")
    reason = _text(status, "reason") or phase
    for cond in conditions:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = {_text(c, "name"): c for c in _dicts(spec, "initContainers")}

    def sidecar(name: str) -> bool:  # restartable init container
        return _get(init_specs.get(name), "restartPolicy") == "Always"

    total = len(_dicts(spec, "containers")) + sum(1 for n in init_specs if sidecar(n))
    ready = restarts = sidecar_restarts = 0
    last_restart: float | None = None
    last_sidecar_restart: float | None = None

    def later(a: float | None, value: Any) -> float | None:
        ts = _parse_time(value)
        return ts if ts is not None and (a is None or ts > a) else a

    def state(cs: dict, which: str) -> dict | None:
        value = _map(cs, "state").get(which)
        return value if isinstance(value, dict) else None

    initializing = False
    for i, cs in enumerate(_dicts(status, "initContainerStatuses")):
        name = _text(cs, "name")
        restarts += _int(cs, "restartCount")
        finished = _get(cs, "lastState", "terminated", "finishedAt")
        last_restart = later(last_restart, finished)
        if sidecar(name):
            sidecar_restarts += _int(cs, "restartCount")
            last_sidecar_restart = later(last_sidecar_restart, finished)
        terminated, waiting = state(cs, "terminated"), state(cs, "waiting")
        if terminated is not None and _int(terminated, "exitCode") == 0:
            continue
        if sidecar(name) and cs.get("started") is True:
            ready += 1 if cs.get("ready") is True else 0
            continue
        if terminated is not None:
            if _text(terminated, "reason"):
                reason = "Init:" + _text(terminated, "reason")
            elif _int(terminated, "signal"):
                reason = f"Init:Signal:{_int(terminated, 'signal')}"
            else:
                reason = f"Init:ExitCode:{_int(terminated, 'exitCode')}"
        elif waiting and _text(waiting, "reason") not in ("", "PodInitializing"):
            reason = "Init:" + _text(waiting, "reason")
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    initialized = any(
        c.get("type") == "Initialized" and c.get("status") == "True" for c in conditions
    )
    if not initializing or initialized:
        restarts, last_restart = sidecar_restarts, last_sidecar_restart
        has_running = False
        # Walk backwards so the first container's state wins, as kubectl shows it.
        for cs in reversed(_dicts(status, "containerStatuses")):
            restarts += _int(cs, "restartCount")
            last_restart = later(last_restart, _get(cs, "lastState", "terminated", "finishedAt"))
            terminated, waiting = state(cs, "terminated"), state(cs, "waiting")
            if waiting is not None and _text(waiting, "reason"):
                reason = _text(waiting, "reason")
            elif terminated is not None and _text(terminated, "reason"):
                reason = _text(terminated, "reason")
            elif terminated is not None:
                if _int(terminated, "signal"):
                    reason = f"Signal:{_int(terminated, 'signal')}"
                else:
                    reason = f"ExitCode:{_int(terminated, 'exitCode')}"
            elif cs.get("ready") is True and state(cs, "running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            ready_cond = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in conditions
            )
            reason = "Running" if ready_cond else "NotReady"

    if _get(pod, "metadata", "deletionTimestamp"):
        if _text(status, "reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({human_duration(now - last_restart)} ago)"

    pod_ips = _dicts(status, "podIPs")
    pod_ip = (_text(pod_ips[0], "ip") if pod_ips else "") or _text(status, "podIP") or "<none>"
    gates = _dicts(spec, "readinessGates")
    gates_text = "<none>"
    if gates:
        by_type = {c.get("type"): c.get("status") for c in conditions}
        true = sum(1 for g in gates if by_type.get(g.get("conditionType")) == "True")
        gates_text = f"{true}/{len(gates)}"
    return [
        _name(pod),
        f"{ready}/{total}",
        reason,
        restarts_text,
        _age(pod, now),
        pod_ip,
        _text(spec, "nodeName") or "<none>",
        _text(status, "nominatedNodeName") or "<none>",
        gates_text,
    ]


def _deployment_cells(d: dict, now: float) -> list:
    status = _map(d, "status")
    return [
        _name(d),
        f"{_int(status, 'readyReplicas')}/{_int(d, 'spec', 'replicas', default=1)}",
        _int(status, "updatedReplicas"),
        _int(status, "availableReplicas"),
        _age(d, now),
        *_containers_cells(_map(d, "spec", "template", "spec")),
        _selector_cell(_get(d, "spec", "selector")),
    ]


def _replicaset_cells(rs: dict, now: float) -> list:
    status = _map(rs, "status")
    return [
        _name(rs),
        _int(rs, "spec", "replicas", default=1),
        _int(status, "replicas"),
        _int(status, "readyReplicas"),
        _age(rs, now),
        *_containers_cells(_map(rs, "spec", "template", "spec")),
        _selector_cell(_get(rs, "spec", "selector")),
    ]


def _service_external_ip(svc: dict) -> str:
    spec = _map(svc, "spec")
    kind = _text(spec, "type") or "ClusterIP"
    external = [str(ip) for ip in _get(spec, "externalIPs", default=[])]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        ingress = _dicts(svc, "status", "loadBalancer", "ingress")
        lb = [_text(i, "ip") or _text(i, "hostname") for i in ingress]
        return ",".join([x for x in lb if x] + external) or "<pending>"
    if kind == "ExternalName":
        return _text(spec, "externalName")
    return "<unknown>"


def _service_cells(svc: dict, now: float) -> list:
    spec = _map(svc, "spec")
    cluster_ips = _get(spec, "clusterIPs", default=[])
    cluster_ip = (str(cluster_ips[0]) if cluster_ips else "") or _text(spec, "clusterIP")
    ports = []
    for p in _dicts(spec, "ports"):
        proto = _text(p, "protocol") or "TCP"
        if _int(p, "nodePort"):
            ports.append(f"{_text(p, 'port')}:{_int(p, 'nodePort')}/{proto}")
        else:
            ports.append(f"{_text(p, 'port')}/{proto}")
    return [
        _name(svc),
        _text(spec, "type") or "ClusterIP",
        cluster_ip or "<none>",
        _service_external_ip(svc),
        ",".join(ports) or "<none>",
        _age(svc, now),
        _format_labels(spec.get("selector")),
    ]


def _endpoints_cells(ep: dict, now: float) -> list:
    subsets = _dicts(ep, "subsets")
    if not subsets:
        return [_name(ep), "<none>", _age(ep, now)]
    items: list[str] = []
    total = 0
    for ss in subsets:
        addresses = [_text(a, "ip") for a in _dicts(ss, "addresses")]
        ports = _dicts(ss, "ports")
        if not ports:
            total += len(addresses)
            items.extend(addresses)
            continue
        for port in ports:
            total += len(addresses)
            for ip in addresses:
                host = f"[{ip}]" if ":" in ip else ip
                items.append(f"{host}:{_text(port, 'port')}")
    return [_name(ep), _more(items, total), _age(ep, now)]


def _endpointslice_cells(es: dict, now: float) -> list:
    ports = [_text(p, "port") or _text(p, "name") or "*" for p in _dicts(es, "ports")]
    addresses = [str(a) for e in _dicts(es, "endpoints") for a in _get(e, "addresses", default=[])]
    return [
        _name(es),
        _text(es, "addressType"),
        _more(ports, len(ports), empty="<unset>"),
        _more(addresses, len(addresses), empty="<unset>"),
        _age(es, now),
    ]


def _as_core_event(ev: dict) -> dict:
    """events.k8s.io/v1 field names -> core/v1 ones (both print with the same printer)."""
    if "regarding" not in ev and "note" not in ev and "deprecatedSource" not in ev:
        return ev
    out = dict(ev)
    for core, new in (
        ("involvedObject", "regarding"),
        ("message", "note"),
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
        ("source", "deprecatedSource"),
    ):
        if out.get(core) is None:
            out[core] = ev.get(new)
    return out


def _event_cells(raw: dict, now: float) -> list:
    ev = _as_core_event(raw)
    first_ts = _text(ev, "firstTimestamp") or _text(ev, "eventTime")
    first = _since(first_ts, now) if first_ts else None
    last = _since(_text(ev, "lastTimestamp"), now) if _text(ev, "lastTimestamp") else first
    count = _int(ev, "count")
    series = _map(ev, "series")
    if series:
        last = _since(_text(series, "lastObservedTime"), now)
        count = _int(series, "count")
    elif not count:
        count = 1
    # Beyond Kubernetes: fall back to the creation time rather than "<unknown>".
    first = first or _age(ev, now)
    last = last or first
    involved = _map(ev, "involvedObject")
    kind = _text(involved, "kind").lower()
    target = f"{kind}/{_text(involved, 'name')}" if _text(involved, "name") else kind
    component = (
        _text(ev, "source", "component")
        or _text(ev, "reportingComponent")
        or _text(ev, "reportingController")
    )
    instance = _text(ev, "source", "host") or _text(ev, "reportingInstance")
    return [
        last,
        _text(ev, "type"),
        _text(ev, "reason"),
        target,
        _text(involved, "fieldPath"),
        f"{component}, {instance}" if instance else component,
        _text(ev, "message").strip(),
        first,
        count,
        _name(ev),
    ]


def _subjects(rb: dict) -> list[str]:
    users, groups, sas = [], [], []
    for s in _dicts(rb, "subjects"):
        kind, name = _text(s, "kind"), _text(s, "name")
        if kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
        elif kind == "ServiceAccount":
            sas.append(f"{_text(s, 'namespace')}:{name}")
    return [", ".join(users), ", ".join(groups), ", ".join(sas)]


def _rolebinding_cells(rb: dict, now: float) -> list:
    ref = _map(rb, "roleRef")
    role = f"{_text(ref, 'kind')}/{_text(ref, 'name')}"
    return [_name(rb), role, _age(rb, now), *_subjects(rb)]


_CONTAINERS = _col("Containers", priority=1, desc="Names of each container in the template.")
_IMAGES = _col("Images", priority=1, desc="Images referenced by each container in the template.")
_SELECTOR = _col("Selector", priority=1, desc="Label selector for pods.")
_CREATED_AT = _col("Created At", "date", desc=_AGE_DESC)
_RBAC_BINDING = (
    [
        _NAME_COL,
        _col("Role", desc="Role"),
        _AGE_COL,
        _col("Users", priority=1, desc="Users in the roleBinding"),
        _col("Groups", priority=1, desc="Groups in the roleBinding"),
        _col("ServiceAccounts", priority=1, desc="ServiceAccounts in the roleBinding"),
    ],
    _rolebinding_cells,
)
_CREATED_AT_PRINTER = ([_NAME_COL, _CREATED_AT], lambda o, now: [_name(o), _created_at(o)])

PRINTERS: dict[str, tuple[list[dict], Row]] = {
    "Namespace": (
        [_NAME_COL, _col("Status", desc="The status of the namespace"), _AGE_COL],
        lambda o, now: [_name(o), _text(o, "status", "phase"), _age(o, now)],
    ),
    "Pod": (
        [
            _NAME_COL,
            _col("Ready", desc="The aggregate readiness state of this pod for accepting traffic."),
            _col("Status", desc="The aggregate status of the containers in this pod."),
            _col(
                "Restarts",
                desc="The number of times the containers in this pod have been restarted and "
                "when the last container in this pod has restarted.",
            ),
            _AGE_COL,
            _col("IP", priority=1, desc="IP address allocated to the pod."),
            _col(
                "Node", priority=1, desc="NodeName is a request to schedule this pod onto a node."
            ),
            _col("Nominated Node", priority=1, desc="nominatedNodeName"),
            _col("Readiness Gates", priority=1, desc="readinessGates"),
        ],
        _pod_cells,
    ),
    "Deployment": (
        [
            _NAME_COL,
            _col("Ready", desc="Number of the pod with ready state"),
            _col(
                "Up-to-date",
                "integer",
                desc="Total number of non-terminated pods targeted by "
                "this deployment that have the desired template spec.",
            ),
            _col(
                "Available",
                "integer",
                desc="Total number of available pods (ready for at "
                "least minReadySeconds) targeted by this deployment.",
            ),
            _AGE_COL,
            _CONTAINERS,
            _IMAGES,
            _SELECTOR,
        ],
        _deployment_cells,
    ),
    "ReplicaSet": (
        [
            _NAME_COL,
            _col("Desired", "integer", desc="Replicas is the number of desired replicas."),
            _col(
                "Current",
                "integer",
                desc="Replicas is the most recently observed number of replicas.",
            ),
            _col("Ready", "integer", desc="The number of ready replicas for this replica set."),
            _AGE_COL,
            _CONTAINERS,
            _IMAGES,
            _SELECTOR,
        ],
        _replicaset_cells,
    ),
    "Service": (
        [
            _NAME_COL,
            _col("Type", desc="type determines how the Service is exposed."),
            _col("Cluster-IP", desc="clusterIP is the IP address of the service."),
            _col(
                "External-IP",
                desc="externalIPs is a list of IP addresses for which nodes in "
                "the cluster will also accept traffic for this service.",
            ),
            _col("Port(s)", desc="The list of ports that are exposed by this service."),
            _AGE_COL,
            _col(
                "Selector",
                priority=1,
                desc="Route service traffic to pods with label keys "
                "and values matching this selector.",
            ),
        ],
        _service_cells,
    ),
    "Endpoints": (
        [_NAME_COL, _col("Endpoints", desc="Endpoints of the service"), _AGE_COL],
        _endpoints_cells,
    ),
    "EndpointSlice": (
        [
            _NAME_COL,
            _col(
                "AddressType",
                desc="addressType specifies the type of address carried by this EndpointSlice.",
            ),
            _col(
                "Ports",
                desc="ports specifies the list of network ports exposed by each "
                "endpoint in this slice.",
            ),
            _col("Endpoints", desc="endpoints is a list of unique endpoints in this slice."),
            _AGE_COL,
        ],
        _endpointslice_cells,
    ),
    "Event": (
        [
            _col(
                "Last Seen",
                desc="The time at which the most recent occurrence of this event was recorded.",
            ),
            _col(
                "Type",
                desc="Type of this event (Normal, Warning), new types could be added in the future",
            ),
            _col(
                "Reason",
                desc="This should be a short, machine understandable string that "
                "gives the reason for the transition into the object's current status.",
            ),
            _col("Object", desc="The object that this event is about."),
            _col("Subobject", priority=1, desc="fieldPath"),
            _col("Source", priority=1, desc="The component reporting this event."),
            _col("Message", desc="A human-readable description of the status of this operation."),
            _col("First Seen", priority=1, desc="The time at which the event was first recorded."),
            _col("Count", priority=1, desc="The number of times this event has occurred."),
            _col("Name", priority=1, fmt="name", desc=_NAME_DESC),
        ],
        _event_cells,
    ),
    "ConfigMap": (
        [
            _NAME_COL,
            _col("Data", "integer", desc="Data contains the configuration data."),
            _AGE_COL,
        ],
        lambda o, now: [
            _name(o),
            len(_map(o, "data")) + len(_map(o, "binaryData")),
            _age(o, now),
        ],
    ),
    "Secret": (
        [
            _NAME_COL,
            _col("Type", desc="Used to facilitate programmatic handling of secret data."),
            _col("Data", "integer", desc="Data contains the secret data."),
            _AGE_COL,
        ],
        lambda o, now: [
            _name(o),
            _text(o, "type") or "Opaque",
            len(set(_map(o, "data")) | set(_map(o, "stringData"))),
            _age(o, now),
        ],
    ),
    "ServiceAccount": (
        [
            _NAME_COL,
            _col(
                "Secrets",
                "integer",
                desc="Secrets is a list of the secrets in the "
                "same namespace that pods running using this ServiceAccount are "
                "allowed to use.",
            ),
            _AGE_COL,
        ],
        lambda o, now: [_name(o), len(_dicts(o, "secrets")), _age(o, now)],
    ),
    "Lease": (
        [
            _NAME_COL,
            _col(
                "Holder",
                desc="holderIdentity contains the identity of the holder of a current lease.",
            ),
            _AGE_COL,
        ],
        lambda o, now: [_name(o), _text(o, "spec", "holderIdentity"), _age(o, now)],
    ),
    "CustomResourceDefinition": _CREATED_AT_PRINTER,
    "Role": _CREATED_AT_PRINTER,
    "ClusterRole": _CREATED_AT_PRINTER,
    "RoleBinding": _RBAC_BINDING,
    "ClusterRoleBinding": _RBAC_BINDING,
}


# -- JSONPath for additionalPrinterColumns ------------------------------------------------


class JSONPathError(ValueError):
    """A printer column JSONPath outside the simple subset CRDs allow."""


_FILTER = re.compile(
    r"\?\(\s*@((?:\.[^.\s=!<>()]+|\[['\"][^'\"]*['\"]\])*)\s*"
    r"(?:(==|!=|<=|>=|<|>)\s*('[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?|true|false))?\s*\)"
)


def _split_path(expr: str) -> list[tuple[str, Any]]:
    text = expr.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    steps: list[tuple[str, Any]] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == ".":
            j = i + 1
            while j < len(text) and text[j] not in ".[":
                j += 1
            name = text[i + 1 : j]
            if not name:
                raise JSONPathError(f"unsupported JSONPath {expr!r}: empty field name")
            steps.append(("all", None) if name == "*" else ("field", name))
            i = j
        elif c == "[":
            j = _closing_bracket(text, i, expr)
            inner = text[i + 1 : j].strip()
            i = j + 1
            if inner == "*":
                steps.append(("all", None))
            elif re.fullmatch(r"-?\d+", inner):
                steps.append(("index", int(inner)))
            elif len(inner) >= 2 and inner[0] == inner[-1] and inner[0] in "'\"":
                steps.append(("field", inner[1:-1]))
            elif (m := _FILTER.fullmatch(inner)) is not None:
                steps.append(("filter", (_split_path(m.group(1)), m.group(2), m.group(3))))
            else:
                raise JSONPathError(f"unsupported JSONPath {expr!r}: [{inner}]")
        else:
            raise JSONPathError(f"unsupported JSONPath {expr!r}: unexpected {c!r}")
    return steps


def _closing_bracket(text: str, start: int, expr: str) -> int:
    depth, quote = 0, ""
    for k in range(start, len(text)):
        ch = text[k]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth == 0 and ch == "]":
                return k
    raise JSONPathError(f"unsupported JSONPath {expr!r}: unclosed '['")


def _literal(text: str) -> Any:
    if text[0] in "'\"":
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    return float(text) if "." in text else int(text)


def _filter_ok(item: Any, spec: tuple) -> bool:
    path, op, literal = spec
    found = _walk([item], path)
    if op is None:
        return bool(found) and found[0] not in (None, False, "", 0)
    if not found:
        return False
    have, want = found[0], _literal(literal)
    if isinstance(want, bool) or isinstance(want, str):
        if op in ("==", "!="):
            return (have == want) == (op == "==")
        return False
    if isinstance(have, bool) or not isinstance(have, int | float):
        return op == "!="
    return {
        "==": have == want,
        "!=": have != want,
        "<": have < want,
        ">": have > want,
        "<=": have <= want,
        ">=": have >= want,
    }[op]


def _walk(values: list, steps: list[tuple[str, Any]]) -> list:
    for kind, arg in steps:
        nxt: list = []
        for v in values:
            if kind == "field" and isinstance(v, dict) and arg in v:
                nxt.append(v[arg])
            elif kind == "index" and isinstance(v, list) and -len(v) <= arg < len(v):
                nxt.append(v[arg])
            elif kind == "all":
                nxt.extend(v.values() if isinstance(v, dict) else v if isinstance(v, list) else [])
            elif kind == "filter" and isinstance(v, list):
                nxt.extend(x for x in v if _filter_ok(x, arg))
        values = nxt
    return values


def evaluate_jsonpath(expr: str, obj: dict) -> list:
    """All values ``expr`` selects in ``obj`` (``.a.b``, ``['k']``, ``[0]``, ``[*]``,
    ``[?(@.type=="Ready")]``). Raises JSONPathError for syntax outside that subset."""
    return _walk([obj], _split_path(expr))


def _json_text(value: Any) -> str:
    """How kubectl's JSONPath printer renders a value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _custom_cell(column_type: str, value: Any, now: float) -> Any:
    """``cellForJSONValue`` of the apiextensions table convertor."""
    if value is None:
        return None
    if column_type == "string":
        return _json_text(value)
    if column_type == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if column_type == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if column_type == "boolean" and isinstance(value, bool):
        return value
    if column_type == "date" and isinstance(value, str):
        ts = _parse_time(value)
        return "<invalid>" if ts is None else human_duration(now - ts)
    return None


def _custom_printer(printer_columns: list[dict]) -> tuple[list[dict], Row]:
    columns = list(printer_columns) or [
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    ]
    parsed = []
    defs = [_NAME_COL]
    for i, col in enumerate(columns):
        path = str(col.get("jsonPath") or "")
        try:
            steps = _split_path(path)
        except JSONPathError as err:
            raise JSONPathError(f"additionalPrinterColumns[{i}].jsonPath: {err}") from None
        parsed.append((str(col.get("type") or "string"), steps))
        desc = col.get("description") or (
            f"Custom resource definition column (in JSONPath format): {path}"
        )
        defs.append(
            _col(
                str(col.get("name", "")),
                str(col.get("type") or "string"),
                int(col.get("priority") or 0),
                desc,
                str(col.get("format") or ""),
            )
        )

    def cells(obj: dict, now: float) -> list:
        row: list = [_name(obj)]
        for type_, steps in parsed:
            found = _walk([obj], steps)
            row.append(_custom_cell(type_, found[0], now) if found else None)
        return row

    return defs, cells


def _default_printer() -> tuple[list[dict], Row]:
    return _custom_printer([])


# -- the table ----------------------------------------------------------------------------


def _row_conditions(obj: dict, kind: str) -> list[dict] | None:
    if kind != "Pod":
        return None
    phase = _get(obj, "status", "phase")
    if phase == "Succeeded":
        return [
            {
                "type": "Completed",
                "status": "True",
                "reason": "Succeeded",
                "message": "The pod has completed successfully.",
            }
        ]
    if phase == "Failed":
        return [
            {
                "type": "Completed",
                "status": "True",
                "reason": "Failed",
                "message": "The pod failed.",
            }
        ]
    return None


def to_table(
    objects: list[dict],
    kind: str,
    api_version: str,
    printer_columns: list[dict] | None = None,
    include_object: str = "Metadata",
    list_resource_version: str = "",
    *,
    now: float | None = None,
) -> dict:
    """A ``meta.k8s.io/v1`` Table for ``objects`` (one kind).

    ``printer_columns``: the CRD version's ``additionalPrinterColumns`` (``[]`` = none defined
    -> Name, Age); ``None`` for built-in kinds (kinds without a printer also get Name, Age).
    ``include_object``: "None" | "Metadata" (PartialObjectMetadata) | "Object".
    ``list_resource_version``: the list's resourceVersion (for a single get, the object's).
    Raises ValueError for a bad ``include_object`` and JSONPathError for a column path
    outside the supported subset.
    """
    if include_object not in INCLUDE_OBJECT:
        raise ValueError(
            f'includeObject: Unsupported value: "{include_object}": supported values: '
            '"None", "Metadata", "Object"'
        )
    now = time.time() if now is None else now
    if printer_columns is not None:
        columns, cells = _custom_printer(printer_columns)
    else:
        columns, cells = PRINTERS.get(kind) or _default_printer()
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": cells(obj, now)}
        conditions = _row_conditions(obj, kind) if printer_columns is None else None
        if conditions:
            row["conditions"] = conditions
        if include_object == "Metadata":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata") or {},
            }
        elif include_object == "Object":
            row["object"] = obj
        rows.append(row)
    metadata = {"resourceVersion": list_resource_version} if list_resource_version else {}
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": [dict(c) for c in columns],
        "rows": rows,
    }
