"""``limit``/``continue`` list chunking, in the shape kube-apiserver answers it.

The continue token is base64 of ``{"v":"meta.k8s.io/v1","rv":N,"start":"<ns>/<name>\\u0000"}``
(k8s.io/apiserver pkg/storage/continue.go). Every chunk reports the first chunk's
``resourceVersion``; ``remainingItemCount`` counts what follows. A token whose version has left
the watch window is 410 Expired with the real server's message.

Simpler than Kubernetes: later chunks come from the current state (after the token's key), not
from an etcd snapshot at the token's version, so an object changed between chunks shows its
newest state.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from . import errors

Obj = dict[str, Any]

_EXPIRED = ("The provided continue parameter is too old to display a consistent list result. "
            "You can start a new list without the continue parameter, or use the continue "
            "token in this response to retrieve the remainder of the results. Continuing with "
            "the provided token results in an inconsistent list - objects that were created, "
            "modified, or deleted between the time the first chunk was returned and now may "
            "show up in the list.")


def _key(obj: Obj) -> str:
    md = obj.get("metadata") or {}
    return f"{md.get('namespace', '')}/{md.get('name', '')}"


def encode(rv: int, after: Obj) -> str:
    doc = {"v": "meta.k8s.io/v1", "rv": rv, "start": _key(after) + "\x00"}
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def decode(token: str) -> tuple[int, str]:
    """(resourceVersion, start key) of a token; 400 when it is not one of ours."""
    try:
        doc = json.loads(base64.b64decode(token, validate=True))
        rv, start = int(doc["rv"]), str(doc["start"])
        if doc.get("v") != "meta.k8s.io/v1":
            raise ValueError("unknown version")
    except (binascii.Error, ValueError, KeyError, TypeError) as e:
        raise errors.bad_request(f"continue key is not valid: {e}") from None
    return rv, start


def parse_limit(text: str | None) -> int:
    if not text:
        return 0
    try:
        n = int(text)
    except ValueError:
        raise errors.bad_request(f"invalid limit: {text!r}") from None
    return max(n, 0)


def page(items: list[Obj], rv: int, limit: int, token: str | None,
         oldest: int) -> tuple[list[Obj], int, str, int | None]:
    """(chunk, list resourceVersion, next token or "", remainingItemCount or None).

    Chunks follow the ``namespace/name`` key order; ``oldest`` is the oldest version still
    in the watch window.
    """
    if limit > 0 or token:
        items = sorted(items, key=_key)
    if token:
        rv, start = decode(token)
        if rv < oldest:
            raise errors.ApiException(410, "Expired", _EXPIRED)
        # start is the last key plus NUL: everything after it in key order (etcd's order)
        items = [o for o in items if _key(o) >= start]
    if limit <= 0 or len(items) <= limit:
        return items, rv, "", None
    chunk = items[:limit]
    return chunk, rv, encode(rv, chunk[-1]), len(items) - limit
