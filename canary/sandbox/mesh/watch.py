"""The mesh's view of the cluster: one shared informer per kind keeps the MeshState in step.

A relist replaces a kind's objects wholesale; watch events apply one by one. A kind the server
does not serve yet (HTTPRoute before its CRD) is an empty, synced list: routing proceeds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from canary.kube.client import KubeClient
from canary.kube.informer import Informer
from canary.router.gatewayapi import HTTPROUTE_VERSIONS
from canary.sandbox.mesh.state import MeshState

# kind -> apiVersions to try, in order (the first one served is used: they share storage).
WATCHED: dict[str, tuple[str, ...]] = {
    "Service": ("v1",),
    "Endpoints": ("v1",),
    "Pod": ("v1",),
    "Namespace": ("v1",),
    "HTTPRoute": HTTPROUTE_VERSIONS,
}


def start_watchers(connect: Callable[[], KubeClient], state: MeshState,
                   stop: threading.Event) -> list[Informer]:
    """One informer per kind; ``connect`` makes a client (again after a 401)."""
    informers = []
    for kind, versions in WATCHED.items():
        inf = Informer(connect(), versions, kind, stop, watch_timeout=60, retry=0.5,
                       reconnect=connect, notify_relist=False)
        inf.add_sync_handler(lambda items, kind=kind: state.replace(kind, items))
        inf.add_handler(lambda typ, obj, _old, kind=kind: state.apply(kind, typ, obj))
        informers.append(inf.start())
    return informers
