"""A ``hey`` (rakyll/hey) look-alike for the loadtester: ``hey -z 1m -q 10 -c 2 http://...``.

Flags as hey has them: ``-z`` duration (wins over ``-n``; scaled by the sandbox time scale, so a
spec's ``-z 2m`` lasts 2m x scale of wall time), ``-n`` total requests (default 200), ``-c``
workers (default 50), ``-q`` rate limit per worker in requests per spec second (0 = none),
``-m`` method, ``-d`` body, ``-D`` body file, ``-H`` header (repeatable), ``-T`` content type,
``-A`` accept, ``-t`` timeout seconds (default 20; spec time like ``-z``, never below 1 wall
second; 0 = none), ``-h2``/``-disable-keepalive`` etc. are accepted and ignored.
In-cluster names resolve through the sandbox resolver; requests leave from ``POD_IP``.
Prints hey's summary: totals, latencies, status code and error distributions. Latencies are
spec latencies (a time-scaled wait declared by the answer counts at its spec length,
canary.sandbox.spec_time); ``Total`` and ``Requests/sec`` are wall figures.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from canary.clock import parse_duration
from canary.sandbox.apps.httpserver import time_scale
from canary.sandbox.resolver import ResolveError, http_request
from canary.sandbox.spec_time import request_timeout, spec_latency_ms, wait_from_headers


@dataclass
class Result:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hey", allow_abbrev=False, description="HTTP load (hey-like)")
    p.add_argument("-z", type=_duration, default=0.0, help="duration, e.g. 10s, 1m")
    p.add_argument("-n", type=int, default=200, help="number of requests")
    p.add_argument("-c", type=int, default=50, help="workers")
    p.add_argument("-q", type=float, default=0.0, help="rate limit per worker (req/s)")
    p.add_argument("-m", default="GET", help="method")
    p.add_argument("-d", default=None, help="body")
    p.add_argument("-D", default=None, help="body file")
    p.add_argument("-H", action="append", default=[], help="header 'Name: value'")
    p.add_argument("-T", default=None, help="content type")
    p.add_argument("-A", default=None, help="accept header")
    p.add_argument("-t", type=float, default=20.0, help="timeout in seconds")
    p.add_argument("-o", default=None, help=argparse.SUPPRESS)
    p.add_argument("-x", default=None, help=argparse.SUPPRESS)
    p.add_argument("-host", default=None)
    for flag in ("-h2", "-disable-compression", "-disable-keepalive", "-disable-redirects"):
        p.add_argument(flag, action="store_true", help=argparse.SUPPRESS)
    p.add_argument("url")
    return p


def run(argv: list[str], stop: threading.Event | None = None) -> tuple[Result, float]:
    p = build_parser()
    a = p.parse_args(argv)
    if a.c < 1:
        p.error("-c cannot be smaller than 1")
    if not a.z and a.n < a.c:
        p.error("-n cannot be less than -c")
    if not a.url.startswith(("http://", "https://")):
        p.error(f"URL {a.url!r} must start with http:// or https://")
    headers: list[tuple[str, str]] = []
    for h in a.H:
        if ":" not in h:
            p.error(f"header {h!r} must look like 'Name: value'")
        k, v = h.split(":", 1)
        headers.append((k.strip(), v.strip()))
    if a.T:
        headers.append(("Content-Type", a.T))
    if a.A:
        headers.append(("Accept", a.A))
    if a.host:
        headers.append(("Host", a.host))
    body: bytes | None = a.d.encode() if a.d is not None else None
    if a.D:
        try:
            with open(a.D, "rb") as f:
                body = f.read()
        except OSError as exc:
            p.error(f"-D {a.D}: {exc.strerror}")
    stop = stop or threading.Event()
    scale = time_scale()
    deadline = time.monotonic() + a.z * scale if a.z else None
    timeout = request_timeout(a.t, scale) if a.t > 0 else None
    result = Result()
    remaining = [a.n]
    count_lock = threading.Lock()

    def claim() -> bool:
        if deadline is not None:
            return time.monotonic() < deadline
        with count_lock:
            if remaining[0] <= 0:
                return False
            remaining[0] -= 1
            return True

    def worker(index: int) -> None:
        # per spec second, as slow_cooker's -qps: a time-scaled window holds the same count
        period = scale / a.q if a.q > 0 else 0.0
        next_at = time.monotonic() + period * index / a.c
        while not stop.is_set():
            if period:
                wait = next_at - time.monotonic()
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                if wait > 0 and stop.wait(wait):
                    return
            if not claim():
                return
            start = time.monotonic()
            try:
                status, hdrs, _b = http_request(a.m, a.url, headers=headers, body=body,
                                                timeout=timeout)
                wall_ms = (time.monotonic() - start) * 1000
                spec_s = spec_latency_ms(wall_ms, wait_from_headers(hdrs.items()), scale) / 1000
                with result.lock:
                    result.statuses[status] += 1
                    result.latencies.append(spec_s)
            except (ResolveError, OSError) as exc:
                with result.lock:
                    result.errors[f"{a.m} {a.url}: {exc}"] += 1
            next_at = max(next_at + period, time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(a.c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result, time.monotonic() - started


def summary(result: Result, total: float) -> str:
    lat = sorted(result.latencies)
    n = len(lat)
    lines = ["", "Summary:", f"  Total:\t{total:.4f} secs"]
    if n:
        lines += [
            f"  Slowest:\t{lat[-1]:.4f} secs",
            f"  Fastest:\t{lat[0]:.4f} secs",
            f"  Average:\t{sum(lat) / n:.4f} secs",
        ]
    lines.append(f"  Requests/sec:\t{(n + sum(result.errors.values())) / max(total, 1e-9):.4f}")
    if n:
        lines += ["", "Latency distribution:"]
        for q in (10, 25, 50, 75, 90, 95, 99):
            lines.append(f"  {q}% in {lat[min(n - 1, n * q // 100)]:.4f} secs")
    lines += ["", "Status code distribution:"]
    for code, count in sorted(result.statuses.items()):
        lines.append(f"  [{code}]\t{count} responses")
    if result.errors:
        lines += ["", "Error distribution:"]
        for err, count in result.errors.most_common():
            lines.append(f"  [{count}]\t{err}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    stop = threading.Event()

    def _on_signal(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    result, total = run(sys.argv[1:] if argv is None else argv, stop)
    sys.stdout.write(summary(result, total))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
