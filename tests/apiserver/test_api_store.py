"""The store's write-ahead log: torn tails, compaction and the watch window survive restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from canary.sandbox.apiserver import store as store_mod
from canary.sandbox.apiserver.store import Store


def _cm(name: str, value: str = "1") -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
            "data": {"v": value}}


def test_a_torn_last_record_is_dropped_and_the_log_stays_usable(tmp_path: Path) -> None:
    s = Store(tmp_path)
    s.commit("/configmaps", "ADDED", _cm("a"))
    s.commit("/configmaps", "ADDED", _cm("b"))
    s.close()
    with open(tmp_path / "wal.jsonl", "ab") as f:
        f.write(b'{"rv": 3, "type": "ADDED", "key": "/configm')  # killed mid-write
    s = Store(tmp_path)
    assert [o["metadata"]["name"] for o in s.list("/configmaps")] == ["a", "b"]
    assert s.rv == 2
    s.commit("/configmaps", "MODIFIED", _cm("a", "2"))
    s.close()
    s = Store(tmp_path)
    assert s.get("/configmaps", "default", "a")["data"] == {"v": "2"}
    assert s.rv == 3


def test_compaction_keeps_objects_counter_and_watch_window(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "COMPACT_AFTER_LINES", 10)
    s = Store(tmp_path, history_size=5)
    for i in range(30):
        s.commit("/configmaps", "ADDED" if i == 0 else "MODIFIED", _cm("a", str(i)))
    s.commit("/configmaps", "DELETED", _cm("a", "29"))
    s.commit("/configmaps", "ADDED", _cm("b"))
    s.close()
    s = Store(tmp_path, history_size=5)  # snapshot + the log written after it
    assert (tmp_path / "snapshot.json").exists()
    assert s.rv == 32 and s.get("/configmaps", "default", "a") is None
    assert s.by_uid("uid-b") is not None
    with pytest.raises(ValueError):
        s.subscribe("/configmaps", _Sink(), 20)
    backlog, _ = s.subscribe("/configmaps", _Sink(), 30)
    assert [(e.rv, e.type) for e in backlog] == [(31, "DELETED"), (32, "ADDED")]
    s.commit("/configmaps", "MODIFIED", _cm("b", "2"))
    s.close()
    s = Store(tmp_path, history_size=5)
    assert s.rv == 33 and s.get("/configmaps", "default", "b")["data"] == {"v": "2"}


def test_a_long_session_compacts_while_running(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "COMPACT_AFTER_LINES", 10)
    s = Store(tmp_path)
    for i in range(25):
        s.commit("/configmaps", "ADDED", _cm(f"c{i}"))
    assert len((tmp_path / "wal.jsonl").read_text().splitlines()) < 10
    s.close()
    s = Store(tmp_path)
    assert len(s.list("/configmaps")) == 25 and s.rv == 25


class _Sink:
    def push(self, event: object) -> None:
        pass
