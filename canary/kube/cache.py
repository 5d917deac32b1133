"""Watch-backed reads for the engine: a KubeClient whose get/list come from informers.

The engine's loops read the same objects every tick; a watch delivers each change once, so
reads are served from one shared :class:`Informer` per kind (started on the first read of that
kind, as client-go's shared informer factory does) and only writes reach the API server.

- Write-through: what a write returns is put into the cache at once, so the next read (this
  tick or the next) sees the engine's own write without waiting for the watch event.
- Stale reads never win: a 409 Conflict (or AlreadyExists) refreshes that one object from the
  API before the error reaches the caller, whose retry (``retry_on_conflict``, the tick's own
  retry) then reads the fresh copy.
- Reads get a copy: callers edit what they read before writing it back.
- A kind the server does not serve, a namespace outside the engine's scope, a selector other
  than ``k=v`` equality, or a cache not synced in time is read from the API as before.

Nothing lives only here: the cache is rebuilt from a list on start, so restarts are unchanged.
"""

from __future__ import annotations

import pickle
import threading
from typing import Any

from canary.kube.client import AlreadyExists, Conflict, KubeClient, NotFound, Obj
from canary.kube.informer import Informer

# what the Flagger and Argo loops read (Pods are read by neither)
CACHED_KINDS: frozenset[tuple[str, str]] = frozenset({
    ("flagger.app/v1beta1", "Canary"),
    ("flagger.app/v1beta1", "MetricTemplate"),
    ("argoproj.io/v1alpha1", "Rollout"),
    ("argoproj.io/v1alpha1", "AnalysisTemplate"),
    ("argoproj.io/v1alpha1", "ClusterAnalysisTemplate"),
    ("argoproj.io/v1alpha1", "AnalysisRun"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("v1", "Service"),
    ("gateway.networking.k8s.io/v1beta1", "HTTPRoute"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
})

SYNC_TIMEOUT = 30.0  # wall seconds a first read waits for its informer's list


def copy_obj(obj: Obj) -> Obj:
    """A deep copy of a JSON object (pickle is the fastest deep copy of plain data)."""
    return pickle.loads(pickle.dumps(obj, pickle.HIGHEST_PROTOCOL))


def _selector(text: str | None) -> dict[str, str] | None:
    """``a=b,c=d`` as a dict; None for anything else (set-based selectors go to the API)."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for part in text.split(","):
        k, eq, v = part.partition("=")
        if not eq or v.startswith("=") or k.endswith("!") or not k.strip():
            return None
        out[k.strip()] = v.strip()
    return out


class CachedClient(KubeClient):
    """``base`` carries every request (so its ``on_request`` counts them all); ``namespace``
    is the engine's scope (None: the whole cluster)."""

    def __init__(self, base: KubeClient, stop: threading.Event, namespace: str | None = None,
                 kinds: frozenset[tuple[str, str]] = CACHED_KINDS,
                 sync_timeout: float = SYNC_TIMEOUT) -> None:
        super().__init__(base.config, base.timeout)
        self.base = base
        self.stop = stop
        self.namespace = namespace
        self.kinds = kinds
        self.sync_timeout = sync_timeout
        self._informers: dict[tuple[str, str], Informer] = {}
        self._informers_lock = threading.Lock()

    # -- transport: all of it is the base client's ----------------------------------------

    def request(self, method: str, path: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self.base.request(method, path, **kw)

    def resource(self, api_version: str, kind: str):  # type: ignore[no-untyped-def]
        return self.base.resource(api_version, kind)

    def forget_resources(self) -> None:
        self.base.forget_resources()

    # -- informers ---------------------------------------------------------------------------

    def informer(self, api_version: str, kind: str) -> Informer | None:
        """The shared informer of a cached kind (started on first use), else None."""
        key = (api_version, kind)
        if key not in self.kinds:
            return None
        with self._informers_lock:
            inf = self._informers.get(key)
            if inf is None:
                inf = Informer(self.base, api_version, kind, self.stop, self.namespace)
                self._informers[key] = inf
                inf.start()
        return inf

    def _serving(self, api_version: str, kind: str, namespace: str | None
                 ) -> tuple[Informer, str] | None:
        """The informer and cache namespace key that can answer this read, or None."""
        inf = self.informer(api_version, kind)
        if inf is None:
            return None
        namespaced = self.base.resource(api_version, kind).namespaced
        if namespaced:
            if not namespace or (self.namespace and namespace != self.namespace):
                return None
        if not inf.wait_synced(self.sync_timeout) or not inf.available:
            return None
        return inf, (namespace or "") if namespaced else ""

    # -- reads -------------------------------------------------------------------------------

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj:
        serving = self._serving(api_version, kind, namespace)
        if serving is None:
            return super().get(api_version, kind, name, namespace)
        inf, ns = serving
        obj = inf.get((ns, name))
        if obj is None:
            r = self.base.resource(api_version, kind)
            what = f"{r.plural}.{r.group}" if r.group else r.plural
            raise NotFound(404, "NotFound", f'{what} "{name}" not found')
        return copy_obj(obj)

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             label_selector: str | None = None, field_selector: str | None = None) -> Obj:
        want = _selector(label_selector)
        serving = None
        if want is not None and not field_selector:
            if namespace:
                serving = self._serving(api_version, kind, namespace)
            elif self.namespace is None:  # all namespaces: only a cluster-wide cache has them
                serving = self._serving_all(api_version, kind)
        if serving is None:
            return super().list(api_version, kind, namespace, label_selector, field_selector)
        inf, ns = serving
        items = [copy_obj(o) for o in inf.list(ns or None)
                 if all(((o.get("metadata") or {}).get("labels") or {}).get(k) == v
                        for k, v in (want or {}).items())]
        return {"apiVersion": api_version, "kind": f"{kind}List", "metadata": {},
                "items": items}

    def _serving_all(self, api_version: str, kind: str) -> tuple[Informer, str] | None:
        """A cluster-wide list from a cluster-wide informer."""
        inf = self.informer(api_version, kind)
        if inf is None or not inf.wait_synced(self.sync_timeout) or not inf.available:
            return None
        return inf, ""

    # -- writes: through the API, then into the cache ---------------------------------------

    def _through(self, obj: Obj) -> Obj:
        inf = self._informers.get((obj.get("apiVersion", ""), obj.get("kind", "")))
        if inf is not None and isinstance(obj.get("metadata"), dict):
            inf.write_through(copy_obj(obj))
        return obj

    def _refresh(self, api_version: str, kind: str, name: str, namespace: str | None) -> None:
        """Replace one cached object by the API's current one (after a conflict)."""
        inf = self._informers.get((api_version, kind))
        if inf is None:
            return
        try:
            self._through(super().get(api_version, kind, name, namespace))
        except NotFound:
            namespaced = self.base.resource(api_version, kind).namespaced
            inf.forget(((namespace or "") if namespaced else "", name))

    def create(self, obj: Obj, namespace: str | None = None) -> Obj:
        try:
            return self._through(super().create(obj, namespace))
        except AlreadyExists:
            md = obj.get("metadata") or {}
            self._refresh(obj["apiVersion"], obj["kind"], md.get("name", ""),
                          namespace or md.get("namespace"))
            raise

    def update(self, obj: Obj, subresource: str = "") -> Obj:
        try:
            return self._through(super().update(obj, subresource))
        except Conflict:
            md = obj["metadata"]
            self._refresh(obj["apiVersion"], obj["kind"], md["name"], md.get("namespace"))
            raise

    def patch(self, api_version: str, kind: str, name: str, patch: Any,
              namespace: str | None = None, patch_type: str = "merge",
              subresource: str = "") -> Obj:
        try:
            out = super().patch(api_version, kind, name, patch, namespace, patch_type,
                                subresource)
        except Conflict:
            self._refresh(api_version, kind, name, namespace)
            raise
        out.setdefault("apiVersion", api_version)
        out.setdefault("kind", kind)
        return self._through(out)

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None,
               propagation: str | None = None) -> Obj | None:
        out = super().delete(api_version, kind, name, namespace, propagation)
        inf = self._informers.get((api_version, kind))
        if inf is not None and out is not None and \
                ((out.get("metadata") or {}).get("deletionTimestamp")):
            self._through(dict(out, apiVersion=api_version, kind=kind))  # finalizers hold it
        elif inf is not None:
            namespaced = self.base.resource(api_version, kind).namespaced
            inf.forget(((namespace or "") if namespaced else "", name))
        return out


def shared_informer(client: KubeClient, api_version: str, kind: str, stop: threading.Event,
                    namespace: str | None = None, **kw: Any) -> Informer:
    """The cache's informer of a kind when ``client`` is cached (one watch per kind for the
    whole engine), else a new, started informer of its own."""
    if isinstance(client, CachedClient):
        inf = client.informer(api_version, kind)
        if inf is not None and client.namespace == namespace:
            return inf
    base = client.base if isinstance(client, CachedClient) else client
    return Informer(base, api_version, kind, stop, namespace, **kw).start()
