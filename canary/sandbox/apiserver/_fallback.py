"""Stand-ins for smp / selectors / tables until their real modules land (then deleted)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


class SelectorError(ValueError):
    pass


class PatchError(ValueError):
    pass


@dataclass
class _Req:
    key: str
    op: str
    values: tuple[str, ...]

    def matches(self, labels: dict) -> bool:
        v = labels.get(self.key)
        if self.op in ("=", "=="):
            return v == self.values[0]
        if self.op == "!=":
            return v != self.values[0]
        if self.op == "in":
            return v in self.values
        if self.op == "notin":
            return v not in self.values
        if self.op == "exists":
            return self.key in labels
        return self.key not in labels


class LabelSelector:
    def __init__(self, reqs: list[_Req]) -> None:
        self.reqs = reqs

    def matches(self, labels: dict) -> bool:
        return all(r.matches(labels or {}) for r in self.reqs)


def _split(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text: str) -> LabelSelector:
    reqs = []
    for part in _split(text or ""):
        m = re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", part)
        if m:
            vals = tuple(v.strip() for v in m.group(3).split(","))
            reqs.append(_Req(m.group(1), m.group(2), vals))
            continue
        m = re.fullmatch(r"([\w./-]+)\s*(==|!=|=)\s*([\w./-]*)", part)
        if m:
            reqs.append(_Req(m.group(1), m.group(2), (m.group(3),)))
            continue
        m = re.fullmatch(r"(!?)([\w./-]+)", part)
        if m:
            reqs.append(_Req(m.group(2), "notexists" if m.group(1) else "exists", ()))
            continue
        raise SelectorError(f"unable to parse requirement: {part!r}")
    return LabelSelector(reqs)


def _field(obj: Obj, path: str) -> str:
    cur: Any = obj
    for p in path.split("."):
        cur = cur.get(p) if isinstance(cur, dict) else None
    return "" if cur is None else str(cur)


class FieldSelector:
    def __init__(self, reqs: list[tuple[str, str, str]]) -> None:
        self.reqs = reqs

    def matches(self, obj: Obj) -> bool:
        for f, op, v in self.reqs:
            got = _field(obj, f)
            if (got == v) != (op != "!="):
                return False
        return True


def parse_field_selector(text: str, kind: str) -> FieldSelector:
    reqs = []
    for part in _split(text or ""):
        m = re.fullmatch(r"([\w.]+)\s*(==|!=|=)\s*(.*)", part)
        if not m:
            raise SelectorError(f"invalid selector: {part!r}")
        reqs.append((m.group(1), m.group(2), m.group(3)))
    return FieldSelector(reqs)


_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
         "volumeMounts": "mountPath", "ports": "containerPort", "conditions": "type"}


def strategic_merge(original: Obj, patch: Obj, kind: str) -> Obj:
    return _merge(original, patch)


def _merge(orig: Any, patch: Any, key: str = "") -> Any:
    if isinstance(patch, dict) and isinstance(orig, dict):
        out = dict(orig)
        for k, v in patch.items():
            if k.startswith("$"):
                continue
            if v is None:
                out.pop(k, None)
            else:
                out[k] = _merge(orig.get(k), v, k)
        return out
    if isinstance(patch, list) and isinstance(orig, list) and key in _KEYS:
        mk = _KEYS[key]
        out = [dict(o) for o in orig]
        for item in patch:
            idx = next((i for i, o in enumerate(out) if o.get(mk) == item.get(mk)), None)
            if idx is None:
                out.append(item)
            else:
                out[idx] = _merge(out[idx], item)
        return out
    if isinstance(patch, dict):
        return _merge({}, patch)
    return patch


def to_table(objects: list[Obj], kind: str, api_version: str,
             printer_columns: list[Obj] | None, include_object: str = "Metadata",
             list_resource_version: str = "") -> Obj:
    cols = [{"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0}]
    for c in printer_columns or []:
        cols.append({"name": c["name"], "type": c.get("type", "string"), "format": "",
                     "description": "", "priority": c.get("priority", 0)})
    rows = []
    for o in objects:
        cells: list[Any] = [o["metadata"]["name"]]
        for c in printer_columns or []:
            cells.append(_field(o, c["jsonPath"].lstrip(".")) or None)
        rows.append({"cells": cells, "object": {
            "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": o["metadata"]}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": list_resource_version},
            "columnDefinitions": cols, "rows": rows}
