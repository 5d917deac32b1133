"""Server-side apply: field managers, conflicts and ``force``, as ``kubectl apply --server-side``
needs them (kubernetes-sigs/structured-merge-diff, k8s.io/apiserver pkg/endpoints/handlers/
fieldmanager).

Each applier (``fieldManager``) owns the fields of its last applied configuration, recorded in
``metadata.managedFields`` (``operation: Apply``, ``fieldsType: FieldsV1``). Applying a value
for a field another applier owns, with a different value, is a 409 Conflict naming both, unless
``force=true`` takes the field over; a field the applier stops applying (and nobody else owns)
is removed.

Simpler than Kubernetes: only appliers own fields (plain updates keep the managers' records but
are not recorded as ``Update`` managers), and lists are atomic values (no per-key ownership).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from . import errors

Obj = dict[str, Any]
Path = tuple[str, ...]

_SKIP_META = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
              "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}


def leaf_paths(obj: Obj, status: bool = False) -> set[Path]:
    """Every leaf field an applied configuration sets (maps recurse; lists are leaves)."""
    out: set[Path] = set()

    def walk(value: Any, path: Path) -> None:
        if isinstance(value, dict):  # an empty map sets nothing: others' keys stay
            for k, v in value.items():
                walk(v, (*path, k))
        else:
            out.add(path)

    for key, value in obj.items():
        if key in ("apiVersion", "kind") or (key == "status" and not status):
            continue
        if key == "metadata" and isinstance(value, dict):
            for mk, mv in value.items():
                if mk not in _SKIP_META:
                    walk(mv, ("metadata", mk))
            continue
        walk(value, (key,))
    return out


def to_fields_v1(paths: set[Path]) -> Obj:
    root: Obj = {}
    for path in sorted(paths):
        node = root
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return root


def from_fields_v1(fields: Obj) -> set[Path]:
    out: set[Path] = set()

    def walk(node: Obj, path: Path) -> None:
        children = {k: v for k, v in node.items() if k.startswith("f:")}
        if not children:
            if path:
                out.add(path)
            return
        for k, v in children.items():
            walk(v if isinstance(v, dict) else {}, (*path, k[2:]))

    walk(fields or {}, ())
    return out


_MISSING = object()


def _get(obj: Any, path: Path) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def _set(obj: Obj, path: Path, value: Any) -> None:
    for part in path[:-1]:
        nxt = obj.get(part)
        if not isinstance(nxt, dict):
            nxt = obj[part] = {}
        obj = nxt
    obj[path[-1]] = copy.deepcopy(value)


def _delete(obj: Obj, path: Path) -> None:
    parents = []
    node: Any = obj
    for part in path[:-1]:
        if not isinstance(node, dict) or part not in node:
            return
        parents.append((node, part))
        node = node[part]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    for parent, part in reversed(parents):  # drop maps the removal left empty
        if parent[part] == {}:
            del parent[part]
        else:
            break


def _owners(managed: list[Obj]) -> dict[str, set[Path]]:
    return {m.get("manager", ""): from_fields_v1(m.get("fieldsV1") or {})
            for m in managed if m.get("operation") == "Apply"}


def entry(manager: str, api_version: str, paths: set[Path], subresource: str = "") -> Obj:
    e: Obj = {"manager": manager, "operation": "Apply", "apiVersion": api_version,
              "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(paths)}
    if subresource:
        e["subresource"] = subresource
    return e


def apply(cur: Obj, applied: Obj, manager: str, force: bool, api_version: str,
          status: bool = False) -> Obj:
    """The object after ``manager`` applies ``applied`` to ``cur`` (with managedFields)."""
    if not manager:
        raise errors.bad_request("PATCH (server-side apply) requires a fieldManager: "
                                 "fieldManager is required for apply requests")
    managed = copy.deepcopy((cur.get("metadata") or {}).get("managedFields") or [])
    owners = _owners(managed)
    mine_before = owners.pop(manager, set())
    wanted = leaf_paths(applied, status)
    conflicts: list[tuple[str, Path]] = []
    for other, fields in owners.items():
        for path in sorted(fields & wanted):
            if _get(cur, path) != _get(applied, path):
                conflicts.append((other, path))
    if conflicts and not force:
        raise _conflict(cur, conflicts)
    for other, path in conflicts:  # force: the applier takes the fields over
        owners[other].discard(path)
    new = copy.deepcopy(cur)
    for path in wanted:
        _set(new, path, _get(applied, path))
    others = set().union(*owners.values()) if owners else set()
    for path in mine_before - wanted - others:
        _delete(new, path)
    kept = [m for m in managed if m.get("manager") != manager or m.get("operation") != "Apply"]
    for m in kept:
        if m.get("operation") == "Apply" and m.get("manager") in owners:
            m["fieldsV1"] = to_fields_v1(owners[m["manager"]])
    kept = [m for m in kept if m.get("operation") != "Apply" or m.get("fieldsV1")]
    new.setdefault("metadata", {})["managedFields"] = [
        *kept, entry(manager, api_version, wanted, "status" if status else "")]
    return new


def _conflict(cur: Obj, conflicts: list[tuple[str, Path]]) -> errors.ApiException:
    causes = [{"reason": "FieldManagerConflict", "message": f'conflict with "{m}"',
               "field": "." + ".".join(p)} for m, p in conflicts]
    n = len(conflicts)
    if n == 1:
        what = f'{causes[0]["message"]}: {causes[0]["field"]}'
    else:
        by: dict[str, list[str]] = {}
        for m, p in conflicts:
            by.setdefault(m, []).append("." + ".".join(p))
        what = "\n".join(f'conflicts with "{m}":\n' + "\n".join(f"- {f}" for f in fs)
                         for m, fs in by.items())
    md = cur.get("metadata") or {}
    return errors.ApiException(409, "Conflict",
                               f"Apply failed with {n} conflict{'s' if n > 1 else ''}: {what}",
                               {"name": md.get("name", ""), "causes": causes})
