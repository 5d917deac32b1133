"""The corrected seed Rollout (fixtures/manifests/argo-rollout-corrected.yaml) moved into a
namespace of a test's own, every cross reference with it."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from support import MANIFESTS


def corrected_rollout_docs(ns: str) -> list[dict[str, Any]]:
    docs = []
    for doc in yaml.safe_load_all((MANIFESTS / "argo-rollout-corrected.yaml").read_text()):
        doc = copy.deepcopy(doc)
        doc["metadata"]["namespace"] = ns
        if doc["kind"] == "HTTPRoute":
            doc["spec"]["parentRefs"][0]["namespace"] = ns
            for ref in doc["spec"]["rules"][0]["backendRefs"]:
                ref["namespace"] = ns
        if doc["kind"] == "Rollout":
            doc["spec"]["strategy"]["canary"]["trafficRouting"]["plugins"][
                "argoproj-labs/gatewayAPI"]["namespace"] = ns
        docs.append(doc)
    return docs
