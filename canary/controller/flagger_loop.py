"""The Flagger controller loop: find Canaries, tick each one every analysis interval.

One scheduler thread keeps a heap of due times; ticks run on a small worker pool, at most one
in flight per canary. The first tick of a canary runs as soon as it is seen (as Flagger's job
does), later ones every ``analysis.interval`` x time scale. Nothing is kept here that the API
does not also hold: a restarted engine picks every canary up from its status.
"""

from __future__ import annotations

import heapq
import logging
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from canary.clock import Clock
from canary.controller.flagger_tick import CanaryRunner, TickResult
from canary.controller.logs import Outage
from canary.controller.metrics_registry import EngineMetrics
from canary.kube.client import ApiError, ApiUnavailable, KubeClient
from canary.kube.events import EventRecorder
from canary.spec.canary import API_VERSION

log = logging.getLogger("canary.flagger")

LIST_PERIOD = 10.0  # spec seconds between Canary listings (Flagger's -control-loop-interval)


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
        # a Canary deleted and created again under the same name gets a new generation, so a
        # heap entry left from the old object never starts a second cadence for the new one
        self._gen: dict[str, int] = {}
        self._known: set[str] = set()
        self._running: set[str] = set()
        self._phased: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.outage = Outage(log)

    # -- listing -----------------------------------------------------------------------------

    def _list(self) -> None:
        try:
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
                heapq.heappush(self._heap, (now, k, self._gen[k]))
            for k in self._known - keys:
                log.info("canary %s deleted, unscheduling", k)
                self._phased.discard(k)
            self._known = keys

    # -- running -----------------------------------------------------------------------------

    def _run_one(self, key: str, due: float, gen: int = 0) -> None:
        start = self.clock.monotonic()
        ns, name = key.split("/", 1)
        result: TickResult | None = None
        try:
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
            self.metrics.lateness.observe(max(0.0, start - due))
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
                if self.metrics:
                    self.metrics.forget(name, ns)
            elif key in self._known:
                nxt = due + period
                if key not in self._phased:
                    # canaries found together would tick in lockstep forever; shift each one
                    # once by a stable fraction of its period to spread the load
                    self._phased.add(key)
                    nxt += period * (zlib.crc32(key.encode()) % 1000) / 1000
                if nxt < self.clock.monotonic():  # fell behind: keep cadence from now
                    nxt = self.clock.monotonic() + period
                heapq.heappush(self._heap, (nxt, key, gen or self._gen.get(key, 0)))
        self._wake.set()

    def _due(self, now: float) -> list[tuple[float, str, int]]:
        """Pop every entry due by ``now`` that should tick; marks those keys running."""
        due: list[tuple[float, str, int]] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                t, key, gen = heapq.heappop(self._heap)
                if key in self._running or key not in self._known or gen != self._gen.get(key):
                    continue
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
                        self.metrics.queue_depth.set(len(self._heap))
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
