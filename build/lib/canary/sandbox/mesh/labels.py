"""Label sets of Linkerd proxy metrics, as linkerd-viz's Prometheus stores them.

Two halves (reference linkerd-podinfo.md §1.2 and §1.5):
- what the proxy writes (``direction``, ``target_*``, ``tls``, ``srv_*``/``route_*``/``authz_*``
  inbound, ``authority`` and ``dst_*`` outbound), and
- what the ``linkerd-proxy`` scrape job adds from the scraped pod (``namespace``, ``pod``,
  ``deployment`` from the injector's ``linkerd.io/proxy-deployment`` label, the other pod labels
  sanitised, ``instance``, ``job``).
Prometheus drops empty-valued labels, so they are left out here.
"""

from __future__ import annotations

import re
from typing import Any

Obj = dict[str, Any]
Labels = tuple[tuple[str, str], ...]

CONTROL_PLANE_NS = "linkerd"
TRUST_DOMAIN = "cluster.local"
ADMIN_PORT = 4191
JOB = "linkerd-proxy"

# Owner kind -> the injector's linkerd.io/proxy-<x> label suffix (pkg/k8s/labels.go).
_OWNER_LABELS = {
    "Deployment": "deployment",
    "ReplicaSet": "replicaset",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
    "ReplicationController": "replicationcontroller",
    "Job": "job",
    "CronJob": "cronjob",
}

_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def sanitize(name: str) -> str:
    """Prometheus label-name sanitising as kubernetes_sd does it: pod-template-hash -> ..._."""
    out = _INVALID.sub("_", name)
    return "_" + out if out[:1].isdigit() else out


def owner(pod: Obj) -> tuple[str, str] | None:
    """(label suffix, name) of the workload owning the pod, resolved ReplicaSet -> Deployment."""
    md = pod.get("metadata") or {}
    labels = md.get("labels") or {}
    for ref in md.get("ownerReferences") or []:
        kind, name = ref.get("kind", ""), ref.get("name", "")
        if kind == "ReplicaSet":
            hash_ = labels.get("pod-template-hash")
            if hash_ and name.endswith("-" + hash_):
                return "deployment", name[: -len(hash_) - 1]
            if not hash_ and "-" in name:
                return "deployment", name.rsplit("-", 1)[0]
            return "replicaset", name
        if kind in _OWNER_LABELS:
            return _OWNER_LABELS[kind], name
    return None


def serviceaccount(pod: Obj) -> str:
    spec = pod.get("spec") or {}
    return spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"


def identity(pod: Obj) -> str:
    """The mTLS identity Linkerd gives a meshed pod."""
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    return (f"{serviceaccount(pod)}.{ns}.serviceaccount.identity."
            f"{CONTROL_PLANE_NS}.{TRUST_DOMAIN}")


def injected_labels(pod: Obj) -> dict[str, str]:
    """Pod labels after Linkerd's proxy injector added its own (pkg/inject populateMeta)."""
    md = pod.get("metadata") or {}
    labels = dict(md.get("labels") or {})
    labels.setdefault("linkerd.io/control-plane-ns", CONTROL_PLANE_NS)
    labels.setdefault("linkerd.io/workload-ns", md.get("namespace") or "default")
    own = owner(pod)
    if own:
        labels.setdefault(f"linkerd.io/proxy-{own[0]}", own[1])
    return labels


def scrape_labels(pod: Obj) -> list[tuple[str, str]]:
    """The labels the viz ``linkerd-proxy`` job attaches to every series of ``pod``'s proxy."""
    md = pod.get("metadata") or {}
    ip = (pod.get("status") or {}).get("podIP") or ""
    out: dict[str, str] = {"namespace": md.get("namespace") or "default",
                           "pod": md.get("name") or ""}
    labels = injected_labels(pod)
    if "linkerd.io/proxy-job" in labels:
        out["k8s_job"] = labels["linkerd.io/proxy-job"]
    for k, v in labels.items():
        if k.startswith("linkerd.io/proxy-") and k != "linkerd.io/proxy-job":
            out.setdefault(sanitize(k[len("linkerd.io/proxy-"):]), v)
    for k, v in labels.items():
        if k.startswith("linkerd.io/") and not k.startswith("linkerd.io/proxy-"):
            out.setdefault(sanitize(k[len("linkerd.io/"):]), v)
    for k, v in labels.items():
        if not k.startswith("linkerd.io/"):
            out.setdefault(sanitize(k), v)
    out["instance"] = f"{ip}:{ADMIN_PORT}"
    out["job"] = JOB
    return list(out.items())


def dst_labels(svc_namespace: str, svc_name: str, pod: Obj | None, meshed: bool
               ) -> list[tuple[str, str]]:
    """The destination controller's metric labels for an endpoint, prefixed ``dst_``."""
    out = [("dst_namespace", svc_namespace), ("dst_service", svc_name)]
    if pod is None:
        return out
    md = pod.get("metadata") or {}
    labels = md.get("labels") or {}
    out.append(("dst_pod", md.get("name") or ""))
    own = owner(pod)
    if own:
        out.append(("dst_" + ("k8s_job" if own[0] == "job" else own[0]), own[1]))
    out.append(("dst_serviceaccount", serviceaccount(pod)))
    if meshed:
        out.append(("dst_control_plane_ns", CONTROL_PLANE_NS))
    if labels.get("pod-template-hash"):
        out.append(("dst_pod_template_hash", labels["pod-template-hash"]))
    return out


def inbound_labels(dst_pod: Obj, target_ip: str, target_port: int,
                   client_pod: Obj | None, client_meshed: bool) -> Labels:
    """Labels of the destination pod's inbound proxy series for one client."""
    out = [("direction", "inbound"),
           ("target_addr", f"{target_ip}:{target_port}"),
           ("target_ip", target_ip), ("target_port", str(target_port))]
    if client_meshed and client_pod is not None:
        out += [("tls", "true"), ("client_id", identity(client_pod))]
    else:
        out += [("tls", "no_identity"), ("no_tls_reason", "no_tls_from_remote")]
    out += [("srv_kind", "default"), ("srv_name", "all-unauthenticated"),
            ("srv_port", str(target_port)),
            ("route_kind", "default"), ("route_name", "default"),
            ("authz_kind", "default"), ("authz_name", "all-unauthenticated")]
    return _clean(out + scrape_labels(dst_pod))


def outbound_labels(client_pod: Obj, svc_namespace: str, svc_name: str, svc_port: int,
                    target_ip: str, target_port: int, dst_pod: Obj | None,
                    dst_meshed: bool) -> Labels:
    """Labels of the client pod's outbound proxy series for one concrete endpoint."""
    out = [("direction", "outbound"),
           ("authority", f"{svc_name}.{svc_namespace}.svc.{TRUST_DOMAIN}:{svc_port}"),
           ("target_addr", f"{target_ip}:{target_port}"),
           ("target_ip", target_ip), ("target_port", str(target_port))]
    if dst_meshed and dst_pod is not None:
        out += [("tls", "true"), ("server_id", identity(dst_pod))]
    else:
        out += [("tls", "no_identity"), ("no_tls_reason", "not_provided_by_service_discovery")]
    out += dst_labels(svc_namespace, svc_name, dst_pod, dst_meshed)
    return _clean(out + scrape_labels(client_pod))


def _clean(pairs: list[tuple[str, str]]) -> Labels:
    """Drop empty values (Prometheus does) and repeated names (a scrape would fail on them)."""
    seen: set[str] = set()
    out = []
    for k, v in pairs:
        if v == "" or k in seen:
            continue
        seen.add(k)
        out.append((k, v))
    return tuple(out)
