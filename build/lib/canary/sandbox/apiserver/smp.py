"""Strategic merge patch, as the Kubernetes API server applies it.

Follows ``k8s.io/apimachinery/pkg/util/strategicpatch`` (``StrategicMergeMapPatch`` with
``MergeParallelList`` and ``IgnoreUnmatchedNulls``), which is what the server does with the
patches kubectl sends (``apply``'s three-way patch, ``set image``, ``scale``, ``rollout
restart``, ``annotate``/``label``):

* maps merge recursively and ``null`` deletes a key;
* a list whose field has patch strategy ``merge`` merges element-wise by its merge key (or, for
  primitive lists such as ``metadata.finalizers``, as a set union); every other list is
  replaced;
* directives: ``$patch: replace|delete|merge`` on maps and list elements, ``$retainKeys``,
  ``$deleteFromPrimitiveList/<field>``, ``$setElementOrder/<field>``.

The merge keys come from the Go struct tags of the built-in types; they live in one table below,
keyed by field path (list elements add no path segment) and mounted per kind.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["PatchError", "strategic_merge", "patch_meta"]

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER_PREFIX = "$setElementOrder/"
DELETE_PRIMITIVE_PREFIX = "$deleteFromPrimitiveList/"


class PatchError(ValueError):
    """The patch cannot be applied; the message names the field and the cause."""


Path = tuple[str, ...]
# (strategy, merge key). strategy: "merge" for lists merged by key / as a set, "retainKeys" for
# union-typed structs (informational: the server honours "$retainKeys" wherever it appears).
Meta = tuple[str, str]

_POD_SPEC: dict[Path, Meta] = {
    ("volumes",): ("merge,retainKeys", "name"),
    ("initContainers",): ("merge", "name"),
    ("containers",): ("merge", "name"),
    ("ephemeralContainers",): ("merge", "name"),
    ("imagePullSecrets",): ("merge", "name"),
    ("hostAliases",): ("merge", "ip"),
    ("schedulingGates",): ("merge", "name"),
    ("resourceClaims",): ("merge,retainKeys", "name"),
    ("topologySpreadConstraints",): ("merge", "topologyKey"),
}
# Fields of Container, shared by containers, initContainers and ephemeralContainers.
_CONTAINER: dict[Path, Meta] = {
    ("ports",): ("merge", "containerPort"),
    ("env",): ("merge", "name"),
    ("volumeMounts",): ("merge", "mountPath"),
    ("volumeDevices",): ("merge", "devicePath"),
}
_POD_STATUS: dict[Path, Meta] = {
    ("conditions",): ("merge", "type"),
    ("podIPs",): ("merge", "ip"),
    ("hostIPs",): ("merge", "ip"),
    ("resourceClaimStatuses",): ("merge,retainKeys", "name"),
}
_OBJECT_META: dict[Path, Meta] = {
    ("finalizers",): ("merge", ""),
    ("ownerReferences",): ("merge", "uid"),
}
_CONDITIONS: dict[Path, Meta] = {("conditions",): ("merge", "type")}


def _mount(prefix: Path, table: dict[Path, Meta]) -> dict[Path, Meta]:
    return {prefix + path: meta for path, meta in table.items()}


def _pod_spec_at(prefix: Path) -> dict[Path, Meta]:
    rules = _mount(prefix, _POD_SPEC)
    for field in ("containers", "initContainers", "ephemeralContainers"):
        rules.update(_mount(prefix + (field,), _CONTAINER))
    return rules


def _pod_template_at(prefix: Path) -> dict[Path, Meta]:
    rules = _pod_spec_at(prefix + ("spec",))
    rules.update(_mount(prefix + ("metadata",), _OBJECT_META))
    return rules


_WORKLOAD = {
    **_pod_template_at(("spec", "template")),
    **_mount(("status",), _CONDITIONS),
}

KIND_RULES: dict[str, dict[Path, Meta]] = {
    "Pod": {**_pod_spec_at(("spec",)), **_mount(("status",), _POD_STATUS)},
    "PodTemplate": _pod_template_at(("template",)),
    "ReplicationController": _WORKLOAD,
    "Deployment": {**_WORKLOAD, ("spec", "strategy"): ("retainKeys", "")},
    "ReplicaSet": _WORKLOAD,
    "StatefulSet": _WORKLOAD,
    "DaemonSet": {**_WORKLOAD, ("spec", "updateStrategy"): ("retainKeys", "")},
    "Job": _WORKLOAD,
    "CronJob": {
        **_pod_template_at(("spec", "jobTemplate", "spec", "template")),
        **_mount(("spec", "jobTemplate", "metadata"), _OBJECT_META),
    },
    "Service": {
        ("spec", "ports"): ("merge", "port"),
        **_mount(("status",), _CONDITIONS),
        ("status", "loadBalancer", "ingress", "ports"): ("", ""),
    },
    "Node": {
        ("spec", "podCIDRs"): ("merge", ""),
        ("status", "conditions"): ("merge", "type"),
        ("status", "addresses"): ("merge", "type"),
    },
    "Namespace": _mount(("status",), _CONDITIONS),
    "PersistentVolumeClaim": _mount(("status",), _CONDITIONS),
    # Endpoints.subsets and everything under it has no strategy: replaced.
}


def patch_meta(kind: str, path: Path) -> Meta:
    """Patch strategy and merge key of the field at ``path`` (list elements add no segment)."""
    if path and path[0] == "metadata":
        meta = _OBJECT_META.get(path[1:])
        if meta:
            return meta
    return KIND_RULES.get(kind, {}).get(path, ("", ""))


def strategic_merge(original: dict, patch: dict, kind: str) -> dict:
    """Apply a strategic merge patch to ``original``; returns a new dict, inputs untouched.

    Unknown kinds (custom resources) merge like a JSON merge patch: only ``metadata`` has merge
    keys, every other list is replaced; directives are honoured and never stored.
    Raises :class:`PatchError` naming the field for a malformed patch.
    """
    if not isinstance(original, dict):
        raise PatchError("original object must be a JSON object")
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    return _Merger(kind).merge_map(copy.deepcopy(original), copy.deepcopy(patch), ())


def _dotted(path: Path) -> str:
    return ".".join(path) or "<root>"


def _is_directive_key(key: str) -> bool:
    return (
        key in (DIRECTIVE, RETAIN_KEYS)
        or key.startswith(SET_ORDER_PREFIX)
        or key.startswith(DELETE_PRIMITIVE_PREFIX)
    )


class _Merger:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    # -- maps ---------------------------------------------------------------------------

    def merge_map(self, original: dict, patch: dict, path: Path) -> dict:
        if DIRECTIVE in patch:
            directive = patch.pop(DIRECTIVE)
            if directive == "replace":
                return self.clean(patch, path)
            if directive == "delete":
                return {}
            if directive != "merge":
                raise PatchError(f"unknown patch type: {directive!r} in map at {_dotted(path)}")
        if RETAIN_KEYS in patch:
            self.apply_retain_keys(original, patch, path)
        for key in [k for k in patch if k.startswith(SET_ORDER_PREFIX)]:
            self.apply_element_order(original, patch, key, path)
        # Deletion lists run before the plain merge below, so re-adding a value keeps it.
        for key in [k for k in patch if k.startswith(DELETE_PRIMITIVE_PREFIX)]:
            field = key[len(DELETE_PRIMITIVE_PREFIX) :]
            values = patch.pop(key)
            if not isinstance(values, list):
                raise PatchError(f"{key} at {_dotted(path)} must be a list")
            current = original.get(field)
            if isinstance(current, list):
                original[field] = [v for v in current if v not in values]
        for key, value in patch.items():
            if _is_directive_key(key):
                continue
            sub = path + (key,)
            if value is None:
                original.pop(key, None)
                continue
            if key not in original or original[key] is None:
                original[key] = self.new_value(value, sub)
                continue
            current = original[key]
            if isinstance(current, dict) and isinstance(value, dict):
                original[key] = self.merge_map(current, value, sub)
            elif isinstance(current, list) and isinstance(value, list):
                original[key] = self.merge_list(current, value, sub)
            else:
                original[key] = self.new_value(value, sub)
        return original

    def apply_retain_keys(self, original: dict, patch: dict, path: Path) -> None:
        keep = patch.pop(RETAIN_KEYS)
        if not isinstance(keep, list):
            raise PatchError(f"$retainKeys at {_dotted(path)} must be a list of field names")
        for key, value in patch.items():
            if value is None or _is_directive_key(key):
                continue
            if key not in keep:
                raise PatchError(
                    f"$retainKeys at {_dotted(path)} does not list {key!r}, which the patch sets"
                )
        for key in list(original):
            if key not in keep:
                del original[key]

    def apply_element_order(self, original: dict, patch: dict, key: str, path: Path) -> None:
        """Merge the list named by ``$setElementOrder/<field>`` and order it as listed."""
        field = key[len(SET_ORDER_PREFIX) :]
        order = patch.pop(key)
        sub = path + (field,)
        if not isinstance(order, list):
            raise PatchError(f"{key} at {_dotted(path)} must be a list")
        strategy, merge_key = patch_meta(self.kind, sub)
        if "merge" not in strategy.split(","):
            return  # kubectl never orders replaced lists; the list itself (if sent) wins
        current = original.get(field)
        current = current if isinstance(current, list) else []
        has_patch = field in patch
        changes = patch.pop(field, None)
        if has_patch and changes is None:
            original.pop(field, None)
            return
        if not isinstance(changes, list):
            if has_patch:
                raise PatchError(f"{_dotted(sub)} must be a list")
            changes = []
        if not current and not changes:
            return
        merged = self.merge_elements(list(current), changes, sub, merge_key)
        ident = self.identity(merge_key, sub)
        wanted = {ident(item) for item in order}
        in_order = [m for m in merged if ident(m) in wanted]
        server_only = [m for m in merged if ident(m) not in wanted]
        original[field] = _normalize_order(in_order, server_only, order, current, ident)

    # -- lists --------------------------------------------------------------------------

    def merge_list(self, original: list, patch: list, path: Path) -> list:
        strategy, merge_key = patch_meta(self.kind, path)
        if "merge" not in strategy.split(","):
            return self.new_value(patch, path)
        if not original and not patch:
            return original
        merged = self.merge_elements(original, patch, path, merge_key)
        ident = self.identity(merge_key, path)
        in_patch = {ident(p) for p in patch if not _is_special(p)}
        patch_items = [m for m in merged if ident(m) in in_patch]
        server_only = [m for m in merged if ident(m) not in in_patch]
        return _normalize_order(patch_items, server_only, patch, original, ident)

    def merge_elements(self, original: list, patch: list, path: Path, merge_key: str) -> list:
        """Merge ``patch`` into ``original`` element-wise (no ordering yet)."""
        maps = [isinstance(v, dict) for v in original + patch]
        if any(maps) and not all(maps):
            raise PatchError(f"{_dotted(path)}: list mixes objects and plain values")
        if not any(maps):
            out = list(original)
            for value in patch:
                if value not in out:
                    out.append(value)
            return out
        if not merge_key:
            raise PatchError(f"{_dotted(path)}: cannot merge a list of objects without merge key")
        result = list(original)
        plain = []
        for item in patch:
            directive = item.get(DIRECTIVE)
            if directive in (None, "merge"):
                plain.append(item)  # merge_map drops an explicit "$patch: merge"
            elif directive == "delete":
                if merge_key not in item:
                    raise PatchError(
                        f"{_dotted(path)}: element {item} does not contain declared merge key: "
                        f"{merge_key}"
                    )
                result = [r for r in result if r.get(merge_key) != item[merge_key]]
            elif directive == "replace":
                return [self.clean(p, path) for p in patch if DIRECTIVE not in p]
            else:
                raise PatchError(f"unknown patch type: {directive!r} in list {_dotted(path)}")
        for item in plain:
            if merge_key not in item:
                raise PatchError(
                    f"{_dotted(path)}: element {item} does not contain declared merge key: "
                    f"{merge_key}"
                )
            for i, existing in enumerate(result):
                if existing.get(merge_key) == item[merge_key]:
                    result[i] = self.merge_map(existing, item, path)
                    break
            else:
                result.append(self.new_value(item, path))
        return result

    def identity(self, merge_key: str, path: Path):
        """How list elements are recognized: by merge key for objects, by value otherwise."""

        def ident(item: Any) -> Any:
            if isinstance(item, dict):
                return ("key", _hashable(item.get(merge_key)))
            return ("value", _hashable(item))

        return ident

    # -- values the original did not have ----------------------------------------------

    def new_value(self, value: Any, path: Path) -> Any:
        """A patch value with no counterpart: merge it into an empty value of its type."""
        if isinstance(value, dict):
            return self.merge_map({}, value, path)
        if isinstance(value, list):
            strategy, merge_key = patch_meta(self.kind, path)
            if "merge" in strategy.split(",") and value:
                return self.merge_list([], value, path)
            return [self.clean(v, path) for v in value if not _is_special(v)]
        return value

    def clean(self, value: Any, path: Path) -> Any:
        """Drop directives and nulls from a value stored verbatim."""
        if isinstance(value, dict):
            return {
                k: self.clean(v, path + (k,))
                for k, v in value.items()
                if v is not None and not _is_directive_key(k)
            }
        if isinstance(value, list):
            return [self.clean(v, path) for v in value if not _is_special(v)]
        return value


def _is_special(item: Any) -> bool:
    """A list element that is a directive rather than a value ($patch: delete / replace)."""
    return isinstance(item, dict) and item.get(DIRECTIVE, "merge") != "merge"


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _normalize_order(
    patch_items: list, server_only: list, patch_order: list, server_order: list, ident
) -> list:
    """Order as the API server does: patch items by the patch (or $setElementOrder) order,
    server-only items by the live order, then interleave keeping both relative orders."""
    patch_pos = {}
    for i, item in enumerate(patch_order):
        patch_pos.setdefault(ident(item), i)
    server_pos = {}
    for i, item in enumerate(server_order):
        server_pos.setdefault(ident(item), i)
    patch_items = sorted(patch_items, key=lambda m: patch_pos.get(ident(m), len(patch_pos)))
    server_only = sorted(server_only, key=lambda m: server_pos.get(ident(m), len(server_pos)))
    out: list = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if j >= len(patch_items):
            out.append(server_only[i])
            i += 1
        elif i >= len(server_only):
            out.append(patch_items[j])
            j += 1
        else:
            left = server_pos.get(ident(server_only[i]))
            right = server_pos.get(ident(patch_items[j]))
            # A server-only item goes first only when both are live and it was in front.
            if left is not None and right is not None and left < right:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patch_items[j])
                j += 1
    return out
