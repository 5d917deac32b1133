"""The target's series as Prometheus holds them: scraped every ``scrape_interval``, a series
exists from the first scrape after its first request (its first increment is never seen by
``rate()``, as with real Linkerd metrics), and queries read the samples inside their window."""

from __future__ import annotations

import math

from canary.sandbox.mesh.metrics import LATENCY_BUCKETS_MS
from canary.simulate.promrate import bucket_quantile, extrapolated_rate
from canary.simulate.traffic import Second, is_failure

_BOUNDS = (*map(float, LATENCY_BUCKETS_MS), math.inf)


class TargetSeries:
    """``response_total`` (and ``response_latency_ms_bucket``) of the target's pods, per code."""

    def __init__(self, scrape_interval: float, phase: float, latency: bool = False) -> None:
        self.step = scrape_interval
        self.phase = phase  # first scrape at ``phase``, then every ``step`` (spec seconds)
        self.latency = latency
        self.seconds = 0
        self.cum: dict[int, list[int]] = {}  # code -> requests through second s
        self.hist: dict[int, list[list[int]]] = {}  # code -> cumulative bucket counts per second
        self.prior: tuple[float, float, int] | None = None

    def previous_pods(self, until: float, retain: float, rps: int) -> None:
        """The target's pods from before initialization: they served all ``rps`` (healthy, 200)
        until ``until`` (spec seconds, < 0) and stay in the exposition ``retain`` seconds more.

        Their series carry the target's ``deployment`` label too, so a check soon after the new
        revision also averages their traffic (the sandbox's mesh keeps a deleted pod's series
        30 spec seconds, canary/sandbox/mesh/__main__.py:70).
        """
        self.prior = (until, retain, rps)

    def _prior_samples(self, taus: list[float]) -> list[tuple[float, float]]:
        if self.prior is None:
            return []
        until, retain, rps = self.prior
        start = until - 600.0  # long-running: the window never reaches the pods' start
        return [(tau, float(rps * (min(tau, until) - start))) for tau in taus
                if start < tau <= until + retain]

    def add(self, s: Second) -> None:
        n = self.seconds
        for code in s.codes:
            if code not in self.cum:
                self.cum[code] = [0] * n
                if self.latency:
                    self.hist[code] = [[0] * len(_BOUNDS) for _ in range(n)]
        for code, cum in self.cum.items():
            cum.append((cum[-1] if cum else 0) + s.codes.get(code, 0))
        if self.latency:
            for code, rows in self.hist.items():
                last = rows[-1] if rows else [0] * len(_BOUNDS)
                add = s.latency.get(code)
                rows.append([a + b for a, b in zip(last, add, strict=True)] if add else last)
        self.seconds = n + 1

    def scrapes(self, t: float, window: float) -> list[float]:
        """Scrape times inside [t - window, t] (Prometheus 2.x range selectors are closed)."""
        lo = math.ceil((t - window - self.phase) / self.step - 1e-9)
        hi = math.floor((t - self.phase) / self.step + 1e-9)
        return [self.phase + j * self.step for j in range(lo, hi + 1)]

    def _index(self, tau: float) -> int:
        # a scrape at tau has seen every request of the seconds that ended by tau
        return min(int(math.floor(tau)) - 1, self.seconds - 1)

    def _samples(self, code: int, taus: list[float]) -> list[tuple[float, float]]:
        cum = self.cum[code]
        out = []
        for tau in taus:
            i = self._index(tau)
            if i >= 0 and cum[i] > 0:
                out.append((tau, float(cum[i])))
        return out

    def success_rate(self, t: float, window: float) -> float | None:
        """The seed's query: 100 x rate(non-failures) / rate(all); None = no values."""
        taus = self.scrapes(t, window)
        num = den = None
        prior = extrapolated_rate(self._prior_samples(taus), t - window, t, window)
        if prior is not None:
            num = den = prior
        for code in self.cum:
            r = extrapolated_rate(self._samples(code, taus), t - window, t, window)
            if r is None:
                continue
            den = (den or 0.0) + r
            if not is_failure(code):
                num = (num or 0.0) + r
        if num is None or den is None or den == 0:
            return None  # empty vector or NaN: Flagger's "no values found"
        return 100.0 * num / den

    def latency_quantile(self, t: float, window: float, q: float) -> float | None:
        """histogram_quantile(q, sum(rate(response_latency_ms_bucket[w])) by (le))."""
        taus = self.scrapes(t, window)
        sums = [0.0] * len(_BOUNDS)
        seen = False
        for code, rows in self.hist.items():
            present = self._samples(code, taus)
            if len(present) < 2:
                continue
            seen = True
            cum_b = [0] * len(_BOUNDS)
            per_bucket: list[list[tuple[float, float]]] = [[] for _ in _BOUNDS]
            for tau, _ in present:
                row = rows[self._index(tau)]
                acc = 0
                for b, c in enumerate(row):
                    acc += c
                    cum_b[b] = acc
                for b in range(len(_BOUNDS)):
                    per_bucket[b].append((tau, float(cum_b[b])))
            for b in range(len(_BOUNDS)):
                r = extrapolated_rate(per_bucket[b], t - window, t, window)
                sums[b] += r or 0.0
        if not seen:
            return None
        v = bucket_quantile(q, list(zip(_BOUNDS, sums, strict=True)))
        return None if math.isnan(v) else v
