"""The traffic model: what the load generator sends through the route, second by second.

The seed's load generator (slow_cooker ``-qps 10 -concurrency 1``) sends a steady 10 requests
per spec second to the apex Service; the mesh picks a backend per request at random by the
HTTPRoute weights (reference linkerd-podinfo.md §1, linkerd ``WeightedIndex``). Each version
fails requests at its own rate; ``random_error`` is podinfo's ``--random-error``: per spec second
one draw, 1 in 3 seconds answer every request with 500, 400 or 409 chosen evenly (only 500 is a
Linkerd failure), see canary/sandbox/apps/podinfo.py ``random_error``.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass, field
from functools import lru_cache

from canary.sandbox.mesh.metrics import LATENCY_BUCKETS_MS

RANDOM_ERROR_CODES = (500, 400, 409)
_Z99 = 2.3263478740408408  # standard normal 99th percentile


@dataclass(frozen=True)
class VersionModel:
    """How one version answers: independent 500s at ``error_rate``, podinfo bursts, latency."""

    error_rate: float = 0.0
    random_error: bool = False
    latency_p50_ms: float = 2.0
    latency_p99_ms: float = 8.0

    def describe(self) -> str:
        if self.random_error:
            return "--random-error"
        return f"{self.error_rate * 100:g}% errors"


@dataclass(frozen=True)
class TrafficModel:
    rps: int = 10  # requests per spec second through the route (qps x concurrency)
    canary: VersionModel = field(default_factory=VersionModel)
    primary: VersionModel = field(default_factory=VersionModel)
    scrape_interval: float = 10.0  # linkerd-viz Prometheus scrapes every 10s
    # first scrape this long after the new revision's tick, then every scrape_interval;
    # None: random (Prometheus and the controller keep independent schedules)
    scrape_phase: float | None = None


@lru_cache(maxsize=4096)
def binomial_cdf(n: int, p: float) -> tuple[float, ...]:
    """Cumulative probabilities of Binomial(n, p) for 0..n-1 (inverse-CDF sampling table)."""
    out, acc = [], 0.0
    for k in range(n):
        acc += math.comb(n, k) * p ** k * (1 - p) ** (n - k)
        out.append(acc)
    return tuple(out)


def binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    return bisect.bisect_right(binomial_cdf(n, p), rng.random())


class Second:
    """One spec second's answers of one version: counts per status code (+ latencies)."""

    __slots__ = ("codes", "latency")

    def __init__(self) -> None:
        self.codes: dict[int, int] = {}
        self.latency: dict[int, list[int]] = {}  # status code -> requests per bucket index


def burst_code(rng: random.Random) -> int | None:
    """podinfo --random-error: this second's code, or None when the second answers normally."""
    u = rng.random()
    if u < 1 / 3:
        return RANDOM_ERROR_CODES[min(2, int(u * 9))]
    return None


def answer(rng: random.Random, v: VersionModel, n: int, burst: int | None,
           with_latency: bool) -> Second:
    """The status codes (and latency buckets) of ``n`` requests served by ``v`` in one second."""
    s = Second()
    if n <= 0:
        return s
    if v.random_error and burst is not None:
        s.codes[burst] = n
    else:
        bad = binomial(rng, n, v.error_rate)
        if bad:
            s.codes[500] = bad
        if n - bad:
            s.codes[200] = n - bad
    if with_latency:
        mu = math.log(max(v.latency_p50_ms, 1e-6))
        sigma = max(0.0, math.log(max(v.latency_p99_ms, v.latency_p50_ms) /
                                  max(v.latency_p50_ms, 1e-6)) / _Z99)
        for code, count in s.codes.items():
            hist = s.latency.setdefault(code, [0] * (len(LATENCY_BUCKETS_MS) + 1))
            for _ in range(count):
                ms = math.exp(rng.gauss(mu, sigma)) if sigma else math.exp(mu)
                hist[bisect.bisect_left(LATENCY_BUCKETS_MS, ms)] += 1
    return s


def is_failure(code: int) -> bool:
    return 500 <= code <= 599
