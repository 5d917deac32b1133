"""Kubernetes objects Flagger generates for a Deployment target (kubernetes_default.go,
deployment_controller.go): the ``-primary`` Deployment and the apex/primary/canary Services."""

from __future__ import annotations

import copy
from typing import Any

from canary.engine.hashing import template_hash
from canary.kube.client import KubeClient, NotFound, Obj, retry_on_conflict
from canary.spec.canary import API_VERSION, CanarySpec

SELECTOR_LABELS = ("app", "name", "app.kubernetes.io/name")
INCLUDE_LABEL_PREFIX = ("app.kubernetes.io",)  # Flagger's Linkerd install: -include-label-prefix


class TargetError(Exception):
    """The target cannot be managed (missing, or without a selector label)."""


def owner_ref(canary: Obj) -> dict[str, Any]:
    md = canary["metadata"]
    return {"apiVersion": API_VERSION, "kind": "Canary", "name": md["name"],
            "uid": md.get("uid", ""), "controller": True, "blockOwnerDeletion": True}


def selector_label(c: CanarySpec, target: Obj) -> tuple[str, str]:
    labels = ((target.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    for key in SELECTOR_LABELS:
        if key in labels:
            return key, str(labels[key])
    raise TargetError(f"deployment {c.target_name}.{c.namespace} spec.selector.matchLabels must "
                      f"contain one of [{' '.join(SELECTOR_LABELS)}]")


def _filtered(meta: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (meta or {}).items()
            if k.startswith(INCLUDE_LABEL_PREFIX) and "toolkit.fluxcd.io" not in k}


def primary_template(target: Obj, label: str, primary_value: str) -> dict[str, Any]:
    """The target's pod template with the selector label pointing at the primary."""
    tpl = copy.deepcopy((target.get("spec") or {}).get("template") or {})
    md = tpl.setdefault("metadata", {})
    md["labels"] = dict(md.get("labels") or {}, **{label: primary_value})
    # Flagger writes a fresh uuid here; the template hash keeps a repeated Promote a no-op
    # (restart safety) while still rolling the primary when the template changes.
    md["annotations"] = dict(md.get("annotations") or {}, **{"flagger-id": template_hash(target)})
    return tpl


def ensure_primary(client: KubeClient, c: CanarySpec, canary: Obj, target: Obj) -> Obj:
    """Create ``<target>-primary`` if missing; return it."""
    existing = client.get_or_none("apps/v1", "Deployment", c.primary_name, c.namespace)
    if existing is not None:
        return existing
    label, value = selector_label(c, target)
    tspec = target.get("spec") or {}
    primary_value = f"{value}-primary"
    labels = dict(_filtered((target.get("metadata") or {}).get("labels")),
                  **{label: primary_value})
    spec: dict[str, Any] = {
        "replicas": max(1, int(tspec.get("replicas") if tspec.get("replicas") is not None
                               else 1)),
        "selector": {"matchLabels": {label: primary_value}},
        "template": primary_template(target, label, primary_value),
    }
    for k in ("strategy", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"):
        if k in tspec:
            spec[k] = tspec[k]
    md: dict[str, Any] = {"name": c.primary_name, "namespace": c.namespace, "labels": labels,
                          "ownerReferences": [owner_ref(canary)]}
    annotations = _filtered((target.get("metadata") or {}).get("annotations"))
    if annotations:
        md["annotations"] = annotations
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md, "spec": spec}
    return client.create(obj, namespace=c.namespace)


def promote(client: KubeClient, c: CanarySpec, target: Obj) -> None:
    """Copy the target's template (and rollout settings, replicas) to the primary."""
    label, value = selector_label(c, target)
    tspec = target.get("spec") or {}

    def write() -> Obj:
        primary = client.get("apps/v1", "Deployment", c.primary_name, c.namespace)
        new = copy.deepcopy(primary)
        ps = new.setdefault("spec", {})
        ps["template"] = primary_template(target, label, f"{value}-primary")
        for k in ("strategy", "minReadySeconds", "revisionHistoryLimit",
                  "progressDeadlineSeconds"):
            if k in tspec:
                ps[k] = tspec[k]
        if int(tspec.get("replicas") or 0) > 0:
            ps["replicas"] = tspec["replicas"]
        if new == primary:
            return primary
        return client.update(new)

    retry_on_conflict(write)


def scale(client: KubeClient, namespace: str, name: str, replicas: int) -> None:
    client.patch("apps/v1", "Deployment", name, {"spec": {"replicas": replicas}},
                 namespace=namespace)


def _service(c: CanarySpec, canary: Obj, name: str, selector: dict[str, str],
             label: str, meta: dict) -> Obj:
    port: dict[str, Any] = {"name": c.service.port_name, "protocol": "TCP",
                            "port": c.service.port, "targetPort": c.service.target_port}
    if c.service.app_protocol:
        port["appProtocol"] = c.service.app_protocol
    md: dict[str, Any] = {"name": name, "namespace": c.namespace,
                          "labels": dict(meta.get("labels") or {}, **{label: name}),
                          "ownerReferences": [owner_ref(canary)]}
    if meta.get("annotations"):
        md["annotations"] = dict(meta["annotations"])
    return {"apiVersion": "v1", "kind": "Service", "metadata": md,
            "spec": {"type": "ClusterIP", "selector": selector, "ports": [port]}}


def reconcile_service(client: KubeClient, desired: Obj) -> None:
    md = desired["metadata"]

    def write() -> Obj:
        try:
            svc = client.get("v1", "Service", md["name"], md["namespace"])
        except NotFound:
            return client.create(desired, namespace=md["namespace"])
        spec = svc.setdefault("spec", {})
        want_ports = desired["spec"]["ports"]
        have = [{k: p.get(k) for k in want_ports[0]} for p in spec.get("ports") or []]
        if spec.get("selector") == desired["spec"]["selector"] and have == want_ports:
            return svc
        spec["selector"] = desired["spec"]["selector"]
        spec["ports"] = want_ports
        return client.update(svc)

    retry_on_conflict(write)


def reconcile_services(client: KubeClient, c: CanarySpec, canary: Obj, target: Obj,
                       apex: bool) -> None:
    """``<svc>-canary`` and ``<svc>-primary`` always; the apex ``<svc>`` when ``apex``."""
    label, value = selector_label(c, target)
    s = c.service
    reconcile_service(client, _service(c, canary, f"{s.name}-canary", {label: value}, label,
                                       s.canary_meta))
    reconcile_service(client, _service(c, canary, f"{s.name}-primary",
                                       {label: f"{value}-primary"}, label, s.primary_meta))
    if apex:
        reconcile_service(client, _service(c, canary, s.name, {label: f"{value}-primary"}, label,
                                           s.apex_meta))
