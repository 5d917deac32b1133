"""Just enough Kubernetes protobuf decoding for the bodies kubectl's typed clients send.

kubectl's typed ``create`` subcommands (namespace, configmap, secret, serviceaccount, service,
deployment, role, rolebinding, clusterrole, clusterrolebinding) post protobuf bodies and have
no JSON fallback, so the server decodes those kinds: the ``k8s\\0`` envelope (runtime.Unknown)
and the fields those commands set. Anything else is a 415 naming the kind.
"""

from __future__ import annotations

import base64
from typing import Any

from . import errors

Obj = dict[str, Any]
MAGIC = b"k8s\x00"


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(buf: bytes) -> list[tuple[int, Any]]:
    """(field number, value) pairs; length-delimited values stay bytes."""
    out: list[tuple[int, Any]] = []
    i = 0
    while i < len(buf):
        tag, i = _varint(buf, i)
        num, wire = tag >> 3, tag & 7
        if wire == 0:
            val, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wire == 1:
            val, i = buf[i:i + 8], i + 8
        elif wire == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((num, val))
    return out


def _s(b: bytes) -> str:
    return b.decode()


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


# A schema maps field number -> (JSON name, type[, sub-schema]). Types: s string, i integer
# (0 = unset), i0 integer kept even when 0 (pointer fields), b bool, m message, rs repeated
# string, rm repeated message, map string map, mapb bytes map (base64), ios IntOrString.
# Empty strings and zero values are what gogo-protobuf writes for unset non-pointer fields,
# so they are dropped and server-side defaults apply as for JSON.
Schema = dict[int, tuple[Any, ...]]

_META: Schema = {1: ("name", "s"), 2: ("generateName", "s"), 3: ("namespace", "s"),
                 11: ("labels", "map"), 12: ("annotations", "map"), 14: ("finalizers", "rs")}
_SELECTOR: Schema = {1: ("matchLabels", "map"), 2: ("matchExpressions", "rm", {
    1: ("key", "s"), 2: ("operator", "s"), 3: ("values", "rs")})}
_CONTAINER: Schema = {
    1: ("name", "s"), 2: ("image", "s"), 3: ("command", "rs"), 4: ("args", "rs"),
    5: ("workingDir", "s"),
    6: ("ports", "rm", {1: ("name", "s"), 2: ("hostPort", "i"), 3: ("containerPort", "i"),
                        4: ("protocol", "s"), 5: ("hostIP", "s")}),
    7: ("env", "rm", {1: ("name", "s"), 2: ("value", "s")}),
    13: ("terminationMessagePath", "s"), 14: ("imagePullPolicy", "s"),
    20: ("terminationMessagePolicy", "s")}
_POD_SPEC: Schema = {2: ("containers", "rm", _CONTAINER), 3: ("restartPolicy", "s"),
                     4: ("terminationGracePeriodSeconds", "i"), 6: ("dnsPolicy", "s"),
                     7: ("nodeSelector", "map"), 8: ("serviceAccountName", "s"),
                     10: ("nodeName", "s"), 20: ("initContainers", "rm", _CONTAINER)}
_DEPLOYMENT_SPEC: Schema = {
    1: ("replicas", "i0"), 2: ("selector", "m", _SELECTOR),
    3: ("template", "m", {1: ("metadata", "m", _META), 2: ("spec", "m", _POD_SPEC)}),
    4: ("strategy", "m", {1: ("type", "s"), 2: ("rollingUpdate", "m", {
        1: ("maxUnavailable", "ios"), 2: ("maxSurge", "ios")})}),
    5: ("minReadySeconds", "i"), 6: ("revisionHistoryLimit", "i0"), 7: ("paused", "b"),
    9: ("progressDeadlineSeconds", "i0")}
_SERVICE_SPEC: Schema = {
    1: ("ports", "rm", {1: ("name", "s"), 2: ("protocol", "s"), 3: ("port", "i"),
                        4: ("targetPort", "ios"), 5: ("nodePort", "i")}),
    2: ("selector", "map"), 3: ("clusterIP", "s"), 4: ("type", "s")}

