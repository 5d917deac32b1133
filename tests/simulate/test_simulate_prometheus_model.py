"""The Prometheus model: rate() extrapolation and series that appear mid-window."""

from __future__ import annotations

import math

from canary.simulate.promrate import bucket_quantile, extrapolated_rate
from canary.simulate.series import TargetSeries
from canary.simulate.traffic import Second


def _counter(rate: float, times: list[float]) -> list[tuple[float, float]]:
    return [(t, rate * t) for t in times]


def test_a_steady_counter_scraped_across_the_whole_window_gives_its_true_rate() -> None:
    samples = _counter(7.0, [103.0, 113.0, 123.0, 133.0, 143.0, 153.0])
    assert math.isclose(extrapolated_rate(samples, 100.0, 160.0, 60.0), 7.0)


def test_one_sample_is_no_rate_at_all() -> None:
    assert extrapolated_rate([(10.0, 5.0)], 0.0, 60.0, 60.0) is None


def test_a_series_starting_inside_the_window_is_extrapolated_by_half_a_scrape_only() -> None:
    # counter from 0 at t=30, 1/s, scraped at 35, 45, 55 within [0, 60]
    samples = [(35.0, 5.0), (45.0, 15.0), (55.0, 25.0)]
    got = extrapolated_rate(samples, 0.0, 60.0, 60.0)
    # 20 counted over 20 s, stretched by half a scrape (5 s) on each side, per 60 s window:
    # not to the window's edges (which would claim a full minute of traffic)
    assert got is not None
    assert math.isclose(got, 20.0 * (20.0 + 5.0 + 5.0) / 20.0 / 60.0)


def test_quantile_interpolates_inside_the_bucket_and_is_nan_without_requests() -> None:
    buckets = [(10.0, 50.0), (20.0, 100.0), (math.inf, 100.0)]
    assert math.isclose(bucket_quantile(0.75, buckets), 15.0)
    assert math.isnan(bucket_quantile(0.99, [(10.0, 0.0), (math.inf, 0.0)]))


def _series(codes_by_second: list[dict[int, int]], phase: float = 5.0) -> TargetSeries:
    s = TargetSeries(10.0, phase)
    for codes in codes_by_second:
        sec = Second()
        sec.codes.update(codes)
        s.add(sec)
    return s


def test_failures_that_only_create_their_series_are_not_seen_by_rate() -> None:
    # 200s every second; a burst of 500s in seconds 21..23 creates the failure series between
    # the scrapes at 15 and 25, and it never grows again: rate() sees no failure increase
    secs = [{200: 10} for _ in range(40)]
    for i in (21, 22, 23):
        secs[i] = {500: 10}
    s = _series(secs)
    assert s.success_rate(40.0, 60.0) == 100.0


def test_failures_after_the_series_exists_lower_the_success_rate() -> None:
    secs = [{200: 9, 500: 1} for _ in range(40)]
    rate = _series(secs).success_rate(40.0, 60.0)
    assert rate is not None and math.isclose(rate, 90.0)


def test_a_canary_with_a_single_scrape_has_no_values() -> None:
    secs = [{} for _ in range(10)] + [{200: 1} for _ in range(10)]
    assert _series(secs, phase=5.0).success_rate(20.0, 60.0) is None
