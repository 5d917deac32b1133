"""Just enough Kubernetes protobuf decoding for the bodies kubectl's typed clients send.

kubectl's ``create namespace|configmap|secret`` post ``application/vnd.kubernetes.protobuf``
and have no JSON fallback, so the server decodes those kinds: the ``k8s\\0`` envelope
(runtime.Unknown) and the fields of ObjectMeta, Namespace, ConfigMap and Secret. Anything else
is a 415 naming the kind.
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


def _map(entries: list[bytes], value: Any = _s) -> Obj:
    out = {}
    for e in entries:
        kv = dict(fields(e))
        out[_s(kv.get(1, b""))] = value(kv.get(2, b""))
    return out


def _object_meta(buf: bytes) -> Obj:
    md: Obj = {}
    labels, annotations, finalizers = [], [], []
    for num, val in fields(buf):
        if num in (1, 2, 3) and val:
            md[{1: "name", 2: "generateName", 3: "namespace"}[num]] = _s(val)
        elif num == 11:
            labels.append(val)
        elif num == 12:
            annotations.append(val)
        elif num == 14:
            finalizers.append(_s(val))
    if labels:
        md["labels"] = _map(labels)
    if annotations:
        md["annotations"] = _map(annotations)
    if finalizers:
        md["finalizers"] = finalizers
    return md


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _namespace(obj: Obj, fs: list[tuple[int, Any]]) -> None:
    for num, val in fs:
        if num == 2:
            fins = [_s(v) for n, v in fields(val) if n == 1]
            if fins:
                obj["spec"] = {"finalizers": fins}


def _configmap(obj: Obj, fs: list[tuple[int, Any]]) -> None:
    data = [v for n, v in fs if n == 2]
    binary = [v for n, v in fs if n == 3]
    if data:
        obj["data"] = _map(data)
    if binary:
        obj["binaryData"] = _map(binary, _b64)
    for n, v in fs:
        if n == 4:
            obj["immutable"] = bool(v)


def _secret(obj: Obj, fs: list[tuple[int, Any]]) -> None:
    data = [v for n, v in fs if n == 2]
    string_data = [v for n, v in fs if n == 4]
    if data:
        obj["data"] = _map(data, _b64)
    if string_data:
        obj["stringData"] = _map(string_data)
    for n, v in fs:
        if n == 3 and v:
            obj["type"] = _s(v)
        elif n == 5:
            obj["immutable"] = bool(v)


_KINDS = {("v1", "Namespace"): _namespace, ("v1", "ConfigMap"): _configmap,
          ("v1", "Secret"): _secret}


def decode(raw: bytes) -> Obj:
    if not raw.startswith(MAGIC):
        raise errors.bad_request("protobuf body without the k8s envelope")
    try:
        env = fields(raw[len(MAGIC):])
        type_meta = dict(fields(next((v for n, v in env if n == 1), b"")))
        api_version, kind = _s(type_meta.get(1, b"")), _s(type_meta.get(2, b""))
        fn = _KINDS.get((api_version, kind))
        if fn is None:
            raise errors.ApiException(
                415, "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: application/json, application/yaml (this server decodes "
                f"application/vnd.kubernetes.protobuf only for Namespace, ConfigMap and "
                f"Secret, not {kind or 'this kind'})")
        body = next((v for n, v in env if n == 2), b"")
        fs = fields(body)
        obj: Obj = {"apiVersion": api_version, "kind": kind,
                    "metadata": _object_meta(next((v for n, v in fs if n == 1), b""))}
        fn(obj, fs)
        return obj
    except (ValueError, IndexError, UnicodeDecodeError) as e:
        raise errors.bad_request(f"cannot decode the protobuf body: {e}") from None
