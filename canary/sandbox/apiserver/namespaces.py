"""What every namespace holds, and how a terminating namespace reports what is left.

- ServiceAccount ``default`` (kube-controller-manager's serviceaccounts controller) and
  ConfigMap ``kube-root-ca.crt`` with the API server's CA (the root-ca-cert-publisher,
  kubernetes pkg/controller/certificates/rootcacertpublisher/publisher.go): created with the
  namespace, recreated when deleted, never in a namespace that is terminating.
- A terminating namespace carries the namespace controller's conditions
  (kubernetes pkg/controller/namespace/deletion/namespaced_resources_deleter.go): what
  content and which finalizers remain, as ``kubectl describe ns`` shows them.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]

ROOT_CA_NAME = "kube-root-ca.crt"
_ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters.")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_service_account(ns: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": ns, "uid": str(uuid.uuid4()),
                         "creationTimestamp": _now()}}


def root_ca_config_map(ns: str, ca_pem: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": ROOT_CA_NAME, "namespace": ns, "uid": str(uuid.uuid4()),
                         "creationTimestamp": _now(),
                         "annotations": {"kubernetes.io/description": _ROOT_CA_DESCRIPTION}},
            "data": {"ca.crt": ca_pem}}


def group_resource(key: str) -> str:
    """``/configmaps`` -> ``configmaps``, ``apps/deployments`` -> ``deployments.apps``."""
    group, _, plural = key.partition("/")
    return f"{plural}.{group}" if group else plural


def terminating_conditions(remaining: list[tuple[str, Obj]], old: list[Obj]) -> list[Obj]:
    """The namespace controller's five conditions for content still present after a pass."""
    counts = Counter(group_resource(key) for key, _ in remaining)
    fins: Counter[str] = Counter()
    for _key, obj in remaining:
        for f in (obj.get("metadata") or {}).get("finalizers") or []:
            fins[f] += 1
    content = ", ".join(f"{gr} has {n} resource instances" for gr, n in sorted(counts.items()))
    held = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(fins.items()))
    wanted = [
        ("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered",
         "All resources successfully discovered"),
        ("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
         "All legacy kube types successfully parsed"),
        ("NamespaceDeletionContentFailure", "False", "ContentDeleted",
         "All content successfully deleted, may be waiting on finalization"),
        ("NamespaceContentRemaining", "True" if counts else "False",
         "SomeResourcesRemain" if counts else "ContentRemoved",
         f"Some resources are remaining: {content}" if counts
         else "All content successfully removed"),
        ("NamespaceFinalizersRemaining", "True" if fins else "False",
         "SomeFinalizersRemain" if fins else "ContentHasNoFinalizers",
         f"Some content in the namespace has finalizers remaining: {held}" if fins
         else "All content-preserving finalizers finished"),
    ]
    before = {c.get("type"): c for c in old}
    out = []
    for ctype, status, reason, message in wanted:
        prev = before.get(ctype)
        since = prev.get("lastTransitionTime") if prev and prev.get("status") == status \
            else _now()
        out.append({"type": ctype, "status": status, "lastTransitionTime": since,
                    "reason": reason, "message": message})
    return out
