"""List + watch loops that keep the MeshState in step with the API server.

One thread per kind: list, then watch from the list's resourceVersion; relist on 410 Gone; retry
while the API server is unreachable or the kind is not served yet (HTTPRoute before its CRD is
installed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from canary.kube.client import ApiError, ApiUnavailable, Gone, KubeClient, NotFound
from canary.router.gatewayapi import HTTPROUTE_VERSIONS
from canary.sandbox.mesh.state import MeshState

log = logging.getLogger("canary.mesh")

# kind -> apiVersions to try, in order (the first one served is used: they share storage).
WATCHED: dict[str, tuple[str, ...]] = {
    "Service": ("v1",),
    "Endpoints": ("v1",),
    "Pod": ("v1",),
    "Namespace": ("v1",),
    "HTTPRoute": HTTPROUTE_VERSIONS,
}


class Watcher(threading.Thread):
    def __init__(self, connect: Callable[[], KubeClient], state: MeshState, kind: str,
                 stop: threading.Event, retry: float = 0.5) -> None:
        super().__init__(daemon=True, name=f"watch-{kind}")
        self.connect = connect
        self.client = connect()
        self.state = state
        self.kind = kind
        self.stop = stop
        self.retry = retry

    def _api_version(self) -> str | None:
        for api_version in WATCHED[self.kind]:
            try:
                self.client.resource(api_version, self.kind)
                return api_version
            except NotFound:
                continue
        return None

    def run(self) -> None:
        warned = False
        while not self.stop.is_set():
            try:
                api_version = self._api_version()
                if api_version is None:
                    if not warned:
                        log.info("%s is not served (yet); waiting for its CRD", self.kind)
                        warned = True
                        # "Not served" is an empty, synced list: routing proceeds without it.
                        self.state.replace(self.kind, [])
                    self.stop.wait(self.retry)
                    continue
                warned = False
                self._list_and_watch(api_version)
            except Gone:
                log.info("watch on %s expired; relisting", self.kind)
            except ApiUnavailable as e:
                log.warning("%s: %s; retrying", self.kind, e)
                self.stop.wait(self.retry)
            except ApiError as e:
                log.warning("%s: %s; retrying", self.kind, e)
                if e.code == 401:
                    # The API server restarted with a new token: read the kubeconfig again.
                    self.client = self._reconnect()
                self.client.forget_resources()
                self.stop.wait(self.retry)
            except Exception:  # keep the mesh alive whatever a watch does
                log.exception("watch on %s failed; retrying", self.kind)
                self.stop.wait(self.retry)

    def _reconnect(self) -> KubeClient:
        try:
            return self.connect()
        except ApiUnavailable as e:
            log.warning("%s: %s", self.kind, e)
            return self.client

    def _list_and_watch(self, api_version: str) -> None:
        listing = self.client.list(api_version, self.kind)
        self.state.replace(self.kind, listing.get("items") or [])
        rv = (listing.get("metadata") or {}).get("resourceVersion")
        while not self.stop.is_set():
            for event_type, obj in self.client.watch(api_version, self.kind, resource_version=rv,
                                                      timeout_seconds=60, bookmarks=True):
                rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                if event_type == "BOOKMARK":
                    continue
                self.state.apply(self.kind, event_type, obj)
                if self.stop.is_set():
                    return


def start_watchers(connect: Callable[[], KubeClient], state: MeshState,
                   stop: threading.Event) -> list[Watcher]:
    """One watcher per kind; ``connect`` makes a client (again after a 401)."""
    watchers = [Watcher(connect, state, kind, stop) for kind in WATCHED]
    for w in watchers:
        w.start()
    return watchers
