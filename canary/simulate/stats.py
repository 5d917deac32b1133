"""Summaries of many simulated rollouts: probabilities with intervals, quantiles, means."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from canary.simulate.flagger_run import Outcome


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile; NaN for no values."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q * len(s)) - 1))]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, mid - half), min(1.0, mid + half))


@dataclass
class Summary:
    label: str
    error_rate: float | None  # None for a --random-error row
    runs: int
    promoted: int
    rolled_back: int
    t_p50: float
    t_p95: float
    new_mean: float
    new_p95: float
    failed_mean: float
    failed_p95: float
    first_pass: int
    first_runs: int
    first_value_pass: int
    first_value_runs: int

    @property
    def p_promoted(self) -> float:
        return self.promoted / self.runs if self.runs else math.nan

    @property
    def p_rolled_back(self) -> float:
        return self.rolled_back / self.runs if self.runs else math.nan


def summarize(label: str, error_rate: float | None, outs: Sequence[Outcome]) -> Summary:
    decided = [o.seconds for o in outs if o.verdict != "undecided"]
    new = [float(o.new_requests) for o in outs]
    failed = [float(o.failed_requests) for o in outs]
    firsts = [o.first_check for o in outs if o.first_check]
    fv = [o.first_value_check for o in outs if o.first_value_check]
    return Summary(
        label=label, error_rate=error_rate, runs=len(outs),
        promoted=sum(o.verdict == "promoted" for o in outs),
        rolled_back=sum(o.verdict == "rolled back" for o in outs),
        t_p50=quantile(decided, 0.5), t_p95=quantile(decided, 0.95),
        new_mean=sum(new) / len(new) if new else math.nan, new_p95=quantile(new, 0.95),
        failed_mean=sum(failed) / len(failed) if failed else math.nan,
        failed_p95=quantile(failed, 0.95),
        first_pass=firsts.count("pass"), first_runs=len(firsts),
        first_value_pass=fv.count("pass"), first_value_runs=len(fv))
