"""A Canary deleted and created again under the same name ticks on one cadence, not two.

Seen in features run one after another (each re-creates namespace test and canary podinfo): the
old object's pending tick survived and ran next to the new one's, 0.1 s apart, so every
analysis counted twice and a rollback came at half the threshold x interval.
"""

from __future__ import annotations

from typing import Any

from canary.clock import FakeClock
from canary.controller.flagger_loop import FlaggerController
from canary.controller.flagger_tick import TickResult


class _Client:
    def __init__(self) -> None:
        self.canaries: list[dict[str, Any]] = []

    def items(self, *_a: Any, **_k: Any) -> list[dict[str, Any]]:
        return list(self.canaries)


CANARY = {"metadata": {"name": "podinfo", "namespace": "test"}}


def test_recreated_canary_has_a_single_schedule() -> None:
    clock, client = FakeClock(), _Client()
    ctl = FlaggerController(client, clock)  # type: ignore[arg-type]
    ticks: list[float] = []

    def tick(ns: str, name: str) -> TickResult:
        ticks.append(clock.monotonic())
        return TickResult(interval=10.0, summary="idle")

    ctl.runner.tick = tick  # type: ignore[method-assign]

    def run_due() -> None:
        for t, key, gen in ctl._due(clock.monotonic()):
            ctl._run_one(key, t, gen)

    client.canaries = [CANARY]
    ctl._list()
    run_due()  # first tick at once; the next one is due 10 s (+ phase shift) later
    clock.advance(3)
    client.canaries = []
    ctl._list()  # deleted: its pending tick stays in the heap
    clock.advance(1)
    client.canaries = [CANARY]
    ctl._list()  # created again: ticks at once, then every 10 s
    run_due()
    for _ in range(60):  # one spec minute in 0.5 s steps
        clock.advance(0.5)
        run_due()
    gaps = [round(b - a, 3) for a, b in zip(ticks[1:], ticks[2:], strict=False)]
    assert len(ticks) == 2 + len(gaps)
    assert gaps and min(gaps) >= 10.0, ticks  # never two ticks closer than the interval
