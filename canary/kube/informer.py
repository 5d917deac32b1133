"""List + watch one resource into an in-memory cache, as client-go's informers do. The one
informer of the project: the node agent's controllers, the mesh, the harness's recorder and the
engine loops all read through it.

The watch resumes from the last resourceVersion it saw; a 410 Gone answer relists, and a relist
tells handlers ``DELETED`` for every cached object that is gone; an unreachable API server is
retried with back-off while the cache stays as it is, with one log line per outage. A kind the
server does not serve (an HTTPRoute before its CRD) counts as an empty, synced list until it is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from canary.kube.client import ApiError, ApiUnavailable, Gone, KubeClient, NotFound

log = logging.getLogger("canary.informer")

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)
Handler = Callable[[str, Obj, Obj | None], None]  # (type, obj, old)
SyncHandler = Callable[[list[Obj]], None]  # the whole list after each (re)list

WATCH_TIMEOUT = 240  # seconds a single watch request stays open before we re-watch


def key_of(obj: Obj) -> Key:
    md = obj.get("metadata", {})
    return (md.get("namespace") or "", md.get("name") or "")


class Informer:
    """``api_version`` may be a tuple: the first version the server serves is used (they share
    storage). ``namespace`` limits the informer to one namespace; ``reconnect`` makes a new
    client after a 401 (the API server restarted with a new token). A relist tells the sync
    handlers the whole list, then the event handlers each change (unless ``notify_relist`` is
    off, for a consumer whose sync handler replaces its state wholesale)."""

    def __init__(self, client: KubeClient, api_version: str | tuple[str, ...], kind: str,
                 stop: threading.Event, namespace: str | None = None, *,
                 watch_timeout: int = WATCH_TIMEOUT, retry: float = 2.0,
                 reconnect: Callable[[], KubeClient] | None = None,
                 notify_relist: bool = True) -> None:
        self.client = client
        self.versions = (api_version,) if isinstance(api_version, str) else tuple(api_version)
        self.api_version = self.versions[0]
        self.kind = kind
        self.stop = stop
        self.namespace = namespace
        self.watch_timeout = watch_timeout
        self.retry = retry
        self.reconnect = reconnect
        self.notify_relist = notify_relist  # False: a relist reaches only the sync handlers
        self._sync_handlers: list[SyncHandler] = []
        self._lock = threading.Lock()
        self._items: dict[Key, Obj] = {}
        self._handlers: list[Handler] = []
        self._synced = threading.Event()
        self._rv: str | None = None
        self._thread: threading.Thread | None = None
        self.available = True  # False when the server does not serve the kind
        self._failures = 0

    # -- cache -----------------------------------------------------------------------------

    def get(self, key: Key) -> Obj | None:
        with self._lock:
            return self._items.get(key)

    def list(self, namespace: str | None = None) -> list[Obj]:
        with self._lock:
            return [o for k, o in self._items.items() if namespace is None or k[0] == namespace]

    def add_handler(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def add_sync_handler(self, handler: SyncHandler) -> None:
        self._sync_handlers.append(handler)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    def wait_synced(self, timeout: float) -> bool:
        """Wait (wall seconds) for the first list; whether it has arrived."""
        return self._synced.wait(timeout)

    def write_through(self, obj: Obj) -> None:
        """Put what we just wrote into the cache so a controller does not act twice on a stale view.

        An older version arriving later from the watch never replaces a newer one.
        """
        self._apply("MODIFIED", obj, notify=False)

    def forget(self, key: Key) -> None:
        with self._lock:
            self._items.pop(key, None)

    # -- loop ------------------------------------------------------------------------------

    def start(self) -> Informer:
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.kind}",
                                        daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        backoff = 0.1
        while not self.stop.is_set():
            try:
                if self._rv is None:
                    self._relist()
                    self._recovered()
                    backoff = 0.1
                started = time.monotonic()
                self._watch()
                backoff = 0.1
                if time.monotonic() - started < 0.05:
                    self.stop.wait(0.1)  # a server that ends watches at once must not make us spin
            except Gone:
                log.info("watch %s: resourceVersion %s too old, relisting", self.kind, self._rv)
                self._rv = None
            except NotFound as e:
                self._not_served(e)
            except (ApiUnavailable, ApiError, ValueError, OSError) as e:
                if self.stop.is_set():
                    return  # stopping: the server going away with us is not an outage
                self._failures += 1
                if self._failures == 1 or self._failures % 30 == 0:  # one line per outage
                    log.warning("watch %s failed (%s); retrying", self.kind, e)
                if isinstance(e, ApiError) and e.code == 401 and self.reconnect is not None:
                    try:
                        self.client = self.reconnect()
                    except ApiUnavailable:
                        pass
                self.stop.wait(backoff)
                backoff = min(backoff * 2, self.retry)

    def _not_served(self, e: NotFound) -> None:
        """Try the next API version; when none is served, an empty synced cache, retried."""
        i = self.versions.index(self.api_version)
        self._rv = None
        self.client.forget_resources()
        if i + 1 < len(self.versions):
            self.api_version = self.versions[i + 1]
            return
        self.api_version = self.versions[0]
        if self.available or not self._synced.is_set():
            log.info("%s not served by the API server (yet): %s", self.kind, e.message)
            self.available = False
            self._replace([])
        self.stop.wait(self.retry)

    def _recovered(self) -> None:
        if self._failures:
            log.info("watch %s: API server reachable again", self.kind)
            self._failures = 0

    def _relist(self) -> None:
        listing = self.client.list(self.api_version, self.kind, self.namespace)
        self.available = True
        self._replace(listing.get("items", []))
        self._rv = listing.get("metadata", {}).get("resourceVersion") or "0"

    def _replace(self, items: list[Obj]) -> None:
        fresh = {key_of(o): _with_kind(o, self.api_version, self.kind) for o in items}
        with self._lock:
            old = self._items
            for k, o in old.items():
                # a write-through newer than the list (written while it was in flight) stays
                f = fresh.get(k)
                if f is not None and _uid(f) == _uid(o) and _rv_int(o) > _rv_int(f):
                    fresh[k] = o
            self._items = dict(fresh)
        for h in self._sync_handlers:
            try:
                h(list(fresh.values()))
            except Exception:  # a handler bug must not kill the watch
                log.exception("sync handler for %s failed", self.kind)
        if not self.notify_relist:
            self._synced.set()
            return
        for k, o in old.items():
            if k not in fresh:
                self._notify("DELETED", o, None)
        for k, o in fresh.items():  # every listed object, as a resync after a gap
            self._notify("ADDED" if k not in old else "MODIFIED", o, old.get(k))
        self._synced.set()

    def _watch(self) -> None:
        for typ, obj in self.client.watch(self.api_version, self.kind, self.namespace,
                                          resource_version=self._rv,
                                          timeout_seconds=self.watch_timeout, bookmarks=True):
            if self.stop.is_set():
                return
            rv = obj.get("metadata", {}).get("resourceVersion")
            if rv:
                self._rv = rv
            self._recovered()
            if typ == "BOOKMARK":
                continue
            self._apply(typ, _with_kind(obj, self.api_version, self.kind), notify=True)

    def _apply(self, typ: str, obj: Obj, notify: bool) -> None:
        k = key_of(obj)
        with self._lock:
            old = self._items.get(k)
            if typ == "DELETED":
                if old is not None and _uid(old) != _uid(obj):
                    return  # a newer object of the same name replaced it already
                self._items.pop(k, None)
            else:
                if old is not None and _uid(old) == _uid(obj) and _rv_int(old) > _rv_int(obj):
                    return
                self._items[k] = obj
        if notify:
            self._notify(typ, obj, old)

    def _notify(self, typ: str, obj: Obj, old: Obj | None) -> None:
        for h in self._handlers:
            try:
                h(typ, obj, old)
            except Exception:  # a handler bug must not kill the watch
                log.exception("handler for %s %s failed", self.kind, key_of(obj))


def _uid(o: Obj) -> str:
    return o.get("metadata", {}).get("uid", "")


def _rv_int(o: Obj) -> int:
    try:
        return int(o.get("metadata", {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def _with_kind(o: Obj, api_version: str, kind: str) -> Obj:
    o.setdefault("apiVersion", api_version)
    o.setdefault("kind", kind)
    return o
