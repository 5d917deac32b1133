"""Harness functions the ported Flagger e2e scenarios need (features/upstream/flagger/):
restarting the bundled engine with Flagger's flags, waiting for a field to take a value, and
measuring which version answered a meshed load generator over a time window."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from canary.harness import assertions as A
from canary.harness.context import ScenarioContext
from canary.harness.engine_process import EngineProcess
from canary.harness.traffic import STATS_PORT
from canary.harness.wait import wait_for


def restart_engine(ctx: ScenarioContext, flags: list[str],
                   add_finalizer: Callable[[Callable[[], None]], None]) -> None:
    """Run the bundled engine with extra ``flags`` for this scenario; the usual one is back
    when the scenario ends (killing the engine is safe at any moment: all state is in the API).
    """
    env: Any = ctx.env
    # alone first: the engine another scenario runs now is only known once it has finished
    ctx.take_environment("the engine restarts with this scenario's flags")
    old: EngineProcess | None = getattr(env, "engine", None)
    if old is None:
        raise A.RolloutAssertion("this scenario runs the bundled engine with its own flags, but "
                                 "the harness does not manage an engine here (--no-engine, or "
                                 "--implementation other than bundled)")
    command = list(old.command)
    old.stop()

    def start(cmd: list[str]) -> None:
        engine = env.engine = EngineProcess(cmd, old.log_path)
        engine.start()

    def restore() -> None:
        running = env.engine
        if running is not None:
            running.stop()
        start(command)

    add_finalizer(restore)
    start(command + flags)
    ctx.mark(f"engine restarted with {' '.join(flags)}")


def field_value(obj: dict[str, Any], path: str) -> Any:
    """``.status.iterations`` / ``metadata.finalizers`` -> the value, or None when absent;
    ``\\.`` is a literal dot in a key, as in kubectl's jsonpath (``a\\.b/c``)."""
    cur: Any = obj
    parts = [p.replace("\0", ".") for p in path.replace("\\.", "\0").strip(".").split(".")]
    for part in parts:
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def wait_field(ctx: ScenarioContext, api_version: str, kind: str, name: str, ns: str,
               path: str, want: str, spec_seconds: float) -> None:
    """Wait until ``path`` of the object reads ``want`` (as text; a list must contain it)."""
    client = ctx.env.client()
    seen: list[str] = []

    def reads_want() -> bool | None:
        obj = client.get_or_none(api_version, kind, name, ns)
        value = field_value(obj, path) if obj else None
        text = _text(value)
        if not seen or seen[-1] != text:
            seen.append(text)
        ok = text == want or (isinstance(value, list) and want in [_text(v) for v in value])
        return True if ok else None

    wait_for(reads_want, ctx.wall(spec_seconds),
             story=lambda why: f"{kind} {name} in namespace {ns}: {path} never became "
                               f"{want!r} within {spec_seconds:g}s (spec)\n"
                               f"  values seen: {seen}")


def _stats(ctx: ScenarioContext, name: str, ns: str) -> dict[str, Any]:
    client = ctx.env.client()
    pods = [p for p in client.items("v1", "Pod", ns, f"app={name}")
            if (p.get("status") or {}).get("phase") == "Running"
            and (p.get("status") or {}).get("podIP")]
    if not pods:
        raise A.RolloutAssertion(f"no running pod of load generator {name} in namespace {ns}")
    url = ctx.env.pod_url(pods[0], STATS_PORT) + "/stats"
    return requests.get(url, timeout=5).json()


def versions_over(ctx: ScenarioContext, name: str, ns: str, spec_seconds: float
                  ) -> dict[str, int]:
    """Answers per podinfo version the load generator got during the next ``spec_seconds``."""
    before = _stats(ctx, name, ns).get("by_version") or {}
    time.sleep(spec_seconds * ctx.time_scale)
    after = _stats(ctx, name, ns).get("by_version") or {}
    out = {v: int(n) - int(before.get(v, 0)) for v, n in after.items()}
    return {v: n for v, n in out.items() if n > 0}


def assert_versions(ctx: ScenarioContext, name: str, ns: str, version: str,
                    spec_seconds: float) -> dict[str, int]:
    seen = versions_over(ctx, name, ns, spec_seconds)
    if not seen or set(seen) != {version}:
        raise A.RolloutAssertion(f"load generator {name} in namespace {ns}, over "
                                 f"{spec_seconds:g}s (spec)\n  expected: every answer from "
                                 f"version {version}\n  observed: {seen or 'no answers'}")
    return seen


KINDS = {"canary": ("flagger.app/v1beta1", "Canary"), "deployment": ("apps/v1", "Deployment"),
         "service": ("v1", "Service"), "httproute": ("gateway.networking.k8s.io/v1beta1",
                                                     "HTTPRoute")}


def kind_of(word: str) -> tuple[str, str]:
    try:
        return KINDS[word.lower()]
    except KeyError:
        raise AssertionError(f"unknown kind {word!r} (one of {', '.join(KINDS)})") from None


