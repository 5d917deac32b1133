"""Small helpers over Kubernetes objects as dicts."""

from __future__ import annotations

import time
from typing import Any

from canary.clock import rfc3339  # noqa: F401 - re-exported for the controllers
from canary.kube.informer import Key, Obj, key_of  # noqa: F401 - the node's vocabulary


def uid_of(obj: Obj) -> str:
    return obj.get("metadata", {}).get("uid") or ""


def annotations_of(obj: Obj) -> dict[str, str]:
    return obj.get("metadata", {}).get("annotations") or {}


def controller_ref(obj: Obj) -> Obj | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def owner_ref_to(owner: Obj) -> Obj:
    """The ownerReference a controller puts on what it creates."""
    md = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": md["name"],
            "uid": md["uid"], "controller": True, "blockOwnerDeletion": True}


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == uid_of(owner)




def parse_rfc3339(text: str | None) -> float | None:
    if not text:
        return None
    try:
        import calendar
        base = text.rstrip("Z").split(".")[0]
        return float(calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def is_terminating(obj: Obj) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def pod_is_ready(pod: Obj) -> bool:
    for c in pod.get("status", {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def pod_ready_since(pod: Obj) -> float | None:
    for c in pod.get("status", {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return parse_rfc3339(c.get("lastTransitionTime"))
    return None


def pod_is_active(pod: Obj) -> bool:
    """Counted by the ReplicaSet controller: not terminating, not finished."""
    return (not is_terminating(pod)
            and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"))


def int_or_percent(value: Any, total: int, round_up: bool) -> int:
    """Resolve an IntOrString like ``25%`` against ``total`` with Kubernetes rounding.

    Raises ValueError naming the bad value.
    """
    if isinstance(value, bool):
        raise ValueError(f"invalid int-or-percent {value!r}")
    if isinstance(value, int):
        return value
    s = str(value).strip()
    if s.endswith("%"):
        try:
            pct = int(s[:-1])
        except ValueError:
            raise ValueError(f"invalid percentage {value!r}") from None
        num = pct * total
        return -(-num // 100) if round_up else num // 100
    try:
        return int(s)
    except ValueError:
        raise ValueError(f"invalid int-or-percent {value!r} (expected e.g. 1 or 25%)") from None
