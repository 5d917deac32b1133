"""Webhooks: Flagger's payload, status <= 202 passes, per-hook timeout scaled by the clock."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from support.flagger_world import canary_obj
from support.local_http import Peer

from canary.clock import Clock
from canary.controller.webhooks import WebhookCaller
from canary.spec.canary import parse_canary


class Hooks(Peer):
    """Answers each hook path with its code (200 unless set), after ``delay`` seconds."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.delay = 0.0
        super().__init__(self._answer)

    def _answer(self, method: str, path: str, query: dict, body: object) -> tuple[int, str]:
        if self.delay:
            time.sleep(self.delay)
        code = self.codes.get(path, 200)
        return code, "" if code <= 202 else "gate closed"

    @property
    def posts(self) -> list[tuple[str, object]]:
        return [(path, body) for _m, path, _q, body in self.calls]


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    h = Hooks()
    yield h
    h.stop()


def canary(url: str, timeout: str = "10s"):
    return parse_canary(canary_obj({"interval": "10s", "stepWeight": 10, "webhooks": [
        {"name": "load", "type": "rollout", "url": f"{url}/load", "timeout": timeout,
         "metadata": {"cmd": "hey -z 1m http://podinfo-canary.test:9898/"}},
        {"name": "a", "type": "confirm-promotion", "url": f"{url}/a"},
        {"name": "b", "type": "confirm-promotion", "url": f"{url}/b"},
        {"name": "r1", "type": "rollback", "url": f"{url}/r1"},
        {"name": "r2", "type": "rollback", "url": f"{url}/r2"}]}))


def test_payload_and_pass(hooks: Hooks) -> None:
    c = canary(hooks.url)
    hooks.codes["/load"] = 202
    [r] = WebhookCaller(Clock()).run(c, "rollout", "Progressing", "abc")
    assert r.ok and r.name == "load"
    assert hooks.posts == [("/load", {"name": "podinfo", "namespace": "test",
                                      "phase": "Progressing", "checksum": "abc",
                                      "metadata": {"cmd": "hey -z 1m http://podinfo-canary"
                                                          ".test:9898/"}})]


def test_status_above_202_fails_with_body_and_stops(hooks: Hooks) -> None:
    c = canary(hooks.url)
    hooks.codes["/a"] = 403
    results = WebhookCaller(Clock()).run(c, "confirm-promotion", "Progressing", "x")
    assert [(r.name, r.ok, r.error) for r in results] == [("a", False, "gate closed")]


def test_rollback_hooks_stop_at_first_success(hooks: Hooks) -> None:
    c = canary(hooks.url)
    hooks.codes["/r1"] = 404
    results = WebhookCaller(Clock()).run(c, "rollback", "Progressing", "x")
    assert [(r.name, r.ok) for r in results] == [("r1", False), ("r2", True)]


def test_timeout_is_time_scaled(hooks: Hooks) -> None:
    c = canary(hooks.url, timeout="10s")
    hooks.delay = 1.0
    start = time.monotonic()
    [r] = WebhookCaller(Clock(0.02)).run(c, "rollout", "Progressing", "x")  # 10s -> 0.2s
    assert not r.ok and "context deadline exceeded" in r.error
    assert time.monotonic() - start < 0.9


def test_unreachable_hook_fails() -> None:
    c = canary("http://127.0.0.1:9")
    [r] = WebhookCaller(Clock()).run(c, "rollout", "Progressing", "x")
    assert not r.ok and "127.0.0.1:9/load" in r.error
