"""Validation that answers 422 Invalid with ``details.causes`` naming the field."""

from __future__ import annotations

import re
from typing import Any

from . import errors
from . import schema as openapi_schema
from .resources import ResourceType

Obj = dict[str, Any]

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_KINDS = {"Namespace", "Service"}
# RBAC objects (and Events) take "path segment" names such as system:controller:foo.
_PATH_SEGMENT_KINDS = {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}


def name_problem(kind: str, name: str) -> str | None:
    if kind in _PATH_SEGMENT_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return "may not contain '/' or '%' and may not be '.' or '..'"
        return None
    if kind in _LABEL_KINDS:
        if len(name) > 63 or not _LABEL.fullmatch(name):
            return ("a lowercase RFC 1123 label must consist of lower case alphanumeric "
                    "characters or '-', and must start and end with an alphanumeric character "
                    "(e.g. 'my-name',  or '123-abc', regex used for validation is "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
        return None
    if len(name) > 253 or not _SUBDOMAIN.fullmatch(name):
        return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character "
                "(e.g. 'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    return None


def validate(rt: ResourceType, obj: Obj) -> None:
    md = obj.get("metadata")
    name = md.get("name", "") if isinstance(md, dict) else ""
    causes: list[Obj] = []
    if not isinstance(md, dict):
        causes.append(errors.required("metadata"))
    elif not name:
        causes.append(errors.required("metadata.name", "name or generateName is required"))
    else:
        problem = name_problem(rt.kind, name) if isinstance(name, str) else "must be a string"
        if problem:
            causes.append(errors.invalid_value("metadata.name", name, problem))
    if isinstance(md, dict):
        for field in ("labels", "annotations"):
            val = md.get(field)
            if val is not None and not (isinstance(val, dict)
                                        and all(isinstance(v, str) for v in val.values())):
                causes.append(errors.invalid_value(f"metadata.{field}", val,
                                                   "must be a map of string to string"))
    check = _KIND_CHECKS.get((rt.group, rt.kind))
    if check:
        causes.extend(check(obj))
    if rt.custom and rt.schema is not None:
        causes.extend(openapi_schema.validate(rt.schema, obj))
    if causes:
        raise errors.invalid(rt.kind, rt.group, name, causes)


def _containers(spec: Any, path: str) -> list[Obj]:
    causes: list[Obj] = []
    if not isinstance(spec, dict):
        return [errors.required(path)]
    containers = spec.get("containers")
    if not containers or not isinstance(containers, list):
        return [errors.required(f"{path}.containers")]
    seen: set[str] = set()
    for i, c in enumerate(containers):
        cpath = f"{path}.containers[{i}]"
        if not isinstance(c, dict):
            causes.append(errors.invalid_value(cpath, c, "must be an object"))
            continue
        cname = c.get("name")
        if not cname:
            causes.append(errors.required(f"{cpath}.name"))
        elif not isinstance(cname, str) or not _LABEL.fullmatch(cname):
            causes.append(errors.invalid_value(f"{cpath}.name", cname,
                                               "a lowercase RFC 1123 label is required"))
        elif cname in seen:
            causes.append({"reason": "FieldValueDuplicate", "field": f"{cpath}.name",
                           "message": f'Duplicate value: "{cname}"'})
        else:
            seen.add(cname)
        if not c.get("image"):
            causes.append(errors.required(f"{cpath}.image"))
        for j, p in enumerate(c.get("ports") or []):
            port = p.get("containerPort") if isinstance(p, dict) else None
            if not isinstance(port, int) or not 0 < port < 65536:
                causes.append(errors.invalid_value(f"{cpath}.ports[{j}].containerPort", port,
                                                   "must be between 1 and 65535, inclusive"))
    return causes


def _selector_matches(selector: Obj, labels: Obj) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, vals = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _workload(obj: Obj) -> list[Obj]:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [errors.required("spec")]
    causes: list[Obj] = []
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        causes.append(errors.invalid_value("spec.replicas", replicas,
                                           "must be greater than or equal to 0"))
    selector = spec.get("selector")
    tpl = spec.get("template")
    if not isinstance(selector, dict) or not (selector.get("matchLabels")
                                              or selector.get("matchExpressions")):
        causes.append(errors.required("spec.selector"))
    if not isinstance(tpl, dict):
        causes.append(errors.required("spec.template"))
        return causes
    labels = (tpl.get("metadata") or {}).get("labels") or {}
    if isinstance(selector, dict) and (selector.get("matchLabels")
                                       or selector.get("matchExpressions")):
        if not _selector_matches(selector, labels):
            causes.append(errors.invalid_value("spec.template.metadata.labels", labels,
                                               "`selector` does not match template `labels`"))
    causes.extend(_containers(tpl.get("spec"), "spec.template.spec"))
    return causes


def _pod(obj: Obj) -> list[Obj]:
    return _containers(obj.get("spec"), "spec")


def _service(obj: Obj) -> list[Obj]:
    spec = obj.get("spec") or {}
    causes: list[Obj] = []
    ports = spec.get("ports") or []
    if not ports and spec.get("clusterIP") != "None" and spec.get("type") != "ExternalName":
        causes.append(errors.required("spec.ports"))
    for i, p in enumerate(ports):
        port = p.get("port") if isinstance(p, dict) else None
        if not isinstance(port, int) or not 0 < port < 65536:
            causes.append(errors.invalid_value(f"spec.ports[{i}].port", port,
                                               "must be between 1 and 65535, inclusive"))
        if len(ports) > 1 and isinstance(p, dict) and not p.get("name"):
            causes.append(errors.required(f"spec.ports[{i}].name"))
    return causes


def _crd(obj: Obj) -> list[Obj]:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    causes: list[Obj] = []
    for field in ("group",):
        if not spec.get(field):
            causes.append(errors.required(f"spec.{field}"))
    for field in ("plural", "kind"):
        if not names.get(field):
            causes.append(errors.required(f"spec.names.{field}"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(errors.invalid_value("spec.scope", spec.get("scope"),
                                           "must be one of Namespaced, Cluster"))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(errors.required("spec.versions"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(errors.invalid_value("spec.versions", "",
                                           "must have exactly one version marked as storage "
                                           "version"))
    want = f"{names.get('plural')}.{spec.get('group')}"
    name = (obj.get("metadata") or {}).get("name")
    if names.get("plural") and spec.get("group") and name != want:
        causes.append(errors.invalid_value("metadata.name", name,
                                           f"must be spec.names.plural+\".\"+spec.group "
                                           f"({want})"))
    return causes


_KIND_CHECKS = {
    ("apps", "Deployment"): _workload,
    ("apps", "ReplicaSet"): _workload,
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
}
