"""The REST verbs with Kubernetes semantics, independent of HTTP.

Writes hold the store lock for the whole read-modify-write, so resourceVersion checks,
uniqueness and namespace checks are atomic.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import threading
import uuid
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from canary.clock import rfc3339

from . import errors, events, namespaces, patching, ssa
from . import schema as openapi_schema
from .defaults import apply_defaults
from .resources import CRD_KEY, NAMESPACE_KEY, Registry, ResourceType
from .services import ServiceAddresses
from .store import Event, Store
from .validation import validate

Obj = dict[str, Any]
log = logging.getLogger("apiserver.api")

CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"


# Kinds whose immediate DELETE answers with the object, not a Status (as Kubernetes does).
_RETURNS_OBJECT_ON_DELETE = {"/pods", "/services", "/serviceaccounts", NAMESPACE_KEY}
_UNDELETABLE_NAMESPACES = {"default", "kube-system", "kube-public"}
_GENERATION_KEYS = {"apps/deployments", "apps/replicasets", CRD_KEY}


@dataclass
class WriteOptions:
    """Per-request write options: ``fieldValidation`` and the warnings the answer carries."""

    field_validation: str = ""  # Ignore | Warn | Strict ("" = Warn, the server's default)
    warnings: list[str] = dc_field(default_factory=list)
    status_write: bool = False
    field_manager: str = ""
    force: bool = False  # server-side apply takes conflicting fields over
    applying: bool = False  # set by patch() for application/apply-patch+yaml


def md_fields(obj: Obj) -> list[Obj]:
    return copy.deepcopy((obj.get("metadata") or {}).get("managedFields") or [])


def tracks_generation(rt: ResourceType) -> bool:
    """Kinds whose metadata.generation Kubernetes maintains."""
    return rt.custom or rt.key in _GENERATION_KEYS


def now() -> str:
    return rfc3339()


def _content(obj: Obj) -> Obj:
    """What ``generation`` tracks: everything outside metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _same(a: Obj, b: Obj) -> bool:
    """Equal apart from resourceVersion and managedFields times (a no-op write)."""
    def norm(o: Obj) -> Obj:
        md = {k: v for k, v in (o.get("metadata") or {}).items() if k != "resourceVersion"}
        if "managedFields" in md:
            md["managedFields"] = [{k: v for k, v in m.items() if k != "time"}
                                   for m in md["managedFields"]]
        return {**o, "metadata": md}
    return norm(a) == norm(b)


def label_selector_string(sel: Obj | None) -> str:
    if not isinstance(sel, dict):
        return ""
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for e in sel.get("matchExpressions") or []:
        key, op, vals = e.get("key"), e.get("operator"), ",".join(e.get("values") or [])
        parts.append({"In": f"{key} in ({vals})", "NotIn": f"{key} notin ({vals})",
                      "Exists": f"{key}", "DoesNotExist": f"!{key}"}.get(op, ""))
    return ",".join(p for p in parts if p)


def _get_path(obj: Any, path: str) -> Any:
    for part in [p for p in path.strip(".").split(".") if p]:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _set_path(obj: Obj, path: str, value: Any) -> None:
    parts = [p for p in path.strip(".").split(".") if p]
    for part in parts[:-1]:
        obj = obj.setdefault(part, {})
    obj[parts[-1]] = value