_RULES: Schema = {2: ("rules", "rm", {1: ("verbs", "rs"), 2: ("apiGroups", "rs"),
                                      3: ("resources", "rs"), 4: ("resourceNames", "rs"),
                                      5: ("nonResourceURLs", "rs")})}
_BINDING: Schema = {
    2: ("subjects", "rm", {1: ("kind", "s"), 2: ("apiGroup", "s"), 3: ("name", "s"),
                           4: ("namespace", "s")}),
    3: ("roleRef", "m", {1: ("apiGroup", "s"), 2: ("kind", "s"), 3: ("name", "s")})}
_RBAC = "rbac.authorization.k8s.io/v1"

_KINDS: dict[tuple[str, str], Schema] = {
    (_RBAC, "Role"): _RULES, (_RBAC, "ClusterRole"): _RULES,
    (_RBAC, "RoleBinding"): _BINDING, (_RBAC, "ClusterRoleBinding"): _BINDING,
    ("v1", "Namespace"): {2: ("spec", "m", {1: ("finalizers", "rs")})},
    ("v1", "ConfigMap"): {2: ("data", "map"), 3: ("binaryData", "mapb"),
                          4: ("immutable", "b")},
    ("v1", "Secret"): {2: ("data", "mapb"), 3: ("type", "s"), 4: ("stringData", "map"),
                       5: ("immutable", "b")},
    ("v1", "ServiceAccount"): {},
    ("v1", "Service"): {2: ("spec", "m", _SERVICE_SPEC)},
    ("apps/v1", "Deployment"): {2: ("spec", "m", _DEPLOYMENT_SPEC)},
}


def _int(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v  # negative int32/int64 varints


def _map(entries: list[bytes], value: Any = _s) -> Obj:
    out = {}
    for e in entries:
        kv = dict(fields(e))
        out[_s(kv.get(1, b""))] = value(kv.get(2, b""))
    return out


def _int_or_string(buf: bytes) -> Any:
    f = dict(fields(buf))
    if f.get(1, 0) == 1:
        return _s(f.get(3, b"")) or None
    return _int(f.get(2, 0)) or None


def _message(buf: bytes, schema: Schema) -> Obj:
    out: Obj = {}
    grouped: dict[int, list[Any]] = {}
    for num, val in fields(buf):
        grouped.setdefault(num, []).append(val)
    for num, vals in grouped.items():
        if num not in schema:
            continue
        name, typ, *sub = schema[num]
        last = vals[-1]
        value: Any
        if typ == "s":
            value = _s(last) or None
        elif typ in ("i", "i0"):
            value = _int(last) if (last or typ == "i0") else None
        elif typ == "b":
            value = True if last else None
        elif typ == "m":
            value = _message(last, sub[0]) or None
        elif typ == "rs":
            value = [_s(v) for v in vals]
        elif typ == "rm":
            value = [_message(v, sub[0]) for v in vals]
        elif typ == "map":
            value = _map(vals)
        elif typ == "mapb":
            value = _map(vals, _b64)
        else:  # ios
            value = _int_or_string(last)
        if value is not None:
            out[name] = value
    return out


def decode(raw: bytes) -> Obj:
    if not raw.startswith(MAGIC):
        raise errors.bad_request("protobuf body without the k8s envelope")
    try:
        env = fields(raw[len(MAGIC):])
        type_meta = dict(fields(next((v for n, v in env if n == 1), b"")))
        api_version, kind = _s(type_meta.get(1, b"")), _s(type_meta.get(2, b""))
        schema = _KINDS.get((api_version, kind))
        if schema is None:
            raise errors.ApiException(
                415, "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: application/json, application/yaml (this server decodes "
                f"application/vnd.kubernetes.protobuf only for "
                f"{', '.join(k for _v, k in _KINDS)}, not {kind or 'this kind'})")
        body = next((v for n, v in env if n == 2), b"")
        return {"apiVersion": api_version, "kind": kind,
                **_message(body, {1: ("metadata", "m", _META), **schema})}
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise errors.bad_request(f"cannot decode the protobuf body: {e}") from None
