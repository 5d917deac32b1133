"""Kubernetes objects Flagger generates for a Deployment target (kubernetes_default.go,
deployment_controller.go): the ``-primary`` Deployment and the apex/primary/canary Services."""

from __future__ import annotations

import copy
from typing import Any

from canary.engine.hashing import template_hash
from canary.kube.client import KubeClient, NotFound, Obj, retry_on_conflict
from canary.spec.canary import API_VERSION, CanarySpec

SELECTOR_LABELS = ("app", "name", "app.kubernetes.io/name")
SIDECARS = ("istio-proxy", "envoy")  # pkg/canary/util.go sidecars, never discovered
# pkg/router/util.go:31 filterMetadata: keep Flux from reverting objects Flagger manages
FLUX_ANNOTATIONS = {"kustomize.toolkit.fluxcd.io/reconcile": "disabled",
                    "helm.toolkit.fluxcd.io/driftDetection": "disabled"}
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


def discovered_ports(c: CanarySpec, target: Obj) -> list[tuple[str, int]]:
    """``service.portDiscovery``: every container port but the service's own (port, or
    targetPort by number or name) and sidecars'; unnamed ones are ``tcp-<container>-<index>``
    (pkg/canary/util.go:36 getPorts)."""
    if not c.service.port_discovery:
        return []
    tp = c.service.target_port
    out: dict[str, int] = {}
    containers = (((target.get("spec") or {}).get("template") or {}).get("spec") or {}).get(
        "containers") or []
    for cont in containers:
        if cont.get("name") in SIDECARS:
            continue
        for i, p in enumerate(cont.get("ports") or []):
            cp = int(p.get("containerPort") or 0)
            if (isinstance(tp, int) and cp == tp) or (isinstance(tp, str) and p.get("name") == tp):
                continue
            out[p.get("name") or f"tcp-{cont.get('name')}-{i}"] = cp
    return sorted(out.items(), key=lambda kv: (kv[1], kv[0]))


def _service(c: CanarySpec, canary: Obj, name: str, selector: dict[str, str],
             label: str, meta: dict, extra_ports: list[tuple[str, int]] | None = None) -> Obj:
    port: dict[str, Any] = {"name": c.service.port_name, "protocol": "TCP",
                            "port": c.service.port, "targetPort": c.service.target_port}
    if c.service.app_protocol:
        port["appProtocol"] = c.service.app_protocol
    ports = [port] + [{"name": n, "protocol": "TCP", "port": p, "targetPort": p}
                      for n, p in extra_ports or []]
    md: dict[str, Any] = {"name": name, "namespace": c.namespace,
                          "labels": dict(meta.get("labels") or {}, **{label: name}),
                          "annotations": {**(meta.get("annotations") or {}), **FLUX_ANNOTATIONS},
                          "ownerReferences": [owner_ref(canary)]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": md,
            "spec": {"type": "ClusterIP", "selector": selector, "ports": ports}}


def _port_key(p: dict[str, Any]) -> tuple:
    return (p.get("port"), p.get("name"))


def reconcile_service(client: KubeClient, desired: Obj) -> None:
    md = desired["metadata"]
    owner = md["ownerReferences"][0]

    def write() -> Obj:
        try:
            svc = client.get("v1", "Service", md["name"], md["namespace"])
        except NotFound:
            return client.create(desired, namespace=md["namespace"])
        spec = svc.setdefault("spec", {})
        want_ports = sorted(desired["spec"]["ports"], key=_port_key)
        have_ports = sorted(spec.get("ports") or [], key=_port_key)
        same_ports = len(have_ports) == len(want_ports) and all(
            {k: h.get(k) for k in w} == w for h, w in zip(have_ports, want_ports, strict=True))
        smd = svc.setdefault("metadata", {})
        owned = any(r.get("kind") == "Canary" and r.get("uid") == owner["uid"]
                    for r in smd.get("ownerReferences") or [])
        # labels and annotations are managed only on Services the canary created
        same_meta = not owned or (smd.get("labels") == md["labels"]
                                  and smd.get("annotations") == md["annotations"])
        if spec.get("selector") == desired["spec"]["selector"] and same_ports and same_meta:
            return svc
        spec["selector"] = desired["spec"]["selector"]
        spec["ports"] = desired["spec"]["ports"]
        if owned:
            smd["labels"], smd["annotations"] = md["labels"], dict(md["annotations"])
        # kubernetes_default.go:264: every Service Flagger updates gets the Flux annotations
        smd["annotations"] = {**(smd.get("annotations") or {}), **FLUX_ANNOTATIONS}
        return client.update(svc)

    retry_on_conflict(write)


def reconcile_services(client: KubeClient, c: CanarySpec, canary: Obj, target: Obj,
                       apex: bool) -> None:
    """``<svc>-canary`` and ``<svc>-primary`` always; the apex ``<svc>`` when ``apex``."""
    label, value = selector_label(c, target)
    s = c.service
    ports = discovered_ports(c, target)
    reconcile_service(client, _service(c, canary, f"{s.name}-canary", {label: value}, label,
                                       s.canary_meta, ports))
    reconcile_service(client, _service(c, canary, f"{s.name}-primary",
                                       {label: f"{value}-primary"}, label, s.primary_meta,
                                       ports))
    if apex:
        reconcile_service(client, _service(c, canary, s.name, {label: f"{value}-primary"}, label,
                                           s.apex_meta, ports))
