"""List + watch one resource into an in-memory cache, as client-go's informers do.

The watch resumes from the last resourceVersion it saw; a 410 Gone answer relists; an
unreachable API server is retried with back-off while the cache (and every pod) stays as is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from canary.kube.client import ApiError, ApiUnavailable, Gone, KubeClient, NotFound

from .objects import Key, Obj, key_of

log = logging.getLogger("canary.node")

Handler = Callable[[str, Obj, Obj | None], None]  # (type, obj, old)

WATCH_TIMEOUT = 240  # seconds a single watch request stays open before we re-watch


class Informer:
    def __init__(self, client: KubeClient, api_version: str, kind: str,
                 stop: threading.Event) -> None:
        self.client = client
        self.api_version = api_version
        self.kind = kind
        self.stop = stop
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

    def has_synced(self) -> bool:
        return self._synced.is_set()

    def write_through(self, obj: Obj) -> None:
        """Put what we just wrote into the cache so a controller does not act twice on a stale view.

        An older version arriving later from the watch never replaces a newer one.
        """
        self._apply("MODIFIED", obj, notify=False)

    def forget(self, key: Key) -> None:
        with self._lock:
            self._items.pop(key, None)

    # -- loop ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"informer-{self.kind}",
                                        daemon=True)
        self._thread.start()

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
                log.warning("%s not served by the API server: %s", self.kind, e.message)
                self.available = False
                self._synced.set()
                self.stop.wait(5.0)
                self.client.forget_resources()
            except (ApiUnavailable, ApiError, ValueError, OSError) as e:
                self._failures += 1
                if self._failures == 1 or self._failures % 30 == 0:  # one line per outage
                    log.warning("watch %s failed (%s); retrying", self.kind, e)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)

    def _recovered(self) -> None:
        if self._failures:
            log.info("watch %s: API server reachable again", self.kind)
            self._failures = 0

    def _relist(self) -> None:
        listing = self.client.list(self.api_version, self.kind)
        self.available = True
        fresh = {key_of(o): _with_kind(o, self.api_version, self.kind)
                 for o in listing.get("items", [])}
        with self._lock:
            old = self._items
            self._items = dict(fresh)
        for k, o in old.items():
            if k not in fresh:
                self._notify("DELETED", o, None)
        for k, o in fresh.items():
            self._notify("ADDED" if k not in old else "MODIFIED", o, old.get(k))
        self._rv = listing.get("metadata", {}).get("resourceVersion") or None
        if self._rv is None:
            self._rv = "0"
        self._synced.set()

    def _watch(self) -> None:
        for typ, obj in self.client.watch(self.api_version, self.kind,
                                          resource_version=self._rv,
                                          timeout_seconds=WATCH_TIMEOUT, bookmarks=True):
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
