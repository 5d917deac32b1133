"""The shared informer against a real sandbox API server: it fills its cache, follows changes,
resumes a watch from the last resourceVersion, relists on 410 Gone telling DELETED for what
vanished meanwhile, and falls back through API versions."""

from __future__ import annotations

import threading

import pytest
from support.apiserver import ApiServer
from support.poll import wait_for

from canary.kube.client import KubeClient
from canary.kube.informer import Informer


@pytest.fixture
def server(tmp_path):
    s = ApiServer(tmp_path, history=5)
    s.start()
    yield s
    s.stop()


def _cm(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}, "data": {"k": name}}


ROOT_CA = "kube-root-ca.crt"  # every namespace has it, as on a real cluster


def _record(inf: Informer) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    inf.add_handler(lambda typ, obj, _old: seen.append((typ, obj["metadata"]["name"])))
    return seen


def _names(inf: Informer) -> set[str]:
    return {o["metadata"]["name"] for o in inf.list()} - {ROOT_CA}


def test_cache_follows_changes_and_a_gone_watch_relists_with_deletes(server):
    client = KubeClient.from_kubeconfig(str(server.kubeconfig))
    client.create(_cm("kept"))
    client.create(_cm("doomed"))
    stop = threading.Event()
    inf = Informer(client, "v1", "ConfigMap", stop, "default", watch_timeout=1)
    seen = _record(inf)
    inf.start()
    wait_for("the first list", inf.has_synced, 5)
    assert _names(inf) == {"kept", "doomed"}
    client.create(_cm("new"))
    wait_for("the ADDED event", lambda: ("ADDED", "new") in seen, 5)
    assert inf.get(("default", "new"))["data"] == {"k": "new"}

    # Disconnected while more changes happen than the server's watch window holds: on its
    # return the informer's resourceVersion is too old, it relists and reports the deletion.
    stop.set()
    inf.join(5)
    client.delete("v1", "ConfigMap", "doomed", "default")
    for i in range(8):
        client.create(_cm(f"filler-{i}"))
    seen.clear()
    inf.stop = threading.Event()
    inf.start()
    wait_for("the DELETED from the relist", lambda: ("DELETED", "doomed") in seen, 5)
    assert inf.get(("default", "doomed")) is None
    assert ("ADDED", "filler-7") in seen
    inf.stop.set()


def test_a_reconnecting_watch_resumes_instead_of_relisting(server):
    client = KubeClient.from_kubeconfig(str(server.kubeconfig))
    stop = threading.Event()
    inf = Informer(client, "v1", "ConfigMap", stop, "default", watch_timeout=1)
    relists: list[int] = []
    inf.add_sync_handler(lambda items: relists.append(
        len([o for o in items if o["metadata"]["name"] != ROOT_CA])))
    seen = _record(inf)
    inf.start()
    wait_for("the first list", inf.has_synced, 5)
    for i in range(3):  # each watch request ends after 1 s; changes between are not lost
        client.create(_cm(f"cm-{i}"))
        wait_for(f"cm-{i}", lambda i=i: ("ADDED", f"cm-{i}") in seen, 5)
        stop.wait(1.2)
    assert relists == [0]
    stop.set()


def test_versions_fall_back_and_an_unserved_kind_is_an_empty_synced_cache(server):
    client = KubeClient.from_kubeconfig(str(server.kubeconfig))
    stop = threading.Event()
    routes = Informer(client, ("gateway.networking.k8s.io/v1", "example.com/v9"), "Widget",
                      stop, retry=0.2).start()
    wait_for("an empty, synced cache", routes.has_synced, 5)
    assert routes.list() == [] and not routes.available
    stop.set()
