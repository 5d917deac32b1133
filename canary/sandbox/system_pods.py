"""Pods for the components the sandbox runs on the host (Prometheus), so their Services have a
selector as on a cluster: ``kubectl -n linkerd-viz port-forward svc/prometheus 9090`` finds a
pod and forwards to it, and the endpoints controller fills the Endpoints.

The node agent does not run these pods (annotation ``HOST_PROCESS``): the manager starts the
process and writes the pod's status (Running, Ready, podIP 127.0.0.1, the process's port).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from canary.kube.client import KubeClient, NotFound

Obj = dict[str, Any]

HOST_PROCESS = "sandbox.canary.dev/host-process"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expose(client: KubeClient, namespace: str, service: str, labels: dict[str, str],
           container: str, image: str, port: int, pid: int) -> None:
    """A Ready pod for a host process listening on 127.0.0.1:``port``, selected by
    ``service``."""
    name = f"{service}-sandbox"
    try:  # a restart gets a new port: pods' ports cannot change, so the pod is replaced
        client.delete("v1", "Pod", name, namespace)
    except NotFound:
        pass
    client.create({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels),
                     "annotations": {HOST_PROCESS: f"pid {pid}"}},
        "spec": {"nodeName": "sandbox", "containers": [{
            "name": container, "image": image,
            "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}]}]}})
    t = _now()
    client.patch_status("v1", "Pod", name, {"status": {
        "phase": "Running", "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}],
        "hostIP": "127.0.0.1", "startTime": t,
        "conditions": [{"type": c, "status": "True", "lastTransitionTime": t}
                       for c in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
        "containerStatuses": [{"name": container, "image": image, "ready": True, "started": True,
                               "restartCount": 0, "state": {"running": {"startedAt": t}}}]}},
        namespace)
    svc = client.get("v1", "Service", service, namespace)
    if (svc.get("spec") or {}).get("selector") != labels:
        client.patch("v1", "Service", service, {"spec": {"selector": dict(labels)}}, namespace)
