"""The one wait helper of the harness (as Argo Rollouts' e2e DSL has ``WaitForRolloutCondition``).

A step that waits names what it waits for, a condition that returns a value once it holds
(``None`` while it does not), a wall-clock timeout, and a story: the text of the failure, told
from what the cluster looks like when the wait gives up. ``abort`` ends the wait early with
its own reason (the canary failed, the engine exited), so a wait never sits out its whole
timeout on something that cannot happen any more.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from canary.harness.assertions import RolloutAssertion

T = TypeVar("T")

POLL = 0.05  # seconds between checks: the recorder's watch delivers in about this much


def wait_for(condition: Callable[[], T | None], timeout: float, *,
             story: Callable[[str], str], abort: Callable[[], str | None] | None = None,
             poll: float = POLL, sleep: Callable[[float], None] = time.sleep,
             now: Callable[[], float] = time.monotonic) -> T:
    """Return ``condition()``'s first non-None value; raise :class:`RolloutAssertion` with
    ``story(why)`` when ``abort()`` gives a reason or ``timeout`` wall seconds pass."""
    deadline = now() + timeout
    while True:
        value = condition()
        if value is not None:
            return value
        reason = abort() if abort is not None else None
        if reason:
            raise RolloutAssertion(story(reason))
        if now() > deadline:
            raise RolloutAssertion(story(f"not reached within {timeout:.0f}s wall"))
        sleep(poll)


def settle(check: Callable[[], None], timeout: float, *, poll: float = 0.1,
           sleep: Callable[[float], None] = time.sleep,
           now: Callable[[], float] = time.monotonic) -> None:
    """Run an assertion until it passes or ``timeout`` passes; then its own failure stands.

    For checks over a timeline that is still being recorded (the last event arrives through a
    watch a moment after the step that caused it)."""
    deadline = now() + timeout
    while True:
        try:
            check()
            return
        except RolloutAssertion:
            if now() > deadline:
                raise
        sleep(poll)
