"""A slow_cooker (BuoyantIO/slow_cooker) look-alike: steady load plus stats for the harness.

Run: ``python -m canary.sandbox.apps.loadgen -qps 10 -concurrency 1 http://podinfo:9898``
(the image registry also installs it as ``slow_cooker``). Flags use Go's syntax (``-qps 10``,
``-qps=10``, ``--qps 10``): ``-qps`` per worker, ``-concurrency`` workers (total rate = qps x
concurrency, as in slow_cooker), ``-interval`` report period (default 10s), ``-method``,
``-totalRequests`` (stop after N, 0 = run until SIGTERM), ``-data``, ``-header "K: V"``
(repeatable), ``-host``, ``-timeout``. Several URLs are used round-robin.

Rates are per *spec* second: under a sandbox time scale of 0.1 a worker at ``-qps 10`` sends 100
requests per wall second, so a time-scaled PromQL window (``1m`` -> 6s) holds as many requests as
the unscaled window would on a real cluster and success rates keep their statistical weight.

``-timeout`` is in spec time (scaled, never below 1 wall second: canary.sandbox.spec_time) and
the latencies in the report lines are spec latencies (a time-scaled wait counts at its spec
length), so both read as they would on a cluster.

Each worker ticks at ``qps``; a slow answer holds up only its own worker and missed ticks are
dropped, not bunched up (Go's ticker), so at most ``concurrency`` requests are in flight.

Names resolve through the sandbox resolver with ``POD_NAMESPACE``; requests leave from
``POD_IP`` so the mesh sees this pod as the client. Stats for the harness are served on
``POD_IP:$LOADGEN_STATS_PORT`` (default 9999): ``GET /stats`` answers JSON::

    {"requests": n, "failures": n, "errors": n, "by_status": {"200": n, ...},
     "by_version": {"1.7.0": n, ...}, "window": [{"t": unix_second, "requests": n,
     "failures": n, "by_version": {...}}, ...]}

``failures`` counts answers with status >= 500 plus connection errors (``errors``);
``by_version`` is read from the ``version`` key of JSON answers (podinfo's info JSON);
``window`` holds per-second buckets of the last 600 s, oldest first.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from canary.clock import parse_duration
from canary.sandbox.apps.httpserver import Handler, Server, parse_bool, pod_ip, time_scale
from canary.sandbox.resolver import ResolveError, http_request
from canary.sandbox.spec_time import request_timeout, spec_latency_ms, wait_from_headers

WINDOW_SECONDS = 600
DEFAULT_STATS_PORT = 9999


@dataclass
class Bucket:
    requests: int = 0
    failures: int = 0
    by_version: dict[str, int] = field(default_factory=dict)


class Stats:
    """Thread-safe counters: totals, per-second window, and the current report interval."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.failures = 0
        self.errors = 0
        self.by_status: dict[str, int] = {}
        self.by_version: dict[str, int] = {}
        self.window: OrderedDict[int, Bucket] = OrderedDict()
        self.started = time.time()
        # slow_cooker's per-interval report
        self.good = self.bad = self.failed = 0
        self.latencies: list[float] = []

    def record(self, status: int | None, version: str | None, latency_ms: float) -> None:
        now = int(time.time())
        failed = status is None or status >= 500
        with self.lock:
            self.requests += 1
            if status is None:
                self.errors += 1
                self.failed += 1
            else:
                key = str(status)
                self.by_status[key] = self.by_status.get(key, 0) + 1
                if status >= 500:
                    self.bad += 1
                else:
                    self.good += 1
                self.latencies.append(latency_ms)
            if failed:
                self.failures += 1
            if version:
                self.by_version[version] = self.by_version.get(version, 0) + 1
            bucket = self.window.get(now)
            if bucket is None:
                bucket = self.window[now] = Bucket()
                while self.window and next(iter(self.window)) <= now - WINDOW_SECONDS:
                    self.window.popitem(last=False)
            bucket.requests += 1
            if failed:
                bucket.failures += 1
            if version:
                bucket.by_version[version] = bucket.by_version.get(version, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        cutoff = int(time.time()) - WINDOW_SECONDS
        with self.lock:
            return {
                "requests": self.requests,
                "failures": self.failures,
                "errors": self.errors,
                "by_status": dict(self.by_status),
                "by_version": dict(self.by_version),
                "started": self.started,
                "window": [
                    {"t": t, "requests": b.requests, "failures": b.failures,
                     "by_version": dict(b.by_version)}
                    for t, b in self.window.items() if t > cutoff
                ],
            }

    def take_interval(self) -> tuple[int, int, int, list[float]]:
        with self.lock:
            out = (self.good, self.bad, self.failed, self.latencies)
            self.good = self.bad = self.failed = 0
            self.latencies = []
        return out


@dataclass
class Options:
    urls: list[str]
    qps: float = 1.0
    concurrency: int = 1
    interval: float = 10.0
    method: str = "GET"
    total_requests: int = 0
    data: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    host: str | None = None
    timeout: float = 10.0


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _header(text: str) -> tuple[str, str]:
    if ":" not in text:
        raise argparse.ArgumentTypeError(f"header {text!r} must look like 'Name: value'")
    k, v = text.split(":", 1)
    return k.strip(), v.strip()


def _flag(p: argparse.ArgumentParser, name: str, **kw: Any) -> None:
    # Go's flag package accepts both -name and --name.
    p.add_argument(f"-{name}", f"--{name}", dest=name.replace("-", "_"), **kw)


def parse_args(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(
        prog="slow_cooker", allow_abbrev=False, description="steady HTTP load (slow_cooker-like)"
    )
    _flag(p, "qps", type=float, default=1.0, help="requests per second per worker")
    _flag(p, "concurrency", type=int, default=1, help="number of workers")
    _flag(p, "interval", type=_duration, default=10.0, help="report period, e.g. 10s")
    _flag(p, "method", default="GET")
    _flag(p, "totalRequests", type=int, default=0, help="stop after this many (0: never)")
    _flag(p, "data", default=None, help="request body")
    _flag(p, "header", type=_header, action="append", default=[], help="'Name: value'")
    _flag(p, "host", default=None, help="Host header")
    _flag(p, "timeout", type=_duration, default=10.0)
    for ignored in ("metric-addr", "hashValue", "hashSampleRate", "reportLatenciesCSV",
                    "latencyUnit"):
        _flag(p, ignored, default=None, help=argparse.SUPPRESS)
    for ignored in ("noreuse", "compress", "noLatencySummary", "enableMemProfile"):
        _flag(p, ignored, nargs="?", const="true", default=None, type=str, help=argparse.SUPPRESS)
    p.add_argument("urls", nargs="+", metavar="URL")
    a = p.parse_args(argv)
    if a.qps <= 0:
        p.error(f"-qps must be > 0, got {a.qps}")
    if a.concurrency < 1:
        p.error(f"-concurrency must be >= 1, got {a.concurrency}")
    for ignored in ("noreuse", "compress"):
        val = getattr(a, ignored)
        if val is not None:
            try:
                parse_bool(val)
            except ValueError:
                p.error(f"-{ignored}: invalid boolean {val!r}")
    for u in a.urls:
        if not u.startswith(("http://", "https://")):
            p.error(f"URL {u!r} must start with http:// or https://")
    return Options(
        urls=a.urls, qps=a.qps, concurrency=a.concurrency, interval=max(a.interval, 0.1),
        method=a.method.upper(), total_requests=a.totalRequests, data=a.data, headers=a.header,
        host=a.host, timeout=a.timeout,
    )


def _version_of(headers: Any, body: bytes) -> str | None:
    # Sniff the body rather than trust Content-Type: proxies on the way may drop it.
    if len(body) > 65536 or not body.lstrip().startswith(b"{"):
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    v = data.get("version") if isinstance(data, dict) else None
    return str(v) if v is not None else None


class LoadGenerator:
    def __init__(self, opts: Options, stats: Stats, stop: threading.Event) -> None:
        self.opts = opts
        self.stats = stats
        self.stop = stop
        self._sent = 0
        self._sent_lock = threading.Lock()
        self._url_index = 0
        self._resolve_warned: set[str] = set()

    def _claim(self) -> str | None:
        """Reserve one request (respecting -totalRequests) and pick its URL round-robin."""
        with self._sent_lock:
            if self.opts.total_requests and self._sent >= self.opts.total_requests:
                return None
            self._sent += 1
            url = self.opts.urls[self._url_index % len(self.opts.urls)]
            self._url_index += 1
            return url

    def one_request(self, url: str) -> None:
        o = self.opts
        headers = list(o.headers)
        if o.host:
            headers.append(("Host", o.host))
        start = time.monotonic()
        status: int | None = None
        version = None
        wait_ms = 0.0
        scale = time_scale()
        try:
            status, hdrs, body = http_request(
                o.method, url, headers=headers, body=o.data,
                timeout=request_timeout(o.timeout, scale),
            )
            version = _version_of(hdrs, body)
            wait_ms = wait_from_headers(hdrs.items())
        except ResolveError as exc:
            if url not in self._resolve_warned:
                self._resolve_warned.add(url)
                print(f"# {exc} (counted as failed; retrying every tick)", flush=True)
        except OSError:
            pass
        self.stats.record(status, version,
                          spec_latency_ms((time.monotonic() - start) * 1000, wait_ms, scale))

    def worker(self, index: int) -> None:
        period = time_scale() / self.opts.qps  # qps is per spec second
        # Stagger workers across one period so they do not fire together.
        next_at = time.monotonic() + period * index / self.opts.concurrency
        while not self.stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and self.stop.wait(delay):
                return
            url = self._claim()
            if url is None:
                return
            self.one_request(url)
            # Like Go's ticker: at most one pending tick, missed ones are dropped.
            next_at = max(next_at + period, time.monotonic())

    def run(self) -> None:
        threads = [
            threading.Thread(target=self.worker, args=(i,), name=f"worker-{i}", daemon=True)
            for i in range(self.opts.concurrency)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def _pct(sorted_ms: list[float], q: float) -> int:
    if not sorted_ms:
        return 0
    return round(sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))])


