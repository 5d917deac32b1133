"""Kubernetes Events (core/v1) as the kubelet and the controllers record them.

Events are sent from a background thread so controllers never wait on them; a repeat of the
same (object, reason, message) bumps ``count`` and ``lastTimestamp`` as the event recorder does.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time

from canary.kube.client import ApiError, ApiUnavailable, KubeClient, NotFound

from .objects import Obj, rfc3339

log = logging.getLogger("canary.node")

HOST = "sandbox"


class EventRecorder:
    def __init__(self, client: KubeClient, stop: threading.Event) -> None:
        self.client = client
        self.stop = stop
        self._queue: queue.Queue[tuple[Obj, str, str, str, str, str]] = queue.Queue()
        self._seen: dict[tuple[str, str, str, str], tuple[str, int]] = {}
        self._thread = threading.Thread(target=self._run, name="events", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def event(self, obj: Obj, type_: str, reason: str, message: str, component: str,
              field_path: str = "") -> None:
        md = obj.get("metadata", {})
        log.info("event %s %s/%s %s: %s", type_, md.get("namespace"), md.get("name"), reason,
                 message)
        self._queue.put((obj, type_, reason, message, component, field_path))

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            for attempt in range(3):
                try:
                    self._send(*item)
                    break
                except ApiUnavailable:
                    self.stop.wait(0.5 * (attempt + 1))
                except NotFound:
                    break  # the namespace is being deleted: nobody will read it
                except ApiError as e:
                    log.warning("could not record event %s: %s", item[2], e)
                    break

    def _send(self, obj: Obj, type_: str, reason: str, message: str, component: str,
              field_path: str) -> None:
        md = obj.get("metadata", {})
        ns = md.get("namespace") or "default"
        now = rfc3339()
        seen_key = (md.get("uid", ""), reason, message, field_path)
        if seen_key in self._seen:
            name, count = self._seen[seen_key]
            try:
                self.client.patch("v1", "Event", name, {"count": count + 1, "lastTimestamp": now},
                                  namespace=ns)
                self._seen[seen_key] = (name, count + 1)
                return
            except ApiError:
                pass  # expired or deleted: record a new one
        name = f"{md.get('name')}.{int(time.time() * 1e9):x}{secrets.token_hex(2)}"
        involved = {"kind": obj.get("kind"), "namespace": ns, "name": md.get("name"),
                    "uid": md.get("uid"), "apiVersion": obj.get("apiVersion"),
                    "resourceVersion": md.get("resourceVersion")}
        if field_path:
            involved["fieldPath"] = field_path
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": name, "namespace": ns},
              "involvedObject": involved, "reason": reason, "message": message, "type": type_,
              "source": {"component": component, "host": HOST} if component == "kubelet"
              else {"component": component},
              "firstTimestamp": now, "lastTimestamp": now, "count": 1,
              "reportingComponent": component, "reportingInstance": HOST}
        self.client.create(ev, namespace=ns)
        if len(self._seen) > 5000:
            self._seen.clear()  # bounded memory; a repeat after this just starts a new Event
        self._seen[seen_key] = (name, 1)
