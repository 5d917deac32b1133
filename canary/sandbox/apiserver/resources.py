"""The resource types the server serves: built-ins plus those registered by CRDs, and discovery.

A :class:`ResourceType` is one (group, version, plural). All versions of a resource share one
storage ``key`` (``group/plural``); objects are stored at the storage version and only their
``apiVersion`` is rewritten when served at another version (the trivial conversion).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from . import events
from . import schema as openapi_schema

Obj = dict[str, Any]

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SERVER_VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "sandbox",
    "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.3",
    "compiler": "gc", "platform": "linux/amd64",
}


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_sub: bool = False
    scale_sub: bool = False
    # For custom resources: JSON paths of the scale subresource.
    scale_paths: tuple[str, str, str] = (".spec.replicas", ".status.replicas", "")
    printer_columns: tuple[Obj, ...] | None = None
    storage_version: str = ""
    custom: bool = False
    extra_subresources: tuple[str, ...] = field(default=())
    # A second view of another resource's storage (events.k8s.io/v1 Events over core/v1).
    view_of: str = ""
    # For custom resources: the version's structural openAPIV3Schema (pruned, defaulted,
    # validated on every write).
    schema: Obj | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return self.view_of or f"{self.group}/{self.plural}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_api_version(self) -> str:
        if self.view_of:
            return "v1"
        v = self.storage_version or self.version
        return f"{self.group}/{v}" if self.group else v

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def served(self, obj: Obj) -> Obj:
        """The stored object as this version serves it."""
        if self.view_of:
            return events.core_to_v1(obj)
        if obj.get("apiVersion") == self.api_version:
            return obj
        return {**obj, "apiVersion": self.api_version}

    def subresources(self) -> list[str]:
        subs = list(self.extra_subresources)
        if self.status_sub:
            subs.append("status")
        if self.scale_sub:
            subs.append("scale")
        return subs


def _b(group: str, version: str, plural: str, kind: str, namespaced: bool = True,
       short: tuple[str, ...] = (), cats: tuple[str, ...] = (), status: bool = False,
       scale: bool = False, extra: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType(group, version, plural, kind, namespaced, singular=kind.lower(),
                        short_names=short, categories=cats, status_sub=status, scale_sub=scale,
                        storage_version=version, extra_subresources=extra)


BUILTINS: list[ResourceType] = [
    _b("", "v1", "namespaces", "Namespace", False, ("ns",), status=True, extra=("finalize",)),
    _b("", "v1", "pods", "Pod", True, ("po",), ("all",), status=True, extra=("log",)),
    _b("", "v1", "services", "Service", True, ("svc",), ("all",), status=True),
    _b("", "v1", "endpoints", "Endpoints", True, ("ep",)),
    _b("", "v1", "events", "Event", True, ("ev",)),
    _b("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    _b("", "v1", "secrets", "Secret", True),
    _b("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    _b("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("all",), True, True),
    _b("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("all",), True, True),
    _b("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    replace(_b("events.k8s.io", "v1", "events", "Event", True), view_of="/events"),
    _b("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
       False, ("crd", "crds"), status=True),
    _b("coordination.k8s.io", "v1", "leases", "Lease", True),
    _b("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _b("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _b("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _b("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
]

CRD_KEY = "apiextensions.k8s.io/customresourcedefinitions"
NAMESPACE_KEY = "/namespaces"


def types_from_crd(crd: Obj) -> list[ResourceType]:
    """The served versions a CustomResourceDefinition declares (empty when malformed)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind = spec.get("group", ""), names.get("plural", ""), names.get("kind", "")
    if not (group and plural and kind):
        return []
    versions = spec.get("versions") or []
    storage = next((v.get("name") for v in versions if v.get("storage")), None)
    storage = storage or (versions[0].get("name") if versions else "")
    out = []
    for v in versions:
        if not v.get("served", True) or not v.get("name"):
            continue
        subs = v.get("subresources") or {}
        scale = subs.get("scale")
        scale_paths = (".spec.replicas", ".status.replicas", "")
        if isinstance(scale, dict):
            scale_paths = (scale.get("specReplicasPath", ".spec.replicas"),
                           scale.get("statusReplicasPath", ".status.replicas"),
                           scale.get("labelSelectorPath", ""))
        cols = v.get("additionalPrinterColumns")
        out.append(ResourceType(
            group, v["name"], plural, kind, spec.get("scope", "Namespaced") != "Cluster",
            singular=names.get("singular") or kind.lower(),
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            status_sub="status" in subs, scale_sub=scale is not None, scale_paths=scale_paths,
            printer_columns=tuple(cols) if cols is not None else None,
            storage_version=storage, custom=True,
            schema=openapi_schema.version_schema(crd, v["name"])))
    return out