class Api:
    def __init__(self, registry: Registry, store: Store, services: ServiceAddresses) -> None:
        self.registry = registry
        self.store = store
        self.services = services
        self.gc_wakeup = threading.Event()
        self.root_ca = ""  # PEM of the serving CA, published as kube-root-ca.crt
        store.add_listener(self._on_event)
        for crd in store.list(CRD_KEY):
            registry.register_crd(crd)

    # -- listeners ----------------------------------------------------------------------------

    def _on_event(self, ev: Event) -> None:
        md = ev.obj.get("metadata") or {}
        if ev.key == CRD_KEY:
            if ev.type == "DELETED":
                self.registry.unregister_crd(md.get("name", ""))
            else:
                self.registry.register_crd(ev.obj)
        if ev.key == "/services":
            self.services.changed(self.store.list("/services"))
        if ev.type == "DELETED" or md.get("deletionTimestamp") or (
                md.get("ownerReferences")
                and (ev.old is None or (ev.old.get("metadata") or {}).get("ownerReferences")
                     != md.get("ownerReferences"))):
            self.gc_wakeup.set()

    # -- reads ------------------------------------------------------------------------------

    def get(self, rt: ResourceType, ns: str, name: str) -> Obj:
        obj = self.store.get(rt.key, ns if rt.namespaced else "", name)
        if obj is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return rt.served(obj)

    def list(self, rt: ResourceType, ns: str | None, label_sel: Any = None,
             field_sel: Any = None) -> tuple[list[Obj], int]:
        with self.store.lock:
            items = self.store.list(rt.key, ns if rt.namespaced else None)
            rv = self.store.rv
        out = []
        for o in items:
            if label_sel is not None and not label_sel.matches(
                    (o.get("metadata") or {}).get("labels") or {}):
                continue
            if field_sel is not None and not field_sel.matches(o):
                continue
            out.append(rt.served(o))
        return out, rv

    def get_scale(self, rt: ResourceType, ns: str, name: str) -> Obj:
        return self._scale_of(rt, self.get(rt, ns, name))

    def _scale_of(self, rt: ResourceType, obj: Obj) -> Obj:
        spec_path, status_path, sel_path = rt.scale_paths
        md = obj["metadata"]
        if rt.custom:
            selector = _get_path(obj, sel_path) if sel_path else ""
        else:
            selector = label_selector_string((obj.get("spec") or {}).get("selector"))
        scale_md = {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                       "creationTimestamp") if k in md}
        status: Obj = {"replicas": _get_path(obj, status_path) or 0}
        if selector:
            status["selector"] = selector
        return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": scale_md,
                "spec": {"replicas": _get_path(obj, spec_path) or 0}, "status": status}

    # -- create ---------------------------------------------------------------------------

    def _check_body(self, rt: ResourceType, body: Any, ns: str) -> Obj:
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be a JSON object")
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if kind and kind != rt.kind:
            raise errors.bad_request(f"the kind of the object ({kind}) does not match the kind "
                                     f"of the resource ({rt.kind})")
        if api_version and api_version != rt.api_version:
            other = self.registry.by_kind(api_version, rt.kind)
            if other is None or other.key != rt.key:
                raise errors.bad_request(f"the API version in the data ({api_version}) does "
                                         f"not match the expected API version "
                                         f"({rt.api_version})")
        if rt.view_of:
            body = events.v1_to_core(body)
        md = body.get("metadata")
        if md is None:
            md = body["metadata"] = {}
        if not isinstance(md, dict):
            raise errors.bad_request("metadata must be an object")
        if rt.namespaced:
            if md.get("namespace") and md["namespace"] != ns:
                raise errors.bad_request("the namespace of the provided object does not match "
                                         "the namespace sent on the request")
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        body["apiVersion"] = rt.storage_api_version
        body["kind"] = rt.kind
        return body

    def _check_namespace(self, ns: str) -> None:
        nso = self.store.get(NAMESPACE_KEY, "", ns)
        if nso is None:
            raise errors.not_found("namespaces", "", ns)
        if (nso.get("metadata") or {}).get("deletionTimestamp"):
            msg = (f"unable to create new content in namespace {ns} because it is being "
                   f"terminated")
            raise errors.forbidden(msg, {"name": ns, "kind": "namespaces", "causes": [
                {"reason": "NamespaceTerminating", "message": msg,
                 "field": "metadata.namespace"}]})

    def create(self, rt: ResourceType, ns: str, body: Any, dry_run: bool = False,
               opts: WriteOptions | None = None) -> Obj:
        body = self._check_body(rt, body, ns)
        md = body["metadata"]
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + "".join(random.choices(_NAME_CHARS, k=5))
        for k in ("resourceVersion", "uid", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "selfLink"):
            md.pop(k, None)
        if not (opts and opts.applying):
            md.pop("managedFields", None)
        if rt.status_sub:
            body.pop("status", None)
        apply_defaults(rt.kind, rt.group, body)
        self._shape_custom(rt, body, opts, creating=True)
        validate(rt, body)
        with self.store.lock:
            if rt.namespaced:
                self._check_namespace(ns)
            if self.store.get(rt.key, md.get("namespace", ""), md["name"]) is not None:
                raise errors.already_exists(rt.plural, rt.group, md["name"])
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now()
            if tracks_generation(rt):
                md["generation"] = 1
            self._on_create(rt, body)
            if dry_run:
                return rt.served(body)
            obj = self.store.commit(rt.key, "ADDED", body)
            if rt.key == NAMESPACE_KEY:
                self.fill_namespace(md["name"])
        return rt.served(obj)

    def _shape_custom(self, rt: ResourceType, obj: Obj, opts: WriteOptions | None,
                      creating: bool = False) -> None:
        """Prune undeclared fields and apply schema defaults, as for any custom resource.

        Unknown fields are refused with ``fieldValidation=Strict`` (kubectl's default), warned
        about otherwise (k8s.io/apiserver handlers/rest.go transformDecodeError wording).
        """
        if not rt.custom or rt.schema is None:
            return
        dropped = openapi_schema.prune(rt.schema, obj)
        if rt.status_sub and not creating:
            # the status a spec write carries over is the stored one, not the client's
            dropped = [p for p in dropped if not p.startswith("status")] if \
                (opts is None or not opts.status_write) else dropped
        mode = (opts.field_validation if opts else "") or "Warn"
        if dropped and mode == "Strict":
            what = ", ".join(f'unknown field "{p}"' for p in dropped)
            if creating:
                raise errors.bad_request(f'{rt.kind} in version "{rt.version}" cannot be '
                                         f'handled as a {rt.kind}: strict decoding error: {what}')
            raise errors.bad_request(f"strict decoding error: {what}")
        if dropped:
            log.info("%s %s: pruned unknown fields %s", rt.kind,
                     (obj.get("metadata") or {}).get("name", ""), ", ".join(dropped))
        if dropped and mode == "Warn" and opts is not None:
            opts.warnings.extend(f'unknown field "{p}"' for p in dropped)
        openapi_schema.default(rt.schema, obj)

    def fill_namespace(self, ns: str) -> None:
        """ServiceAccount ``default`` and ConfigMap ``kube-root-ca.crt`` (controllers' job,
        done at once so ``kubectl create ns x && kubectl get cm -n x`` lists it). Lock held."""
        if self.store.get("/serviceaccounts", ns, "default") is None:
            self.store.commit("/serviceaccounts", "ADDED", namespaces.default_service_account(ns))
        if not self.root_ca:
            return
        cm = self.store.get("/configmaps", ns, namespaces.ROOT_CA_NAME)
        if cm is None:
            self.store.commit("/configmaps", "ADDED",
                              namespaces.root_ca_config_map(ns, self.root_ca))
        elif (cm.get("data") or {}).get("ca.crt") != self.root_ca \
                and not cm["metadata"].get("deletionTimestamp"):
            new = copy.deepcopy(cm)
            new["data"] = {"ca.crt": self.root_ca}
            self.store.commit("/configmaps", "MODIFIED", new)

    def _on_create(self, rt: ResourceType, obj: Obj) -> None:
        if rt.key == "/pods":
            obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        elif rt.key == "/services":
            self.services.allocate(obj)
        elif rt.key == CRD_KEY:
            fins = obj["metadata"].setdefault("finalizers", [])
            if CRD_FINALIZER not in fins:
                fins.append(CRD_FINALIZER)
            obj["status"] = self._crd_status(obj)
        elif rt.key == NAMESPACE_KEY:
            obj["status"] = {"phase": "Active"}
        elif rt.key == "apps/deployments" or rt.key == "apps/replicasets":
            obj["status"] = {}

    def _crd_status(self, crd: Obj) -> Obj:
        spec = crd.get("spec") or {}
        t = now()
        versions = spec.get("versions") or []
        storage = [v["name"] for v in versions if v.get("storage")]
        names = dict(spec.get("names") or {})
        names.setdefault("singular", str(names.get("kind", "")).lower())
        names.setdefault("listKind", f"{names.get('kind', '')}List")
        return {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": t},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": t},
            ],
            "storedVersions": storage,
        }

    # -- update ---------------------------------------------------------------------------

    def update(self, rt: ResourceType, ns: str, name: str, body: Any, sub: str = "",
               dry_run: bool = False, opts: WriteOptions | None = None) -> Obj:
        ns = ns if rt.namespaced else ""
        if sub == "scale":
            return self._update_scale(rt, ns, name, body, dry_run)
        body = self._check_body(rt, body, ns)
        md = body["metadata"]
        if md.get("name") and md["name"] != name:
            raise errors.bad_request(f"the name of the object ({md['name']}) does not match "
                                     f"the name on the URL ({name})")
        md["name"] = name
        with self.store.lock:
            cur = self.store.get(rt.key, ns, name)
            if cur is None:
                raise errors.not_found(rt.plural, rt.group, name)
            want_rv = md.get("resourceVersion")
            if want_rv and want_rv != cur["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, rt.group, name)
            new = self._prepare_update(rt, cur, body, sub, opts)
            return rt.served(self.write_update(rt, cur, new, dry_run))

    def _prepare_update(self, rt: ResourceType, cur: Obj, body: Obj, sub: str,
                        opts: WriteOptions | None = None) -> Obj:
        cmd = cur["metadata"]
        if sub == "status":
            new = copy.deepcopy(cur)
            if "status" in body:
                new["status"] = body["status"]
            else:
                new.pop("status", None)
            if opts and opts.applying:
                new["metadata"]["managedFields"] = md_fields(body)
            if rt.custom:
                self._shape_custom(rt, new, opts)
                validate(rt, new)
            return new
        if sub == "finalize":
            new = copy.deepcopy(cur)
            new["spec"] = {**(cur.get("spec") or {}),
                           "finalizers": (body.get("spec") or {}).get("finalizers") or []}
            return new
        new = body
        md = new["metadata"]
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "generation", "namespace"):
            if k in cmd:
                md[k] = cmd[k]
            else:
                md.pop(k, None)
        if not (opts and opts.applying):
            md.pop("managedFields", None)
            if cmd.get("managedFields"):
                md["managedFields"] = copy.deepcopy(cmd["managedFields"])
        if rt.status_sub:
            if "status" in cur:
                new["status"] = copy.deepcopy(cur["status"])
            else:
                new.pop("status", None)
        if rt.key == NAMESPACE_KEY:
            # spec.finalizers only change through /finalize
            new["spec"] = {**(new.get("spec") or {}),
                           "finalizers": (cur.get("spec") or {}).get("finalizers", [])}
        apply_defaults(rt.kind, rt.group, new)
        if rt.key == "/services":
            self.services.keep(cur, new)
        self._shape_custom(rt, new, opts)
        validate(rt, new)
        if rt.key == CRD_KEY:
            new["status"] = {**self._crd_status(new),
                             "conditions": (cur.get("status") or {}).get("conditions", [])}
        return new

    def write_update(self, rt: ResourceType, cur: Obj, new: Obj, dry_run: bool = False) -> Obj:
        """Commit an update of ``cur`` (generation, finalizer completion, no-op detection)."""
        md = new["metadata"]
        if _content(new) != _content(cur) and tracks_generation(rt):
            md["generation"] = int(cur["metadata"].get("generation") or 1) + 1
        md["resourceVersion"] = cur["metadata"]["resourceVersion"]
        if _same(new, cur) or dry_run:
            return cur if _same(new, cur) else new
        if md.get("deletionTimestamp") and not md.get("finalizers") and not (
                rt.key == NAMESPACE_KEY and (new.get("spec") or {}).get("finalizers")):
            return self.store.commit(rt.key, "DELETED", new)
        return self.store.commit(rt.key, "MODIFIED", new)

    def _update_scale(self, rt: ResourceType, ns: str, name: str, body: Any,
                      dry_run: bool) -> Obj:
        if not isinstance(body, dict) or not isinstance(body.get("spec"), dict):
            raise errors.bad_request("the body must be an autoscaling/v1 Scale with spec")
        replicas = body["spec"].get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid("Scale", "autoscaling", name, [errors.invalid_value(
                "spec.replicas", replicas, "must be greater than or equal to 0")])
        with self.store.lock:
            cur = self.store.get(rt.key, ns, name)
            if cur is None:
                raise errors.not_found(rt.plural, rt.group, name)
            want_rv = (body.get("metadata") or {}).get("resourceVersion")
            if want_rv and want_rv != cur["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, rt.group, name)
            new = copy.deepcopy(cur)
            _set_path(new, rt.scale_paths[0], replicas)
            return self._scale_of(rt, rt.served(self.write_update(rt, cur, new, dry_run)))

    # -- patch ----------------------------------------------------------------------------

    def patch(self, rt: ResourceType, ns: str, name: str, raw: bytes, ctype: str,
              sub: str = "", dry_run: bool = False, opts: WriteOptions | None = None) -> Obj:
        ns = ns if rt.namespaced else ""
        if ctype == patching.APPLY and sub in ("", "status"):
            return self._apply(rt, ns, name, raw, sub, dry_run, opts or WriteOptions())
        with self.store.lock:
            cur = self.store.get(rt.key, ns, name)
            if cur is None:
                raise errors.not_found(rt.plural, rt.group, name)
            base = self._scale_of(rt, rt.served(cur)) if sub == "scale" else rt.served(cur)
            kind = "Scale" if sub == "scale" else rt.kind
            patched = patching.apply_patch(copy.deepcopy(base), raw, ctype, kind,
                                           rt.custom and sub != "scale")
            if sub == "scale":
                return self._update_scale(rt, ns, name, patched, dry_run)
            return self.update(rt, ns, name, patched, sub, dry_run, opts)

    def _apply(self, rt: ResourceType, ns: str, name: str, raw: bytes, sub: str,
               dry_run: bool, opts: WriteOptions) -> Obj:
        """Server-side apply (see ssa): create, or merge the applier's fields with ownership."""
        body = patching.decode(raw, patching.APPLY)
        if not isinstance(body, dict):
            raise errors.bad_request("apply patch must be a YAML or JSON object")
        body.setdefault("metadata", {})
        if not isinstance(body["metadata"], dict):
            raise errors.bad_request("metadata must be an object")
        body["metadata"]["name"] = name
        opts.applying = True
        with self.store.lock:
            cur = self.store.get(rt.key, ns, name)
            if cur is None:
                if sub:
                    raise errors.not_found(rt.plural, rt.group, name)
                if not opts.field_manager:
                    ssa.apply({}, body, "", False, rt.api_version)  # the missing-manager 400
                body["metadata"]["managedFields"] = [ssa.entry(
                    opts.field_manager, rt.api_version, ssa.leaf_paths(body))]
                return self.create(rt, ns, body, dry_run, opts)
            new = ssa.apply(rt.served(cur), body, opts.field_manager, opts.force,
                            rt.api_version, status=sub == "status")
            new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
            return self.update(rt, ns, name, new, sub, dry_run, opts)

    # -- delete ---------------------------------------------------------------------------

    def delete(self, rt: ResourceType, ns: str, name: str, opts: Obj,
               dry_run: bool = False) -> Obj:
        ns = ns if rt.namespaced else ""
        with self.store.lock:
            cur = self.store.get(rt.key, ns, name)
            if cur is None:
                raise errors.not_found(rt.plural, rt.group, name)
            pre = opts.get("preconditions") or {}
            cmd = cur["metadata"]
            if pre.get("uid") and pre["uid"] != cmd.get("uid"):
                raise errors.conflict(rt.plural, rt.group, name,
                                      f"Precondition failed: UID in precondition: {pre['uid']}, "
                                      f"UID in object meta: {cmd.get('uid')}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != cmd["resourceVersion"]:
                raise errors.conflict(rt.plural, rt.group, name,
                                      f"Precondition failed: ResourceVersion in precondition: "
                                      f"{pre['resourceVersion']}, ResourceVersion in object "
                                      f"meta: {cmd['resourceVersion']}")
            if rt.key == NAMESPACE_KEY and name in _UNDELETABLE_NAMESPACES:
                raise errors.forbidden(f'namespaces "{name}" is forbidden: this namespace may '
                                       f'not be deleted', {"name": name, "kind": "namespaces"})
            if dry_run:
                return rt.served(cur)
            policy = opts.get("propagationPolicy")
            if not policy and opts.get("orphanDependents") is not None:
                policy = "Orphan" if opts["orphanDependents"] else "Background"
            result = self.delete_object(rt.key, cur, policy or "Background")
        pending = self.store.get(rt.key, ns, name) is not None
        if pending or rt.custom or rt.key in _RETURNS_OBJECT_ON_DELETE:
            return rt.served(result)
        details: Obj = {"name": name, "kind": rt.plural, "uid": cmd.get("uid")}
        if rt.group:
            details["group"] = rt.group
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": details}

    def delete_object(self, key: str, cur: Obj, policy: str = "Background") -> Obj:
        """Delete now, or mark deleting when finalizers remain. Caller holds the lock."""
        cmd = cur["metadata"]
        if cmd.get("deletionTimestamp"):
            return cur
        new = copy.deepcopy(cur)
        md = new["metadata"]
        fins = list(md.get("finalizers") or [])
        if policy == "Orphan":
            self._orphan_dependents(cmd.get("uid", ""))
        elif policy == "Foreground" and FOREGROUND not in fins:
            fins.append(FOREGROUND)
        if key == NAMESPACE_KEY:
            new.setdefault("status", {})["phase"] = "Terminating"
            spec_fins = (new.get("spec") or {}).get("finalizers") or []
            if spec_fins or fins:
                md["deletionTimestamp"] = now()
                md["deletionGracePeriodSeconds"] = 0
                return self.store.commit(key, "MODIFIED", new)
        if fins:
            md["finalizers"] = fins
            md["deletionTimestamp"] = now()
            md["deletionGracePeriodSeconds"] = 0
            return self.store.commit(key, "MODIFIED", new)
        return self.store.commit(key, "DELETED", new)

    def _orphan_dependents(self, uid: str) -> None:
        for key in self.store.keys():
            for obj in self.store.list(key):
                refs = (obj.get("metadata") or {}).get("ownerReferences") or []
                if any(r.get("uid") == uid for r in refs):
                    new = copy.deepcopy(obj)
                    kept = [r for r in refs if r.get("uid") != uid]
                    if kept:
                        new["metadata"]["ownerReferences"] = kept
                    else:
                        new["metadata"].pop("ownerReferences", None)
                    self.store.commit(key, "MODIFIED", new)

    def remove_finalizer(self, key: str, obj: Obj, finalizer: str) -> None:
        """Drop one finalizer (the object goes when it was the last one). Lock held."""
        new = copy.deepcopy(obj)
        md = new["metadata"]
        md["finalizers"] = [f for f in md.get("finalizers") or [] if f != finalizer]
        if not md["finalizers"]:
            del md["finalizers"]
        rt = self.registry.storage_type(key)
        if rt is None:
            self.store.commit(key, "DELETED" if md.get("deletionTimestamp") else "MODIFIED", new)
            return
        self.write_update(rt, obj, new)

    def delete_collection(self, rt: ResourceType, ns: str | None, opts: Obj, label_sel: Any,
                          field_sel: Any, dry_run: bool = False) -> Obj:
        items, _ = self.list(rt, ns, label_sel, field_sel)
        deleted = []
        for item in items:
            md = item["metadata"]
            try:
                deleted.append(self.delete(rt, md.get("namespace", ""), md["name"],
                                           {k: v for k, v in opts.items()
                                            if k != "preconditions"}, dry_run))
            except errors.ApiException as e:
                if e.code != 404:
                    raise
        return {"kind": rt.list_kind, "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(self.store.rv)},
                "items": [d for d in deleted if d.get("kind") != "Status"]}


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
