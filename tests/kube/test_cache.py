"""The engine's watch-backed reader against a real sandbox API server: reads cost no requests
once the informer has listed, the engine reads its own writes at once, another writer's change
arrives by watch, a write on a stale copy gets 409 and refreshes the cache so the retry wins,
and reads are copies (editing one does not edit the cache)."""

from __future__ import annotations

import threading

import pytest
from support.apiserver import ApiServer
from support.poll import wait_for

from canary.kube.cache import CachedClient
from canary.kube.client import AlreadyExists, Conflict, KubeClient, NotFound, retry_on_conflict


@pytest.fixture
def server(tmp_path):
    s = ApiServer(tmp_path)
    s.start()
    yield s
    s.stop()


def _svc(name: str, port: int = 80) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {"selector": {"app": name}, "ports": [{"port": port}]}}


class Counting(KubeClient):
    def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*a, **kw)
        self.calls: list[tuple[str, str]] = []
        self.on_request = lambda verb, res, _code: self.calls.append((verb, res))


@pytest.fixture
def clients(server):
    other = KubeClient.from_kubeconfig(str(server.kubeconfig))
    base = Counting(KubeClient.from_kubeconfig(str(server.kubeconfig)).config)
    stop = threading.Event()
    cached = CachedClient(base, stop, "default")
    yield other, base, cached
    stop.set()


def test_reads_come_from_the_watch_and_writes_are_read_back_at_once(clients):
    other, base, cached = clients
    other.create(_svc("a"))
    assert cached.get("v1", "Service", "a", "default")["spec"]["ports"][0]["port"] == 80
    base.calls.clear()
    for _ in range(20):
        cached.get("v1", "Service", "a", "default")
        cached.items("v1", "Service", "default", label_selector="app=a")
    assert [c for c in base.calls if c[0] in ("get", "list")] == []

    # the engine's own write: visible on the next read, before any watch event
    svc = cached.get("v1", "Service", "a", "default")
    svc["spec"]["ports"][0]["port"] = 81
    cached.update(svc)
    assert cached.get("v1", "Service", "a", "default")["spec"]["ports"][0]["port"] == 81

    # someone else's write arrives through the watch
    cur = other.get("v1", "Service", "a", "default")
    cur["spec"]["ports"][0]["port"] = 82
    other.update(cur)
    wait_for("the watch event", lambda: cached.get("v1", "Service", "a", "default")
             ["spec"]["ports"][0]["port"] == 82, 5)

    # a read is a copy
    mine = cached.get("v1", "Service", "a", "default")
    mine["spec"]["ports"][0]["port"] = 1
    assert cached.get("v1", "Service", "a", "default")["spec"]["ports"][0]["port"] == 82
    assert [s["metadata"]["name"] for s in cached.items("v1", "Service", "default",
                                                          label_selector="app=a")] == ["a"]
    assert cached.items("v1", "Service", "default", label_selector="app=nope") == []


def test_a_write_on_a_stale_copy_conflicts_and_the_retry_reads_fresh(clients):
    other, base, cached = clients
    other.create(_svc("b"))
    stale = cached.get("v1", "Service", "b", "default")
    cur = other.get("v1", "Service", "b", "default")
    cur["metadata"].setdefault("annotations", {})["by"] = "other"
    other.update(cur)
    stale["spec"]["ports"][0]["port"] = 90
    with pytest.raises(Conflict):
        cached.update(stale)
    # the conflict refreshed the cache: the other writer's change is there without waiting
    fresh = cached.get("v1", "Service", "b", "default")
    assert fresh["metadata"]["annotations"]["by"] == "other"

    def write() -> dict:
        svc = cached.get("v1", "Service", "b", "default")
        svc["spec"]["ports"][0]["port"] = 91
        return cached.update(svc)

    retry_on_conflict(write)
    got = other.get("v1", "Service", "b", "default")
    assert got["spec"]["ports"][0]["port"] == 91
    assert got["metadata"]["annotations"]["by"] == "other"  # nothing of theirs overwritten


def test_missing_objects_deletes_and_creates(clients):
    other, base, cached = clients
    cached.get_or_none("v1", "Service", "warmup", "default")  # the informer has listed
    with pytest.raises(NotFound, match='services "c" not found'):
        cached.get("v1", "Service", "c", "default")
    other.create(_svc("c"))
    # created elsewhere: the watch brings it
    wait_for("the watch event", lambda: cached.get_or_none("v1", "Service", "c", "default"), 5)
    cached.delete("v1", "Service", "c", "default")
    assert cached.get_or_none("v1", "Service", "c", "default") is None
    cached.create(_svc("c"))
    assert cached.get_or_none("v1", "Service", "c", "default") is not None
    with pytest.raises(AlreadyExists):
        cached.create(_svc("c"))


def test_reads_outside_the_cache_go_to_the_api(clients):
    other, base, cached = clients
    other.create({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "cm", "namespace": "default"}, "data": {"k": "v"}})
    base.calls.clear()
    assert cached.get("v1", "ConfigMap", "cm", "default")["data"] == {"k": "v"}  # not cached
    other.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}})
    other.create(dict(_svc("d"), metadata={"name": "d", "namespace": "elsewhere"}))
    assert cached.get("v1", "Service", "d", "elsewhere")["metadata"]["name"] == "d"
    assert ("get", "configmaps") in base.calls and ("get", "services") in base.calls
