"""Kubernetes Events (core/v1), recorded the way client-go's recorder does: the one recorder
of the project, for the engine's objects and for the sandbox's kubelet and controllers.

Events are named ``<object name>.<hex nanoseconds>``; an identical event (same object, type,
reason, message, component, field path) seen again bumps ``count`` and ``lastTimestamp`` of
the existing Event instead of creating a new one, as client-go's EventCorrelator does, with an
LRU of 4096 keys as client-go has. Recording never raises: an unreachable or refusing API
server only costs a log line. ``start(stop)`` sends from a background thread (with retries)
for callers that must never wait on the API, as the kubelet's recorder does.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from canary.clock import rfc3339
from canary.kube.client import ApiError, ApiUnavailable, KubeClient, NotFound, Obj

log = logging.getLogger("canary.events")

_CACHE_SIZE = 4096  # client-go's LRU holds 4096 entries as well
_HOST = "sandbox"  # the node name the sandbox's kubelet reports


class EventRecorder:
    """Create core/v1 Events about objects on behalf of ``component``; ``now`` gives the Unix
    time written into the timestamps (the engine's clock; wall time by default)."""

    def __init__(self, client: KubeClient, component: str,
                 now: Callable[[], float] | None = None) -> None:
        self.client = client
        self.component = component
        self.now = now or time.time
        self._lock = threading.Lock()
        # aggregation key -> (event name, namespace, count)
        self._seen: OrderedDict[tuple, tuple[str, str, int]] = OrderedDict()
        self._queue: queue.Queue[tuple[Any, ...]] | None = None
        self._stop: threading.Event | None = None

    def start(self, stop: threading.Event) -> None:
        """From now on ``emit`` only queues; a background thread sends, retrying outages."""
        self._queue, self._stop = queue.Queue(), stop
        threading.Thread(target=self._run, name="events", daemon=True).start()

    def emit(self, obj: Obj, type_: str, reason: str, message: str,
             component: str | None = None, field_path: str = "") -> None:
        item = (obj, type_, reason, message, component or self.component, field_path,
                self.now())
        if self._queue is not None:
            md = obj.get("metadata", {})
            log.info("event %s %s/%s %s: %s", type_, md.get("namespace"), md.get("name"),
                     reason, message)
            self._queue.put(item)
            return
        try:
            self._send(*item)
        except Exception as e:  # noqa: BLE001 - recording an event must never break a caller
            log.warning("could not record event %s %r: %s", reason, message, e)

    def _run(self) -> None:
        assert self._queue is not None and self._stop is not None
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            for attempt in range(3):
                try:
                    self._send(*item, retry=True)
                    break
                except ApiUnavailable:
                    self._stop.wait(0.5 * (attempt + 1))
                except Exception as e:  # noqa: BLE001 - the thread must go on
                    log.warning("could not record event %s: %s", item[2], e)
                    break

    def _send(self, obj: Obj, type_: str, reason: str, message: str, component: str,
              field_path: str, at: float, retry: bool = False) -> None:
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
        if field_path:
            involved["fieldPath"] = field_path
        key = (involved["apiVersion"], involved["kind"], ns, involved["name"], involved["uid"],
               type_, reason, message, component, field_path)
        now = rfc3339(at)
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
        kubelet = component == "kubelet"
        name = f"{involved['name']}.{time.time_ns():x}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": component, "host": _HOST} if kubelet
            else {"component": component},
            "reportingComponent": component,
            "reportingInstance": _HOST if kubelet else component,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            self.client.create(event, namespace=ns)
        except NotFound:
            return  # the namespace is being deleted: nobody will read it
        except ApiUnavailable:
            if retry:
                raise
            log.warning("could not create event %s %r on %s/%s: API server unreachable",
                        reason, message, involved["kind"], involved["name"])
            return
        except ApiError as e:
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
