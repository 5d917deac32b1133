"""Label selectors as the workload controllers read them.

Matching is the API server's (``canary.sandbox.apiserver.selectors``); what differs here is the
controllers' rule that an empty or missing selector selects nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from canary.sandbox.apiserver.selectors import label_selector_from_map, label_selector_from_spec

Matcher = Callable[[Mapping[str, str]], bool]


def _nothing(labels: Mapping[str, str]) -> bool:
    return False


def selector_matcher(selector: Mapping[str, Any] | None) -> Matcher:
    """A ``LabelSelector`` (matchLabels + matchExpressions) as a predicate on labels.

    Unknown operators raise ValueError (SelectorError) naming the operator.
    """
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return _nothing
    return label_selector_from_spec(dict(selector)).matches


def map_matcher(selector: Mapping[str, str] | None) -> Matcher:
    """A Service's plain ``spec.selector`` map; empty matches nothing (no managed endpoints)."""
    if not selector:
        return _nothing
    return label_selector_from_map(dict(selector)).matches
