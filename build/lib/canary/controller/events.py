"""Kubernetes Events for the engine's objects, recorded the way client-go's recorder does.

Events are named ``<object name>.<hex nanoseconds>``; an identical event (same object, type,
reason, message, component) seen again bumps ``count`` and ``lastTimestamp`` of the existing
Event instead of creating a new one, as client-go's EventCorrelator does. Recording never
raises: an unreachable or refusing API server only costs a log line.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime

from canary.clock import Clock
from canary.kube.client import ApiError, ApiUnavailable, KubeClient, NotFound, Obj

log = logging.getLogger("canary.events")

_CACHE_SIZE = 4096  # client-go's LRU holds 4096 entries as well


def rfc3339(ts: float) -> str:
    """Kubernetes' second-precision timestamp format."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    """Create core/v1 Events about objects on behalf of ``component``."""

    def __init__(self, client: KubeClient, component: str, clock: Clock) -> None:
        self.client = client
        self.component = component
        self.clock = clock
        self._lock = threading.Lock()
        # aggregation key -> (event name, namespace, count)
        self._seen: OrderedDict[tuple, tuple[str, str, int]] = OrderedDict()

    def emit(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        try:
            self._emit(obj, type_, reason, message)
        except Exception as e:  # noqa: BLE001 - recording an event must never break a caller
            log.warning("could not record event %s %r: %s", reason, message, e)

    def _emit(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        md = obj.get("metadata", {})
        ns = md.get("namespace") or "default"
        involved = {
            "apiVersion": obj.get("apiVersion", ""),
            "kind": obj.get("kind", ""),
            "name": md.get("name", ""),
            "namespace": ns,
            "uid": md.get("uid", ""),
            "resourceVersion": md.get("resourceVersion", ""),
        }
        key = (involved["apiVersion"], involved["kind"], ns, involved["name"],
               involved["uid"], type_, reason, message)
        now = rfc3339(self.clock.now())
        with self._lock:
            prev = self._seen.get(key)
        if prev is not None:
            name, ev_ns, count = prev
            try:
                self.client.patch("v1", "Event", name,
                                  {"count": count + 1, "lastTimestamp": now}, namespace=ev_ns)
                self._remember(key, (name, ev_ns, count + 1))
                return
            except NotFound:
                pass  # expired or deleted: fall through and create a fresh one
            except (ApiError, ApiUnavailable) as e:
                log.warning("could not update event %s: %s", name, e)
                return
        name = f"{involved['name']}.{time.time_ns():x}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": self.component},
            "reportingComponent": self.component,
            "reportingInstance": self.component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            self.client.create(event, namespace=ns)
        except (ApiError, ApiUnavailable) as e:
            log.warning("could not create event %s %r on %s/%s: %s", reason, message,
                        involved["kind"], involved["name"], e)
            return
        self._remember(key, (name, ns, 1))

    def _remember(self, key: tuple, value: tuple[str, str, int]) -> None:
        with self._lock:
            self._seen[key] = value
            self._seen.move_to_end(key)
            while len(self._seen) > _CACHE_SIZE:
                self._seen.popitem(last=False)