def report_loop(opts: Options, stats: Stats, stop: threading.Event) -> None:
    expected = opts.qps * opts.concurrency * opts.interval / time_scale()
    while not stop.wait(opts.interval):
        print_report(stats, expected, opts.interval)


def print_report(stats: Stats, expected: float, interval: float) -> None:
    good, bad, failed, lat = stats.take_interval()
    lat.sort()
    total = good + bad + failed
    goal = round(100 * total / expected) if expected else 100
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    lo = round(lat[0]) if lat else 0
    hi = round(lat[-1]) if lat else 0
    print(
        f"{ts} {good:>6}/{bad}/{failed} {round(expected):>3} {goal:>3}% {interval:g}s "
        f"{lo:>4} [{_pct(lat, .5):>3} {_pct(lat, .95):>3} {_pct(lat, .99):>3} "
        f"{_pct(lat, .999):>4} ] {hi:>4} 0 ",
        flush=True,
    )


class StatsHandler(Handler):
    server_version = "slow_cooker"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/stats":
            self.send_json(200, self.server.stats.snapshot())  # type: ignore[attr-defined]
        elif path in ("/healthz", "/readyz", "/"):
            self.send_text(200, "ok\n")
        else:
            self.send_text(404, "not found\n")


def start_stats_server(stats: Stats, host: str, port: int) -> Server | None:
    try:
        server = Server((host, port), StatsHandler)
    except OSError as exc:
        print(f"# stats server disabled: cannot listen on {host}:{port}: {exc.strerror or exc}",
              file=sys.stderr, flush=True)
        return None
    server.stats = stats  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, name="stats", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    stats = Stats()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    raw_port = os.environ.get("LOADGEN_STATS_PORT", str(DEFAULT_STATS_PORT))
    try:
        stats_port = int(raw_port)
    except ValueError:
        # Could be a Kubernetes service link (tcp://...) for a Service named loadgen-stats.
        print(f"# ignoring LOADGEN_STATS_PORT={raw_port!r}: not a port number", flush=True)
        stats_port = DEFAULT_STATS_PORT
    server = start_stats_server(stats, pod_ip(), stats_port) if stats_port > 0 else None
    if server:
        print(f"# stats on http://{pod_ip()}:{server.server_address[1]}/stats", flush=True)
    print(
        f"# sending {opts.qps * opts.concurrency:g} {opts.method} req/s with "
        f"concurrency={opts.concurrency} to {' '.join(opts.urls)} ...",
        flush=True,
    )
    print("#                      good/b/f t   goal%  min [p50 p95 p99  p999]  max bhash change",
          flush=True)
    threading.Thread(target=report_loop, args=(opts, stats, stop), daemon=True).start()
    gen = LoadGenerator(opts, stats, stop)
    runner = threading.Thread(target=gen.run, name="load", daemon=True)
    runner.start()
    while runner.is_alive() and not stop.wait(0.2):
        pass
    stop.set()
    runner.join(timeout=request_timeout(opts.timeout, time_scale()) + 1)
    print_report(stats, 0, opts.interval)
    snap = stats.snapshot()
    print(f"# total requests={snap['requests']} failures={snap['failures']} "
          f"by_status={snap['by_status']} by_version={snap['by_version']}", flush=True)
    if server:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
