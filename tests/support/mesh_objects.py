"""Kubernetes objects shaped like the demo's, shared by the mesh tests."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
INJECT = {"linkerd.io/inject": "enabled"}


def pod(name: str, ip: str, deployment: str | None = None, hash_: str = "6d9f8b7c4d",
        ns: str = "test", meshed: bool = True, app: str | None = None, port: int = 9898) -> Obj:
    md: Obj = {"name": name, "namespace": ns, "labels": {}, "annotations": {}}
    if meshed:
        md["annotations"].update(INJECT)
    if deployment:
        md["labels"].update({"app": app or deployment, "pod-template-hash": hash_})
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                  "name": f"{deployment}-{hash_}", "uid": "u-" + name,
                                  "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"containers": [{"name": "app", "image": "x",
                                     "ports": [{"name": "http", "containerPort": port}]}]},
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}}


def service(name: str, cluster_ip: str, port: int = 9898, target: int | str = 9898,
            ns: str = "test", selector: dict | None = None) -> Obj:
    spec: Obj = {"clusterIP": cluster_ip, "type": "ClusterIP",
                 "ports": [{"name": "http", "port": port, "targetPort": target,
                            "protocol": "TCP"}]}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def endpoints(name: str, pods: list[Obj], port: int = 9898, ns: str = "test") -> Obj:
    addrs = [{"ip": p["status"]["podIP"],
              "targetRef": {"kind": "Pod", "name": p["metadata"]["name"],
                            "namespace": p["metadata"]["namespace"]}} for p in pods]
    subsets = [{"addresses": addrs, "ports": [{"name": "http", "port": port,
                                               "protocol": "TCP"}]}] if pods else []
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns}, "subsets": subsets}


def httproute(primary_weight: int | None, canary_weight: int | None, port: int = 9898,
              canary_port: int | None = None, api_version: str = "v1beta1",
              ns: str = "test") -> Obj:
    def ref(name: str, weight: int | None, p: int) -> Obj:
        r: Obj = {"group": "", "kind": "Service", "name": name, "port": p}
        if weight is not None:
            r["weight"] = weight
        return r
    return {"apiVersion": f"gateway.networking.k8s.io/{api_version}", "kind": "HTTPRoute",
            "metadata": {"name": "podinfo", "namespace": ns},
            "spec": {"parentRefs": [{"group": "core", "kind": "Service", "name": "podinfo",
                                     "namespace": ns, "port": port}],
                     "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                                "backendRefs": [
                                    ref("podinfo-primary", primary_weight, port),
                                    ref("podinfo-canary", canary_weight, canary_port or port)]}]}}


def namespace(name: str, meshed: bool = False) -> Obj:
    md: Obj = {"name": name}
    if meshed:
        md["annotations"] = dict(INJECT)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": md}
