"""One watch: which events a client sees, with Kubernetes' selector-transition semantics."""

from __future__ import annotations

import queue
from typing import Any

from .store import Event

Obj = dict[str, Any]


class Watcher:
    """Receives the store's events for one resource; ``translate`` decides what to send.

    An object that stops matching the selectors is DELETED for this watcher, one that starts
    matching is ADDED, as the Kubernetes watch cache does.
    """

    def __init__(self, namespace: str | None, label_sel: Any = None,
                 field_sel: Any = None) -> None:
        self.namespace = namespace
        self.label_sel = label_sel
        self.field_sel = field_sel
        self.queue: queue.SimpleQueue[Event] = queue.SimpleQueue()

    def push(self, event: Event) -> None:
        self.queue.put(event)

    def matches(self, obj: Obj) -> bool:
        md = obj.get("metadata") or {}
        if self.namespace is not None and md.get("namespace", "") != self.namespace:
            return False
        if self.label_sel is not None and not self.label_sel.matches(md.get("labels") or {}):
            return False
        return self.field_sel is None or self.field_sel.matches(obj)

    def translate(self, ev: Event) -> tuple[str, Obj] | None:
        now = self.matches(ev.obj)
        if ev.type != "MODIFIED" or ev.old is None:
            return (ev.type, ev.obj) if now else None
        before = self.matches(ev.old)
        if now and before:
            return ("MODIFIED", ev.obj)
        if now:
            return ("ADDED", ev.obj)
        if before:
            return ("DELETED", ev.obj)
        return None
