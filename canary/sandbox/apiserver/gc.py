"""Background controllers inside the server: garbage collection, namespace and CRD cleanup.

One thread, woken right after any deletion or ownerReference change (and every few seconds as
a safety net), so owned objects go within milliseconds, as clients expect within ~1 s.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from . import namespaces
from .api import CRD_FINALIZER, FOREGROUND, Api
from .resources import CRD_KEY, NAMESPACE_KEY

log = logging.getLogger("apiserver.gc")
Obj = dict[str, Any]


class Collector:
    def __init__(self, api: Api, safety_interval: float = 5.0) -> None:
        self.api = api
        self.store = api.store
        self.safety_interval = safety_interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gc", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.api.gc_wakeup.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.api.gc_wakeup.wait(self.safety_interval)
            self.api.gc_wakeup.clear()
            try:
                # Each pass may delete more (cascades); repeat until nothing changes.
                for _ in range(50):
                    if not self.run_once():
                        break
            except Exception:  # a bug here must not kill the collector
                log.exception("garbage collection pass failed")

    def run_once(self) -> bool:
        """One pass; True when something changed."""
        with self.store.lock:
            rv = self.store.rv
            self._collect_orphans()
            self._finish_foreground()
            self._clean_namespaces()
            self._fill_namespaces()
            self._clean_crds()
            return self.store.rv != rv

    def _all(self) -> list[tuple[str, Obj]]:
        return [(key, obj) for key in self.store.keys() for obj in self.store.list(key)]

    def _collect_orphans(self) -> None:
        for key, obj in self._all():
            md = obj.get("metadata") or {}
            refs = md.get("ownerReferences") or []
            if not refs or md.get("deletionTimestamp"):
                continue
            owners = [self.store.by_uid(r.get("uid", "")) for r in refs]
            if all(o is None for o in owners):
                self.api.delete_object(key, obj, "Background")
                continue
            for o in owners:
                if o is not None and FOREGROUND in (o["metadata"].get("finalizers") or []) \
                        and o["metadata"].get("deletionTimestamp"):
                    self.api.delete_object(key, obj, "Foreground")
                    break

    def _finish_foreground(self) -> None:
        blocking: set[str] = set()
        waiting = []
        for key, obj in self._all():
            md = obj["metadata"]
            if md.get("deletionTimestamp") and FOREGROUND in (md.get("finalizers") or []):
                waiting.append((key, obj))
            for r in md.get("ownerReferences") or []:
                if r.get("blockOwnerDeletion"):
                    blocking.add(r.get("uid", ""))
        for key, obj in waiting:
            if obj["metadata"].get("uid") not in blocking:
                self.api.remove_finalizer(key, obj, FOREGROUND)

    def _clean_namespaces(self) -> None:
        for ns in self.store.list(NAMESPACE_KEY):
            md = ns["metadata"]
            if not md.get("deletionTimestamp"):
                continue
            name = md["name"]
            remaining = 0
            for key in self.store.keys():
                for obj in self.store.list(key, name):
                    if obj["metadata"].get("namespace") != name:
                        continue
                    remaining += 1
                    self.api.delete_object(key, obj, "Background")
            if remaining:
                self._report_remaining(ns, name)
                continue
            spec_fins = (ns.get("spec") or {}).get("finalizers") or []
            if "kubernetes" in spec_fins:
                new = {**ns, "metadata": dict(md),
                       "spec": {**ns.get("spec", {}),
                                "finalizers": [f for f in spec_fins if f != "kubernetes"]}}
                ns_type = self.api.registry.storage_type(NAMESPACE_KEY)
                assert ns_type is not None
                self.api.write_update(ns_type, ns, new)

    def _report_remaining(self, ns: Obj, name: str) -> None:
        left = [(key, obj) for key in self.store.keys() for obj in self.store.list(key, name)
                if obj["metadata"].get("namespace") == name]
        status = ns.get("status") or {}
        conds = namespaces.terminating_conditions(left, status.get("conditions") or [])
        if conds != status.get("conditions"):
            new = {**ns, "metadata": dict(ns["metadata"]), "status": {**status,
                                                                      "conditions": conds}}
            self.store.commit(NAMESPACE_KEY, "MODIFIED", new)

    def _fill_namespaces(self) -> None:
        for ns in self.store.list(NAMESPACE_KEY):
            if not ns["metadata"].get("deletionTimestamp"):
                self.api.fill_namespace(ns["metadata"]["name"])

    def _clean_crds(self) -> None:
        for crd in self.store.list(CRD_KEY):
            md = crd["metadata"]
            if not md.get("deletionTimestamp") or CRD_FINALIZER not in (md.get("finalizers")
                                                                        or []):
                continue
            spec = crd.get("spec") or {}
            key = f"{spec.get('group', '')}/{(spec.get('names') or {}).get('plural', '')}"
            objs = self.store.list(key)
            for obj in objs:
                self.api.delete_object(key, obj, "Background")
            if not objs:
                self.api.remove_finalizer(CRD_KEY, crd, CRD_FINALIZER)
