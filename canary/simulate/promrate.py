"""Prometheus' counter arithmetic as the engine's queries meet it: ``rate()`` and
``histogram_quantile()`` over scraped samples.

Ported from prometheus/prometheus promql/functions.go:452 (``extrapolatedRate``) and
promql/quantile.go (``bucketQuantile``); the installed Prometheus 2.42 has the same rules minus
start-timestamp handling, which the sandbox's mesh does not expose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Sample = tuple[float, float]  # (timestamp seconds, counter value)


def extrapolated_rate(samples: Sequence[Sample], range_start: float, range_end: float,
                      range_seconds: float) -> float | None:
    """``rate(counter[range])`` for one series, None when it has fewer than two samples.

    Counters never reset here (pods do not restart mid-rollout in the model).
    """
    if len(samples) < 2:
        return None
    (first_t, first_v), (last_t, last_v) = samples[0], samples[-1]
    result = last_v - first_v
    to_start = first_t - range_start
    to_end = range_end - last_t
    sampled = last_t - first_t
    if sampled <= 0:
        return None
    avg = sampled / (len(samples) - 1)
    threshold = avg * 1.1
    # a series that starts (or ends) inside the range is extrapolated by half a scrape only
    if to_start >= threshold:
        to_start = avg / 2
    if result > 0 and first_v >= 0:
        # never extrapolate a counter below zero
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    if to_end >= threshold:
        to_end = avg / 2
    return result * (sampled + to_start + to_end) / sampled / range_seconds


def bucket_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """``histogram_quantile(q, ...)`` over (upper bound, cumulative rate) pairs, +Inf last.

    NaN when the histogram is empty (Flagger then reports "no values").
    """
    if not buckets or math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    bs = sorted(buckets, key=lambda b: b[0])
    if not math.isinf(bs[-1][0]) or len(bs) < 2:
        return math.nan
    # cumulative counts must not decrease (quantile.go ensureMonotonic)
    fixed: list[tuple[float, float]] = []
    top = 0.0
    for ub, c in bs:
        top = max(top, c)
        fixed.append((ub, top))
    total = fixed[-1][1]
    if total == 0:
        return math.nan
    rank = q * total
    b = next(i for i, (_, c) in enumerate(fixed) if c >= rank)
    if b == len(fixed) - 1:
        return fixed[-2][0]
    if b == 0 and fixed[0][0] <= 0:
        return fixed[0][0]
    start = 0.0 if b == 0 else fixed[b - 1][0]
    end = fixed[b][0]
    below = 0.0 if b == 0 else fixed[b - 1][1]
    count = fixed[b][1] - below
    if count == 0:
        return end
    return start + (end - start) * ((rank - below) / count)
