"""Writing an object's status: the one way both engine loops (Flagger and Argo) do it.

Only when something changed, through the status subresource, as a JSON merge patch of exactly
the differences (a field that is gone is set to null, nested mappings are diffed, lists are
replaced). ``guard`` makes the object's resourceVersion a precondition: a decision taken on a
stale read fails with 409 Conflict instead of overwriting a newer status (the API server
checks a resourceVersion in a patch as it does in an update).
"""

from __future__ import annotations

from typing import Any

from canary.kube.client import KubeClient, NotFound, Obj


def merge_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that turns ``old`` into ``new``."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            sub = merge_diff(before, value)
            if sub:
                patch[key] = sub
        elif key not in old or before != value:
            patch[key] = value
    for key in old:
        if key not in new:
            patch[key] = None
    return patch


def write_status(client: KubeClient, obj: Obj, status: dict[str, Any], *, api_version: str,
                 kind: str, guard: bool = False) -> bool:
    """Write ``status`` on ``obj`` if it differs from the status ``obj`` was read with;
    returns whether anything was written."""
    diff = merge_diff(obj.get("status") or {}, status)
    if not diff:
        return False
    md = obj.get("metadata") or {}
    patch: dict[str, Any] = {"status": diff}
    if guard and md.get("resourceVersion"):
        patch["metadata"] = {"resourceVersion": md["resourceVersion"]}
    try:
        client.patch_status(api_version, kind, md["name"], patch, namespace=md.get("namespace"))
    except NotFound:
        # A CRD without the status subresource keeps the status on the object itself.
        client.patch(api_version, kind, md["name"], patch, namespace=md.get("namespace"))
    return True
