"""A de-duplicating work queue with delayed adds, as client-go's rate-limited queue.

A key is never processed by two workers at once; adding a key while it is being processed
marks it dirty so it is processed again afterwards.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from canary.kube.client import AlreadyExists, ApiError, ApiUnavailable, Conflict, NotFound


class WorkQueue:
    def __init__(self, name: str) -> None:
        self.name = name
        self._cond = threading.Condition()
        self._queue: list[Hashable] = []
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._delayed: list[tuple[float, int, Hashable]] = []
        self._seq = itertools.count()
        self._shutdown = False

    def add(self, key: Hashable) -> None:
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key: Hashable) -> None:
        if key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._cond.notify()

    def add_after(self, key: Hashable, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            heapq.heappush(self._delayed, (time.monotonic() + delay, next(self._seq), key))
            self._cond.notify()

    def get(self) -> Hashable | None:
        """Next key to process, or None once shut down."""
        with self._cond:
            while True:
                if self._shutdown:
                    return None
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    _, _, key = heapq.heappop(self._delayed)
                    self._add_locked(key)
                if self._queue:
                    key = self._queue.pop(0)
                    self._dirty.discard(key)
                    self._processing.add(key)
                    return key
                timeout = self._delayed[0][0] - now if self._delayed else None
                self._cond.wait(timeout)

    def done(self, key: Hashable) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:
                self._queue.append(key)
                self._cond.notify()

    def shutdown(self) -> None:
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()


def process(queue: WorkQueue, sync: Callable[[Any], None], what: str,
            log: logging.Logger) -> None:
    """Run ``sync`` for each key until the queue shuts down, as client-go's controllers do.

    Conflicts and an unreachable API retry soon; a vanished object is dropped (its watch says if
    it returns); other API errors and crashes retry after a second; an invalid spec waits for
    the next change of the object.
    """
    while True:
        key = queue.get()
        if key is None:
            return
        name = "/".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
        try:
            sync(key)
        except (Conflict, AlreadyExists, ApiUnavailable) as e:
            log.info("%s %s: %s; retrying", what, name, e)
            queue.add_after(key, 0.2)
        except NotFound as e:
            log.info("%s %s: %s", what, name, e.message)
        except ApiError as e:
            log.warning("%s %s: %s", what, name, e)
            queue.add_after(key, 1.0)
        except ValueError as e:
            log.warning("%s %s: invalid spec: %s", what, name, e)
        except Exception:
            log.exception("%s %s: sync failed", what, name)
            queue.add_after(key, 1.0)
        finally:
            queue.done(key)
