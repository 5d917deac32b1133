"""``revertOnDeletion``: Flagger's finalizer (pkg/controller/finalizer.go, controller.go:270).

A Canary with ``revertOnDeletion: true`` carries the finalizer ``finalizer.flagger.app``. When it
is deleted, the engine marks it ``Terminating``, scales the target back to the primary's
replicas (deployment_controller.go:342 Finalize), waits for the target to be ready, points an
apex Service the canary did not create back at the target's pods (kubernetes_default.go:278),
removes the finalizer and records ``Terminated canary``; garbage collection then removes what
the canary owns (primary Deployment, generated Services, HTTPRoute).

One deviation: when the target Deployment is already gone (a namespace being deleted removes
everything at once) there is nothing to revert, so the finalizer is removed instead of failing
forever and holding the namespace.
"""

from __future__ import annotations

import logging
from typing import Any

from canary.engine.readiness import deployment_readiness
from canary.engine.status import rfc3339
from canary.engine.types import NORMAL
from canary.kube.client import KubeClient, NotFound, Obj, retry_on_conflict
from canary.router import kubernetes
from canary.spec.canary import API_VERSION, CanarySpec

log = logging.getLogger("canary.flagger")

FINALIZER = "finalizer.flagger.app"
TERMINATING = "Terminating"


def has_finalizer(canary: Obj) -> bool:
    return FINALIZER in ((canary.get("metadata") or {}).get("finalizers") or [])


def set_finalizer(client: KubeClient, canary: Obj, present: bool) -> None:
    """Add or remove ``finalizer.flagger.app`` (an update, retried on conflict)."""
    md = canary["metadata"]

    def write() -> Obj:
        obj = client.get(API_VERSION, "Canary", md["name"], md.get("namespace"))
        fins = list(obj["metadata"].get("finalizers") or [])
        if (FINALIZER in fins) == present:
            return obj
        obj["metadata"]["finalizers"] = fins + [FINALIZER] if present else \
            [f for f in fins if f != FINALIZER]
        return client.update(obj)

    try:
        retry_on_conflict(write)
    except NotFound:
        pass


def finalize(runner: Any, canary: Obj, spec: CanarySpec | None) -> str:
    """One finalizing attempt; returns a summary. ``runner`` is the CanaryRunner."""
    client: KubeClient = runner.client
    md = canary["metadata"]
    ns, name = md.get("namespace"), md["name"]
    if spec is None:
        set_finalizer(client, canary, False)
        return "finalizer removed (invalid spec)"
    status = canary.get("status") or {}
    if status.get("phase") != TERMINATING:
        client.patch_status(API_VERSION, "Canary", name,
                            {"status": {"phase": TERMINATING,
                                        "lastTransitionTime": rfc3339(runner.clock.now())}},
                            namespace=ns)
        runner._event(canary, spec, NORMAL, f"Terminating canary {name}.{ns}")
    target = client.get_or_none("apps/v1", "Deployment", spec.target_name, ns)
    if target is None:
        set_finalizer(client, canary, False)
        return "finalizer removed (target gone)"
    primary = client.get_or_none("apps/v1", "Deployment", spec.primary_name, ns)
    want = _replicas(primary) if primary is not None else \
        (_replicas(target) or 1)  # ScaleFromZero without an autoscaler
    if _replicas(target) != want:
        kubernetes.scale(client, ns, spec.target_name, want)
        target = client.get("apps/v1", "Deployment", spec.target_name, ns)
    ready = deployment_readiness(target, spec.analysis.canary_ready_threshold,
                                 runner.clock.scaled(spec.progress_deadline_seconds),
                                 runner.clock.now(), None)
    if not ready.ready:
        return f"finalizing: canary not ready during finalizing: {ready.message}"
    _revert_apex(client, spec, target)
    set_finalizer(client, canary, False)
    runner._event(canary, spec, NORMAL, f"Terminated canary {name}.{ns}")
    return "terminated"


def _revert_apex(client: KubeClient, spec: CanarySpec, target: Obj) -> None:
    """An apex Service the canary does not own selects the target's pods again."""
    svc = client.get_or_none("v1", "Service", spec.service.name, spec.namespace)
    if svc is None:
        return
    owned = any(r.get("kind") == "Canary" and r.get("name") == spec.name
                for r in svc["metadata"].get("ownerReferences") or [])
    if owned:
        return  # garbage collection removes it with the canary
    label, value = kubernetes.selector_label(spec, target)

    def write() -> Obj:
        cur = client.get("v1", "Service", spec.service.name, spec.namespace)
        if (cur.get("spec") or {}).get("selector") == {label: value}:
            return cur
        cur.setdefault("spec", {})["selector"] = {label: value}
        return client.update(cur)

    retry_on_conflict(write)


def _replicas(dep: Obj | None) -> int:
    if dep is None:
        return 0
    r = (dep.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)
