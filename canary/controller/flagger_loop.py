"""The Flagger controller loop: find Canaries, tick each one every analysis interval.

One scheduler thread keeps a heap of due times (a work queue: each canary at its own
``analysis.interval`` x time scale, shifted once by a stable jitter so canaries found together do
not tick in lockstep); ticks run on a small worker pool, at most one in flight per canary. The
first tick of a canary runs as soon as it is seen (as Flagger's job does). With a
:class:`~canary.kube.cache.CachedClient` the loop reads the Canaries from the cache's informer,
and a watch event that changes a Canary's ``analysis.interval`` or marks it deleted queues it at
once, as Flagger restarts a canary's job on a new interval (pkg/controller/scheduler.go
scheduleCanaries; job.go runs the first tick on start) and finalizes on deletion right away.
A new image waits for the next tick, as in Flagger. Nothing is kept here that the API does not
also hold: a restarted engine picks every canary up from its status.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from canary.clock import Clock
from canary.controller.flagger_tick import CanaryRunner, TickResult
from canary.controller.logs import Outage
from canary.controller.metrics_registry import EngineMetrics
from canary.kube.cache import CachedClient
from canary.kube.client import ApiError, ApiUnavailable, Conflict, KubeClient, Obj
from canary.kube.events import EventRecorder
from canary.spec.canary import API_VERSION

log = logging.getLogger("canary.flagger")

LIST_PERIOD = 10.0  # spec seconds between Canary listings (Flagger's -control-loop-interval)


def next_due(due: float, period: float, now: float) -> float:
    """When a canary ticks next after the tick due at ``due``: one period later, or, when that
    has passed already (the engine fell behind), the first later slot of the same phase. A Go
    ticker drops ticks for a slow receiver the same way (Flagger's per-canary time.NewTicker);
    restarting from ``now`` would bunch every late canary into one burst that stays."""
    nxt = due + period
    if nxt < now and period > 0:
        nxt += period * math.ceil((now - nxt) / period)
    return nxt


class FlaggerController:
    def __init__(self, client: KubeClient, clock: Clock, namespace: str | None = None, *,
                 metrics: EngineMetrics | None = None, metrics_server: str | None = None,
                 resolve_url: Callable[..., str] | None = None, workers: int = 32,
                 mesh_provider: str = "gatewayapi:v1beta1", metrics_override: str | None = None,
                 on_tick: Callable[[str, float, TickResult | None], None] | None = None) -> None:
        self.client = client
        self.clock = clock
        self.namespace = namespace
        self.metrics = metrics or EngineMetrics()
        self.recorder = EventRecorder(client, "flagger", clock.now)
        self.runner = CanaryRunner(client, clock, self.recorder, self.metrics, metrics_server,
                                   resolve_url, mesh_provider=mesh_provider,
                                   metrics_override=metrics_override)
        self.workers = workers
        self.on_tick = on_tick  # (key, lateness wall seconds, result) for benchmarks/tests
        self._heap: list[tuple[float, str, int]] = []  # (due, key, generation)
        # the one valid due time per canary: a kick replaces it, older heap entries are dropped
        self._due_at: dict[str, float] = {}
        self._again: set[str] = set()  # kicked while its tick was running
        # a Canary deleted and created again under the same name gets a new generation, so a
        # heap entry left from the old object never starts a second cadence for the new one
        self._gen: dict[str, int] = {}
        self._known: set[str] = set()
        self._running: set[str] = set()
        self._phased: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.outage = Outage(log)
        self._canaries = None
        if isinstance(client, CachedClient):
            self._canaries = client.informer(API_VERSION, "Canary")
            if self._canaries is not None:
                self._canaries.add_handler(self._on_canary)

    # -- watch events ------------------------------------------------------------------------

    def _on_canary(self, typ: str, obj: Obj, old: Obj | None) -> None:
        md = obj.get("metadata") or {}
        key = f"{md.get('namespace', 'default')}/{md.get('name')}"
        if self.namespace and md.get("namespace") != self.namespace:
            return
        if typ == "ADDED" and old is None:
            self._schedule_new([key])
        elif old is None or typ == "DELETED" or _interval(old) != _interval(obj) or \
                md.get("deletionTimestamp") != (old.get("metadata") or {}).get(
                    "deletionTimestamp"):
            self.kick(key)  # other changes (our own status writes too) wait for the interval

    def kick(self, key: str) -> None:
        """Tick ``key`` now (its cadence restarts from this tick)."""
        now = self.clock.monotonic()
        with self._lock:
            if key not in self._known:
                return
            if key in self._running:
                self._again.add(key)
                return
            self._due_at[key] = now
            heapq.heappush(self._heap, (now, key, self._gen.get(key, 0)))
        self._wake.set()

    def _schedule_new(self, keys: list[str]) -> None:
        now = self.clock.monotonic()
        with self._lock:
            for k in sorted(set(keys) - self._known):
                log.info("canary %s found, scheduling", k)
                self._gen[k] = self._gen.get(k, 0) + 1
                self._due_at[k] = now
                self._known.add(k)
                heapq.heappush(self._heap, (now, k, self._gen[k]))
        self._wake.set()

    # -- listing -----------------------------------------------------------------------------

    def _list(self) -> None:
        try:
            if self._canaries is not None and self._canaries.has_synced() and \
                    self._canaries.available:
                items = self._canaries.list(self.namespace)  # keys only: no copies
            else:
                items = self.client.items(API_VERSION, "Canary", self.namespace)
        except ApiUnavailable as e:
            self.outage.failed(e)
            return
        except ApiError as e:
            log.warning("cannot list canaries: %s", e)
            return
        self.outage.ok()
        keys = {f"{c['metadata'].get('namespace', 'default')}/{c['metadata']['name']}"
                for c in items}
        per_ns: dict[str, int] = {}
        for k in keys:
            per_ns[k.split("/")[0]] = per_ns.get(k.split("/")[0], 0) + 1
        self.metrics.set_totals(per_ns)
        now = self.clock.monotonic()
        with self._lock:
            for k in sorted(keys - self._known):
                log.info("canary %s found, scheduling", k)
                self._gen[k] = self._gen.get(k, 0) + 1
                self._due_at[k] = now
                heapq.heappush(self._heap, (now, k, self._gen[k]))
            for k in self._known - keys:
                log.info("canary %s deleted, unscheduling", k)
                self._phased.discard(k)
                self._due_at.pop(k, None)
            self._known = keys

    # -- running -----------------------------------------------------------------------------

    def _run_one(self, key: str, due: float, gen: int = 0) -> None:
        start = self.clock.monotonic()
        ns, name = key.split("/", 1)
        result: TickResult | None = None
        try:
            try:
                result = self.runner.tick(ns, name)
            except Conflict as e:
                # a write based on a stale read: the cache was refreshed, decide again once
                log.info("canary %s.%s: %s; ticking again on a fresh read", name, ns, e.message)
                result = self.runner.tick(ns, name)
            # idle ticks would flood the log; every decision that did something is logged
            log.log(logging.DEBUG if result.summary == "idle" else logging.INFO,
                    "canary %s.%s: %s (phase %s)", name, ns, result.summary,
                    result.phase or "-")
        except ApiUnavailable as e:
            self.outage.failed(e)  # the tick is skipped; it runs again at its next interval
        except ApiError as e:
            log.warning("canary %s.%s: API error, tick aborted: %s", name, ns, e)
        except Exception as e:  # noqa: BLE001 - one broken canary must not stop the others
            log.error("canary %s.%s: tick failed: %s: %s", name, ns, type(e).__name__, e,
                      exc_info=log.isEnabledFor(logging.DEBUG))
        if self.metrics:
            # Flagger observes the duration of every advanceCanary run
            self.metrics.duration.labels(name, ns).observe(self.clock.monotonic() - start)
            self.metrics.ticks.inc()
            self.metrics.lateness.labels("flagger").observe(max(0.0, start - due))
        if self.on_tick:
            self.on_tick(key, start - due, result)
        period = self.clock.scaled(result.interval if result else 60.0)
        with self._lock:
            self._running.discard(key)
            if result is not None and result.gone:
                if key in self._known:
                    log.info("canary %s deleted, unscheduling", key)
                self._known.discard(key)
                self._phased.discard(key)
                self._due_at.pop(key, None)
                if self.metrics:
                    self.metrics.forget(name, ns)
            elif key in self._known:
                now = self.clock.monotonic()
                shift = 0.0
                if key not in self._phased:
                    # canaries found together would tick in lockstep forever; shift each one
                    # once by a stable fraction of its period to spread the load
                    self._phased.add(key)
                    shift = period * (zlib.crc32(key.encode()) % 1000) / 1000
                nxt = next_due(due + shift, period, now)
                if key in self._again:  # kicked while it ran: once more, now
                    self._again.discard(key)
                    nxt = now
                self._due_at[key] = nxt
                heapq.heappush(self._heap, (nxt, key, gen or self._gen.get(key, 0)))
        self._wake.set()

    def _due(self, now: float) -> list[tuple[float, str, int]]:
        """Pop every entry due by ``now`` that should tick; marks those keys running."""
        due: list[tuple[float, str, int]] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                t, key, gen = heapq.heappop(self._heap)
                if key in self._running or key not in self._known or \
                        gen != self._gen.get(key) or t != self._due_at.get(key, t):
                    continue  # running, gone, or replaced by a kick
                self._running.add(key)
                due.append((t, key, gen))
        return due

    def run(self, stop: threading.Event) -> None:
        log.info("flagger controller started (namespace %s)", self.namespace or "<all>")
        list_period = max(0.2, min(2.0, self.clock.scaled(LIST_PERIOD)))
        next_list = 0.0
        with ThreadPoolExecutor(self.workers, thread_name_prefix="canary-tick") as pool:
            while not stop.is_set():
                now = self.clock.monotonic()
                if now >= next_list:
                    self._list()
                    next_list = now + list_period
                due = self._due(now)
                with self._lock:
                    wait = min(next_list, self._heap[0][0] if self._heap else next_list) - now
                    if self.metrics:
                        # canaries waiting for their next tick (not heap entries a kick left)
                        self.metrics.queue_depth.labels("flagger").set(
                            max(0, len(self._due_at) - len(self._running)))
                for t, key, gen in due:
                    pool.submit(self._run_one, key, t, gen)
                self._wake.clear()
                if wait > 0:
                    self._wait(stop, wait)
        log.info("flagger controller stopped")

    def _wait(self, stop: threading.Event, seconds: float) -> None:
        """Wake on stop, on a finished tick, or after ``seconds`` of wall time."""
        end = self.clock.monotonic() + seconds
        while not stop.is_set() and not self._wake.is_set():
            left = end - self.clock.monotonic()
            if left <= 0:
                return
            self._wake.wait(min(left, 0.05))


def _interval(canary: Obj) -> object:
    return ((canary.get("spec") or {}).get("analysis") or {}).get("interval")
