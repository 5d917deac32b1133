"""A minimal OpenAPI v3 index: enough for kubectl to see server-side field validation.

kubectl's default ``--validate=strict`` asks /openapi/v3 whether the PATCH operation of a kind
takes the ``fieldValidation`` query parameter; when it does, kubectl leaves validation to the
server instead of downloading schemas for client-side validation (which would fail here).
The documents carry paths only, no component schemas, so ``kubectl apply`` computes strategic
merge patches from its compiled-in types (built-ins) or uses JSON merge patch (custom
resources), exactly as it does against a cluster without published schemas.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .resources import Registry, ResourceType

Obj = dict[str, Any]

_PARAMS = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
           for n in ("dryRun", "fieldManager", "fieldValidation")]


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def gv_document(reg: Registry, group: str, version: str) -> Obj | None:
    types = [rt for rt in reg.all_types() if rt.group == group and rt.version == version]
    if not types:
        return None
    paths: Obj = {}
    for rt in types:
        paths.update(_paths(rt))
    return {"openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths, "components": {"schemas": {}}}


def _paths(rt: ResourceType) -> Obj:
    base = "/" + _gv_path(rt.group, rt.version)
    if rt.namespaced:
        base += "/namespaces/{namespace}"
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}

    def op(action: str) -> Obj:
        return {"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk,
                "parameters": _PARAMS, "responses": {"200": {"description": "OK"}}}

    return {
        f"{base}/{rt.plural}": {"post": op("post"), "get": op("list")},
        f"{base}/{rt.plural}/{{name}}": {"get": op("get"), "put": op("put"),
                                         "patch": op("patch"), "delete": op("delete")},
    }


# /openapi/v2 with no definitions. kubectl reads it for a kind the v3 documents do not
# describe and skips client-side validation of kinds it does not list, so applying a kind
# with no CRD fails at resource mapping with the real cluster's
# `no matches for kind "X" in version "g/v"` (an empty protobuf message is a valid empty
# gnostic openapi_v2.Document).
V2_PROTOBUF = b""
V2_PROTOBUF_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def v2_document() -> Obj:
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": {}, "definitions": {}}


def root(reg: Registry) -> Obj:
    paths: Obj = {}
    for group, versions in sorted(reg.groups().items()):
        for v in versions:
            doc = gv_document(reg, group, v)
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]
            p = _gv_path(group, v)
            paths[p] = {"serverRelativeURL": f"/openapi/v3/{p}?hash={digest.upper()}"}
    return {"paths": paths}
