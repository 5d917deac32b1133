"""Pod-template hash used for change detection (lastAppliedSpec / lastPromotedSpec).

Flagger hashes the template with FNV-32a and encodes the decimal with Kubernetes'
rand.SafeEncodeString alphabet, giving short strings such as ``9bc949574``.
"""

from __future__ import annotations

import json
from typing import Any

_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193


def fnv32a(data: bytes) -> int:
    h = _FNV_OFFSET
    for b in data:
        h ^= b
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(s: str) -> str:
    return "".join(_ALPHANUMS[ord(c) % len(_ALPHANUMS)] for c in s)


def compute_hash(obj: Any) -> str:
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return safe_encode(str(fnv32a(data)))


def template_hash(deployment: dict[str, Any]) -> str:
    return compute_hash((deployment.get("spec") or {}).get("template") or {})
