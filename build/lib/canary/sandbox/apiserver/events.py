"""events.k8s.io/v1 Events are a second view of core/v1 Events (one storage, as in Kubernetes).

Whichever API a controller writes with, ``kubectl get events`` (core/v1) shows the event.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

# core/v1 field -> events.k8s.io/v1 field; the rest keeps its name
_CORE_TO_V1 = {
    "involvedObject": "regarding",
    "message": "note",
    "reportingComponent": "reportingController",
    "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp",
    "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount",
}
_V1_TO_CORE = {v: k for k, v in _CORE_TO_V1.items()}
_SHARED = ("metadata", "reason", "type", "action", "related", "eventTime", "series",
           "reportingInstance")


def core_to_v1(obj: Obj) -> Obj:
    out: Obj = {"apiVersion": "events.k8s.io/v1", "kind": "Event"}
    for k, v in obj.items():
        if k in _SHARED:
            out[k] = v
        elif k in _CORE_TO_V1:
            out[_CORE_TO_V1[k]] = v
    if not out.get("eventTime"):
        # required in events.k8s.io/v1; old-style core events only carry timestamps
        t = (obj.get("firstTimestamp") or obj.get("lastTimestamp")
             or (obj.get("metadata") or {}).get("creationTimestamp"))
        if isinstance(t, str) and t.endswith("Z") and "." not in t:
            out["eventTime"] = t[:-1] + ".000000Z"
    return out


def v1_to_core(obj: Obj) -> Obj:
    out: Obj = {"apiVersion": "v1", "kind": "Event"}
    for k, v in obj.items():
        if k in _SHARED:
            out[k] = v
        elif k in _V1_TO_CORE:
            out[_V1_TO_CORE[k]] = v
    return out


def field_selector_to_core(text: str) -> str:
    """events.k8s.io field names in a selector, rewritten to the stored core/v1 names."""
    return (text.replace("regarding.", "involvedObject.")
            .replace("reportingController", "reportingComponent")
            .replace("deprecatedSource.", "source."))
