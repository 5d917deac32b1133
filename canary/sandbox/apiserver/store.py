"""Objects, the global resourceVersion counter, the watch history and its durability.

Every change is one event (rv, type, storage key, object). An event is appended to a
write-ahead log and fsynced before the change becomes visible, so an acknowledged write
survives SIGKILL. On start the snapshot plus the log rebuild the objects and the counter; the
server then begins a new watch window (``start_window``), as kube-apiserver's watch cache does
after a restart. A large log is compacted into a new snapshot.

Stored objects are never mutated in place: writers always commit a fresh dict, so readers can
serialize what they got without holding the lock.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger("apiserver.store")

Obj = dict[str, Any]
COMPACT_AFTER_LINES = 50000


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    key: str  # storage key "group/plural"
    obj: Obj
    old: Obj | None  # the previous state (to notice objects leaving a selector)


class StoreBusy(RuntimeError):
    pass


class Subscriber(Protocol):
    def push(self, event: Event) -> None: ...


def _md(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


class Store:
    def __init__(self, directory: Path, history_size: int = 10000) -> None:
        self.dir = directory
        self.lock = threading.RLock()
        self.history_size = history_size
        self.objects: dict[str, dict[tuple[str, str], Obj]] = defaultdict(dict)
        self.uids: dict[str, tuple[str, str, str]] = {}
        self.rv = 0
        self.history: deque[Event] = deque()
        self.history_floor = 0  # every event with rv > floor is in history
        self._subs: dict[str, set[Subscriber]] = defaultdict(set)
        self._listeners: list[Callable[[Event], None]] = []
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.dir / "store.lock", "w")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise StoreBusy(f"another API server is using {self.dir}") from None
        self._wal_path = self.dir / "wal.jsonl"
        self._snap_path = self.dir / "snapshot.json"
        self._load()
        self._wal = open(self._wal_path, "ab")  # noqa: SIM115 - lives as long as the store

    # -- reads ------------------------------------------------------------------------------

    def get(self, key: str, namespace: str, name: str) -> Obj | None:
        with self.lock:
            return self.objects[key].get((namespace, name))

    def list(self, key: str, namespace: str | None = None) -> list[Obj]:
        with self.lock:
            objs = self.objects[key]
            if namespace is None:
                items = list(objs.items())
            else:
                items = [(k, o) for k, o in objs.items() if k[0] == namespace]
        return [o for _k, o in sorted(items, key=lambda kv: kv[0])]

    def by_uid(self, uid: str) -> Obj | None:
        with self.lock:
            loc = self.uids.get(uid)
            return self.objects[loc[0]].get((loc[1], loc[2])) if loc else None

    def keys(self) -> list[str]:
        with self.lock:
            return [k for k, v in self.objects.items() if v]

    # -- writes -----------------------------------------------------------------------------

    def commit(self, key: str, etype: str, obj: Obj) -> Obj:
        """Persist and publish one change; ``obj`` gets the next resourceVersion.

        ``obj`` must be a fresh dict the caller no longer touches.
        """
        with self.lock:
            md = obj.setdefault("metadata", {})
            loc = (md.get("namespace", ""), md["name"])
            old = self.objects[key].get(loc)
            self.rv += 1
            md["resourceVersion"] = str(self.rv)
            line = json.dumps({"rv": self.rv, "type": etype, "key": key, "object": obj},
                              separators=(",", ":")) + "\n"
            self._wal.write(line.encode())
            self._wal.flush()
            os.fsync(self._wal.fileno())
            self._wal_lines += 1
            ev = self._apply(Event(self.rv, etype, key, obj, old))
            if self._wal_lines > COMPACT_AFTER_LINES:
                # bound the log in long sessions; the append handle continues at the new end
                self._compact()
            for sub in list(self._subs.get(key, ())):
                sub.push(ev)
            for fn in self._listeners:
                fn(ev)
            return obj

    def _apply(self, ev: Event) -> Event:
        md = _md(ev.obj)
        loc = (md.get("namespace", ""), md.get("name", ""))
        if ev.type == "DELETED":
            self.objects[ev.key].pop(loc, None)
            self.uids.pop(md.get("uid", ""), None)
        else:
            self.objects[ev.key][loc] = ev.obj
            if md.get("uid"):
                self.uids[md["uid"]] = (ev.key, loc[0], loc[1])
        self.history.append(ev)
        while len(self.history) > self.history_size:
            self.history_floor = self.history.popleft().rv
        return ev

    # -- watch ------------------------------------------------------------------------------

    def subscribe(self, key: str, sub: Subscriber, since: int | None) -> tuple[list[Event], int]:
        """Register ``sub`` for live events of ``key``; atomically return the backlog.

        ``since`` None: the current objects as synthetic ADDED events. Otherwise the history
        after ``since``. Raises ValueError(oldest) when ``since`` is older than the window.
        Returns (backlog, current rv).
        """
        with self.lock:
            if since is None:
                backlog = [Event(self.rv, "ADDED", key, o, None) for o in self.list(key)]
            else:
                if since < self.history_floor:
                    raise ValueError(self.history_floor + 1)
                backlog = [e for e in self.history if e.rv > since and e.key == key]
            self._subs[key].add(sub)
            return backlog, self.rv

    def start_window(self) -> None:
        """Begin the watch window at the current version, as kube-apiserver's watch cache
        does when it starts: a watch from any older resourceVersion is 410 Expired."""
        with self.lock:
            self.history.clear()
            self.history_floor = self.rv

    def unsubscribe(self, key: str, sub: Subscriber) -> None:
        with self.lock:
            self._subs[key].discard(sub)

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        """``fn`` runs under the store lock after every change: keep it quick."""
        self._listeners.append(fn)

    # -- durability -------------------------------------------------------------------------

    def _load(self) -> None:
        snap_rv = 0
        if self._snap_path.exists():
            snap = json.loads(self._snap_path.read_text())
            snap_rv = self.rv = snap["rv"]
            self.history_floor = snap.get("floor", 0)
            for key, obj in snap["objects"]:
                md = _md(obj)
                loc = (md.get("namespace", ""), md.get("name", ""))
                self.objects[key][loc] = obj
                if md.get("uid"):
                    self.uids[md["uid"]] = (key, loc[0], loc[1])
            for rv, etype, key, obj in snap.get("history", []):
                self.history.append(Event(rv, etype, key, obj, None))
        lines = 0
        good = 0
        if self._wal_path.exists():
            with open(self._wal_path, "rb") as f:
                for raw in f:
                    try:
                        rec = json.loads(raw)
                    except ValueError:
                        log.warning("ignoring a torn record at the end of %s", self._wal_path)
                        break
                    if not raw.endswith(b"\n"):
                        break
                    good += len(raw)
                    lines += 1
                    if rec["rv"] <= snap_rv:
                        continue
                    obj = rec["object"]
                    md = _md(obj)
                    old = self.objects[rec["key"]].get((md.get("namespace", ""), md.get("name")))
                    self._apply(Event(rec["rv"], rec["type"], rec["key"], obj, old))
                    self.rv = rec["rv"]
            with open(self._wal_path, "r+b") as f:
                f.truncate(good)
        self._wal_lines = lines
        if lines > COMPACT_AFTER_LINES:
            self._compact()
        log.info("store loaded: %d objects, resourceVersion %d", len(self.uids), self.rv)

    def _compact(self) -> None:
        snap = {
            "rv": self.rv, "floor": self.history_floor,
            "objects": [[k, o] for k, objs in self.objects.items() for o in objs.values()],
            "history": [[e.rv, e.type, e.key, e.obj] for e in self.history],
        }
        tmp = self._snap_path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump(snap, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._snap_path)
        with open(self._wal_path, "wb") as f:
            f.flush()
            os.fsync(f.fileno())
        self._wal_lines = 0

    def close(self) -> None:
        with self.lock:
            self._wal.close()
            self._lock_file.close()

