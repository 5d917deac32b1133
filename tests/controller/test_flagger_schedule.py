"""When a canary ticks next: every period in its own phase, also after the engine fell behind
(a Go ticker drops the missed ticks and keeps its phase; Flagger runs one per canary)."""

from __future__ import annotations

import pytest

from canary.controller.flagger_loop import next_due


def test_on_time_the_next_tick_is_one_period_later() -> None:
    assert next_due(100.0, 10.0, now=100.5) == 110.0


@pytest.mark.parametrize(("now", "expected"), [(110.0, 110.0), (110.5, 120.0), (135.0, 140.0)])
def test_late_ticks_are_dropped_and_the_phase_kept(now: float, expected: float) -> None:
    assert next_due(100.0, 10.0, now) == expected


def test_canaries_that_fell_behind_together_stay_spread() -> None:
    # ten canaries a second apart, all delayed 25 s by a stall: they keep their own seconds
    # instead of all ticking at "now + period"
    now = 125.0
    nexts = [next_due(100.0 + i, 10.0, now) for i in range(10)]
    assert sorted(round(n % 10, 6) for n in nexts) == [float(i) for i in range(10)]
    assert all(now <= n < now + 10 for n in nexts)
