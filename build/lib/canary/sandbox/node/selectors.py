"""Label selectors as Deployments, ReplicaSets and Services spell them.

A small matcher of our own so the node agent does not depend on the API server's internals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Matcher = Callable[[Mapping[str, str]], bool]


def selector_matcher(selector: Mapping[str, Any] | None) -> Matcher:
    """A ``LabelSelector`` (matchLabels + matchExpressions) as a predicate on labels.

    An empty or missing selector matches nothing, as the workload controllers treat it.
    Unknown operators raise ValueError naming the operator.
    """
    if not selector:
        return lambda labels: False
    match_labels = dict(selector.get("matchLabels") or {})
    exprs = list(selector.get("matchExpressions") or [])
    if not match_labels and not exprs:
        return lambda labels: False
    for e in exprs:
        if e.get("operator") not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"selector.matchExpressions: unknown operator {e.get('operator')!r}")

    def matches(labels: Mapping[str, str]) -> bool:
        labels = labels or {}
        for k, v in match_labels.items():
            if labels.get(k) != v:
                return False
        for e in exprs:
            key, op, values = e.get("key"), e["operator"], e.get("values") or []
            if op == "In" and labels.get(key) not in values:
                return False
            if op == "NotIn" and key in labels and labels[key] in values:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
        return True

    return matches


def map_matcher(selector: Mapping[str, str] | None) -> Matcher:
    """A Service's plain ``spec.selector`` map; empty matches nothing (no managed endpoints)."""
    sel = dict(selector or {})
    if not sel:
        return lambda labels: False
    return lambda labels: all((labels or {}).get(k) == v for k, v in sel.items())