class Registry:
    """Lookup of resource types by URL parts, by storage key, by apiVersion+kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._crd_types: dict[str, list[ResourceType]] = {}  # CRD name -> its types
        for rt in BUILTINS:
            self._by_path[(rt.group, rt.version, rt.plural)] = rt

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        with self._lock:
            return self._by_path.get((group, version, plural))

    def storage_type(self, key: str) -> ResourceType | None:
        """The storage-version type of a storage key."""
        group, _, plural = key.partition("/")
        with self._lock:
            for (g, _v, p), rt in self._by_path.items():
                if g == group and p == plural and rt.version == rt.storage_version \
                        and not rt.view_of:
                    return rt
        return None

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        with self._lock:
            for (g, v, _p), rt in self._by_path.items():
                if g == group and v == version and rt.kind == kind:
                    return rt
        return None

    def all_types(self) -> list[ResourceType]:
        with self._lock:
            return list(self._by_path.values())

    def register_crd(self, crd: Obj) -> list[ResourceType]:
        name = (crd.get("metadata") or {}).get("name", "")
        types = types_from_crd(crd)
        with self._lock:
            for rt in self._crd_types.pop(name, []):
                self._by_path.pop((rt.group, rt.version, rt.plural), None)
            for rt in types:
                self._by_path[(rt.group, rt.version, rt.plural)] = rt
            self._crd_types[name] = types
        return types

    def unregister_crd(self, name: str) -> None:
        with self._lock:
            for rt in self._crd_types.pop(name, []):
                self._by_path.pop((rt.group, rt.version, rt.plural), None)

    # -- discovery documents -----------------------------------------------------------------

    def groups(self) -> dict[str, list[str]]:
        """group -> served versions, preferred (storage / first) version first."""
        out: dict[str, list[str]] = {}
        for rt in self.all_types():
            vs = out.setdefault(rt.group, [])
            if rt.version not in vs:
                vs.append(rt.version)
        for g, vs in out.items():
            vs.sort(key=_version_priority)
            out[g] = vs
        return out

    def api_versions(self) -> Obj:
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                "serverAddress": "127.0.0.1:0"}]}

    def group_list(self) -> Obj:
        groups = []
        for g, vs in sorted(self.groups().items(), key=lambda kv: _group_order(kv[0])):
            if not g:
                continue
            groups.append(_group_doc(g, vs))
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def group(self, group: str) -> Obj | None:
        vs = self.groups().get(group)
        if not vs or not group:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, vs)}

    def resource_list(self, group: str, version: str) -> Obj | None:
        types = [rt for rt in self.all_types() if rt.group == group and rt.version == version]
        if not types:
            return None
        resources: list[Obj] = []
        for rt in sorted(types, key=lambda r: r.plural):
            entry: Obj = {"name": rt.plural, "singularName": rt.singular,
                          "namespaced": rt.namespaced, "kind": rt.kind, "verbs": list(VERBS)}
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            if rt.categories:
                entry["categories"] = list(rt.categories)
            resources.append(entry)
            for sub in rt.subresources():
                kind = "Scale" if sub == "scale" else rt.kind
                verbs = {"finalize": ["update"], "log": ["get"]}.get(sub, ["get", "patch",
                                                                            "update"])
                sub_entry: Obj = {"name": f"{rt.plural}/{sub}", "singularName": "",
                                  "namespaced": rt.namespaced, "kind": kind, "verbs": verbs}
                if sub == "scale":
                    sub_entry.update(group="autoscaling", version="v1")
                resources.append(sub_entry)
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                "resources": resources}


def _group_doc(group: str, versions: list[str]) -> Obj:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


_BUILTIN_GROUP_ORDER = [rt.group for rt in BUILTINS]


def _group_order(group: str) -> tuple[int, str]:
    if group in _BUILTIN_GROUP_ORDER:
        return (_BUILTIN_GROUP_ORDER.index(group), group)
    return (len(_BUILTIN_GROUP_ORDER), group)


def _version_priority(v: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (3, 0, 0)
    major = int(m.group(1))
    stage = {"": 0, None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor)

