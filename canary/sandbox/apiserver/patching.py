"""The PATCH content types: JSON patch, JSON merge patch, strategic merge patch, apply."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import yaml

from . import errors, smp

Obj = dict[str, Any]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC, APPLY)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def decode(raw: bytes, ctype: str) -> Any:
    try:
        if ctype == APPLY:
            return yaml.safe_load(raw.decode() or "{}")
        return json.loads(raw or b"null")
    except (ValueError, yaml.YAMLError) as e:
        raise errors.bad_request(f"error decoding patch: {e}") from None


def apply_patch(base: Obj, raw: bytes, ctype: str, kind: str, custom: bool) -> Obj:
    """The patched object; raises ApiException for unknown types and broken patches."""
    if ctype not in PATCH_TYPES:
        raise errors.unsupported_media_type(ctype)
    if ctype == STRATEGIC and custom:
        raise errors.ApiException(
            415, "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            "application/apply-patch+yaml")
    patch = decode(raw, ctype)
    if ctype == JSON_PATCH:
        if not isinstance(patch, list):
            raise errors.bad_request("json patch must be a list of operations")
        try:
            result = jsonpatch.apply_patch(base, patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError,
                TypeError, ValueError) as e:
            raise errors.ApiException(422, "Invalid", f"the server rejected our request due to "
                                      f"an error in our request: {e}") from None
    else:
        if not isinstance(patch, dict):
            raise errors.bad_request("patch body must be a JSON object")
        if ctype == STRATEGIC:
            try:
                result = smp.strategic_merge(base, patch, kind)
            except smp.PatchError as e:
                raise errors.bad_request(str(e)) from None
        else:
            result = merge_patch(base, patch)
    if not isinstance(result, dict):
        raise errors.bad_request("the patch produced something that is not an object")
    return result
