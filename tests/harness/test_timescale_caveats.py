"""A time-scaled scenario says, in its report and in a warning, what the scale cannot keep."""

from __future__ import annotations

import pytest

from canary.harness.report import ScenarioRecord, render_scenario
from canary.harness.timeline import Timeline
from canary.harness.timescale import TimeScaleWarning, caveats, warn_time_scale


def _rec() -> ScenarioRecord:
    return ScenarioRecord(nodeid="f::s", feature="f", name="s", outcome="passed")


def test_a_scaled_scenario_report_lists_what_is_not_invariant() -> None:
    page = render_scenario(_rec(), Timeline(time_scale=0.05))
    assert "time scale 0.05: what it does not keep invariant" in page
    assert page.count("<li>") == len(caveats(0.05)) > 0
    assert "20x" in page  # the figures follow the scale
    assert "time scale" not in render_scenario(_rec(), Timeline(time_scale=1.0))


def test_the_warning_names_the_scale_and_is_silent_at_scale_one() -> None:
    with pytest.warns(TimeScaleWarning, match=r"time scale 0\.25: the schedule runs 4x faster"):
        warn_time_scale(0.25)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_time_scale(1.0)
