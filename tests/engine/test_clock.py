import threading

import pytest

from canary.clock import Clock, FakeClock, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10s", 10), ("1m", 60), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), (10, 10), ("15", 15)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "10x", "s10", "1m 30s", "-5s", True])
def test_parse_duration_rejects_bad_input_naming_it(bad):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(bad)


@pytest.mark.parametrize(("seconds", "text"), [(3, "3s"), (60, "1m"), (0.5, "500ms"), (90, "90s")])
def test_format_duration_is_promql_compatible(seconds, text):
    assert format_duration(seconds) == text


def test_time_scale_shrinks_spec_durations():
    assert Clock(0.05).scaled(10) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="time scale"):
        Clock(0)


def test_fake_clock_advances_without_sleeping():
    clock = FakeClock(start=100.0)
    clock.sleep(10)
    assert clock.now() == 110.0
    ev = threading.Event()
    assert clock.wait(ev, 5) is False
    assert clock.now() == 115.0
    ev.set()
    assert clock.wait(ev, 5) is True
    assert clock.now() == 115.0
