"""Structural ``openAPIV3Schema`` handling for custom resources, as kube-apiserver does it.

Order on every write (kubernetes/apiextensions-apiserver pkg/apiserver/customresource_handler.go):
prune the fields the schema does not declare, apply ``default`` values, then validate. Causes
are worded as the real server words them: kube-openapi's messages
(kubernetes/kube-openapi pkg/validation/errors/schema.go) wrapped into field errors by
``kubeOpenAPIResultToFieldErrors`` (apiextensions-apiserver pkg/apiserver/validation/
validation.go:165), e.g. ``spec.service.port: Invalid value: "string": spec.service.port in
body must be of type integer: "string"``.

Pure functions over plain JSON values; no I/O. Not evaluated: ``x-kubernetes-validations``
(CEL rules) and string ``format`` checks.
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from typing import Any

Obj = dict[str, Any]

_ROOT_KEEP = ("apiVersion", "kind", "metadata")


# -- pruning -----------------------------------------------------------------------------------

def prune(schema: Obj, obj: Obj) -> list[str]:
    """Drop undeclared fields from ``obj`` in place; returns their paths (``spec.foo``)."""
    dropped: list[str] = []
    for key in list(obj):
        if key in _ROOT_KEEP:
            continue
        _prune_field(schema, obj, key, key, dropped)
    return dropped


def _prune_field(schema: Obj, parent: Obj, key: str, path: str, dropped: list[str]) -> None:
    props = schema.get("properties") or {}
    if key in props:
        _prune_value(props[key], parent[key], path, dropped)
        return
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        _prune_value(extra, parent[key], path, dropped)
        return
    if schema.get("x-kubernetes-preserve-unknown-fields") or extra is True:
        return
    del parent[key]
    dropped.append(path)


def _prune_value(schema: Obj, value: Any, path: str, dropped: list[str]) -> None:
    if isinstance(value, dict):
        if not _declares_object(schema):
            return
        for key in list(value):
            if schema.get("x-kubernetes-embedded-resource") and key in _ROOT_KEEP:
                continue
            _prune_field(schema, value, key, f"{path}.{key}", dropped)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _prune_value(schema["items"], item, f"{path}[{i}]", dropped)


def _declares_object(schema: Obj) -> bool:
    """Pruning applies where the schema describes an object (wrong types fail validation)."""
    return schema.get("type") == "object" or "properties" in schema or \
        "additionalProperties" in schema


# -- defaulting --------------------------------------------------------------------------------

def default(schema: Obj, value: Any) -> None:
    """Fill in ``default`` values of absent (or null, non-nullable) properties, in place."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if "default" in sub and (key not in value
                                     or (value[key] is None and not sub.get("nullable"))):
                value[key] = copy.deepcopy(sub["default"])
        for key, item in value.items():
            if key in props:
                default(props[key], item)
            elif isinstance(schema.get("additionalProperties"), dict):
                default(schema["additionalProperties"], item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            default(schema["items"], item)


# -- validation --------------------------------------------------------------------------------

def validate(schema: Obj, obj: Obj) -> list[Obj]:
    """Causes (``{reason, field, message}``) for everything in ``obj`` the schema refuses."""
    out: list[Obj] = []
    body = {k: v for k, v in obj.items() if k != "metadata"}
    root = {**schema, "properties": {k: v for k, v in (schema.get("properties") or {}).items()
                                     if k != "metadata"}}
    _check(root, body, "", out)
    return out


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _type_ok(want: str, value: Any, got: str) -> bool:
    if want == got:
        return True
    if want == "number":
        return got == "integer"
    # a JSON number with no fraction counts as an integer (kube-openapi validate/type.go)
    return want == "integer" and got == "number" and float(value).is_integer()


def go_value(value: Any) -> str:
    """A bad value as Go's field errors print it (``%q`` strings, ``%v`` numbers, JSON)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _num(value: float) -> str:
    return go_value(value)


def _cause(reason: str, field: str, message: str) -> Obj:
    return {"reason": reason, "field": field, "message": message}


def _invalid(field: str, value: Any, detail: str) -> Obj:
    return _cause("FieldValueInvalid", field or "<nil>",
                  f"Invalid value: {go_value(value)}: {detail}")


def _where(path: str) -> str:
    return f"{path} in body" if path else "body"


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _check(schema: Obj, value: Any, path: str, out: list[Obj]) -> None:
    if schema.get("x-kubernetes-int-or-string"):
        types = ["integer", "string"]
    elif schema.get("type"):
        types = [schema["type"]]
    else:
        types = []
    got = _json_type(value)
    if value is None:
        if types and not schema.get("nullable"):
            want = ",".join(types)
            out.append(_cause("FieldValueTypeInvalid", path or "<nil>",
                              f'Invalid value: "null": {_where(path)} must be of type '
                              f'{want}: "null"'))
        return
    if types and not any(_type_ok(t, value, got) for t in types):
        want = ",".join(types)
        out.append(_cause("FieldValueTypeInvalid", path or "<nil>",
                          f'Invalid value: "{got}": {_where(path)} must be of type {want}: '
                          f'"{got}"'))
        return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v if isinstance(v, str) else json.dumps(v))
                            for v in schema["enum"])
        out.append(_cause("FieldValueNotSupported", path,
                          f"Unsupported value: {go_value(value)}: supported values: {allowed}"))
    if isinstance(value, str):
        _check_string(schema, value, path, out)
    elif got in ("integer", "number"):
        _check_number(schema, value, path, out)
    elif isinstance(value, list):
        _check_array(schema, value, path, out)
    elif isinstance(value, dict):
        _check_object(schema, value, path, out)
    _check_combinators(schema, value, path, out)


def _check_string(schema: Obj, value: str, path: str, out: list[Obj]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        n = int(schema["maxLength"])
        out.append(_cause("FieldValueTooLong", path,
                          f"Too long: may not be more than {n} byte{'s' if n != 1 else ''}"))
    if "minLength" in schema and len(value) < schema["minLength"]:
        out.append(_invalid(path, value, f"{_where(path)} should be at least "
                                         f"{int(schema['minLength'])} chars long"))
    pattern = schema.get("pattern")
    if pattern:
        rx = _regex(pattern)
        if rx is not None and not rx.search(value):
            out.append(_invalid(path, value, f"{_where(path)} should match '{pattern}'"))


def _check_number(schema: Obj, value: float, path: str, out: list[Obj]) -> None:
    if "maximum" in schema:
        top = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= top:
            out.append(_invalid(path, value, f"{_where(path)} should be less than {_num(top)}"))
        elif value > top:
            out.append(_invalid(path, value, f"{_where(path)} should be less than or equal to "
                                             f"{_num(top)}"))
    if "minimum" in schema:
        low = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= low:
            out.append(_invalid(path, value, f"{_where(path)} should be greater than "
                                             f"{_num(low)}"))
        elif value < low:
            out.append(_invalid(path, value, f"{_where(path)} should be greater than or equal "
                                             f"to {_num(low)}"))
    step = schema.get("multipleOf")
    if step and (value / step) != int(value / step):
        out.append(_invalid(path, value, f"{_where(path)} should be a multiple of {_num(step)}"))


def _check_array(schema: Obj, value: list[Any], path: str, out: list[Obj]) -> None:
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        n = int(schema["maxItems"])
        out.append(_cause("FieldValueTooMany", path,
                          f"Too many: {len(value)}: must have at most {n} "
                          f"item{'s' if n != 1 else ''}"))
    if "minItems" in schema and len(value) < schema["minItems"]:
        out.append(_invalid(path, len(value), f"{_where(path)} should have at least "
                                              f"{int(schema['minItems'])} items"))
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _check(items, item, f"{path}[{i}]", out)
    _check_list_type(schema, value, path, out)


def _check_list_type(schema: Obj, value: list[Any], path: str, out: list[Obj]) -> None:
    """``x-kubernetes-list-type`` set/map uniqueness (apiextensions schema/listtype)."""
    kind = schema.get("x-kubernetes-list-type")
    seen: list[Any] = []
    for i, item in enumerate(value):
        if kind == "set":
            key: Any = item
        elif kind == "map" and isinstance(item, dict):
            key = {k: item.get(k) for k in schema.get("x-kubernetes-list-map-keys") or ()
                   if k in item}
        else:
            return
        if key in seen:
            out.append(_cause("FieldValueDuplicate", f"{path}[{i}]",
                              f"Duplicate value: {go_value(key)}"))
        else:
            seen.append(key)


def _check_object(schema: Obj, value: Obj, path: str, out: list[Obj]) -> None:
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        n = int(schema["maxProperties"])
        out.append(_cause("FieldValueTooMany", path,
                          f"Too many: {len(value)}: must have at most {n} "
                          f"item{'s' if n != 1 else ''}"))
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        out.append(_invalid(path, len(value), f"{_where(path)} should have at least "
                                              f"{int(schema['minProperties'])} properties"))
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        child = f"{path}.{key}" if path else key
        if key in props:
            _check(props[key], item, child, out)
        elif isinstance(extra, dict):
            _check(extra, item, child, out)
    for key in schema.get("required") or ():
        if key not in value:
            out.append(_cause("FieldValueRequired", f"{path}.{key}" if path else key,
                              "Required value"))


def _check_combinators(schema: Obj, value: Any, path: str, out: list[Obj]) -> None:
    """allOf/anyOf/oneOf/not; their summary errors carry no field (``<nil>``) upstream."""
    quoted = json.dumps(path)
    if schema.get("anyOf"):
        results = [_run(s, value, path) for s in schema["anyOf"]]
        if not any(not r for r in results):
            out.append(_invalid("", "", f"{quoted} must validate at least one schema (anyOf)"))
            out.extend(min(results, key=len))
    if schema.get("oneOf"):
        results = [_run(s, value, path) for s in schema["oneOf"]]
        valid = sum(1 for r in results if not r)
        if valid != 1:
            more = "Found none valid" if valid == 0 else f"Found {valid} valid alternatives"
            out.append(_invalid("", "", f"{quoted} must validate one and only one schema "
                                        f"(oneOf). {more}"))
            if valid == 0:
                out.extend(min(results, key=len))
    if schema.get("allOf"):
        results = [_run(s, value, path) for s in schema["allOf"]]
        for r in results:
            out.extend(r)
        bad = sum(1 for r in results if r)
        if bad:
            none = ". None validated" if bad == len(results) else ""
            out.append(_invalid("", "", f"{quoted} must validate all the schemas (allOf)"
                                        f"{none}"))
    if isinstance(schema.get("not"), dict) and not _run(schema["not"], value, path):
        out.append(_invalid("", "", f"{quoted} must not validate the schema (not)"))


def _run(schema: Obj, value: Any, path: str) -> list[Obj]:
    found: list[Obj] = []
    _check(schema, value, path, found)
    return found


# -- the schema of one CRD version ---------------------------------------------------------

def version_schema(crd: Obj, version: str) -> Obj | None:
    """``openAPIV3Schema`` of ``version`` (or of the CRD's top-level ``validation``)."""
    spec = crd.get("spec") or {}
    for v in spec.get("versions") or []:
        if v.get("name") == version:
            s = (v.get("schema") or {}).get("openAPIV3Schema")
            if isinstance(s, dict):
                return s
    s = (spec.get("validation") or {}).get("openAPIV3Schema")
    return s if isinstance(s, dict) else None
