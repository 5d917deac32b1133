"""Flagger webhooks: POST {name, namespace, phase, checksum, metadata}; status <= 202 passes."""

from __future__ import annotations

import logging
from collections.abc import Callable

import requests

from canary.clock import Clock
from canary.engine.hashing import compute_hash
from canary.engine.types import HookResult
from canary.spec.canary import CanarySpec, WebhookSpec

log = logging.getLogger("canary.webhooks")

Resolver = Callable[..., str]


def canary_checksum(status: dict) -> str:
    """Flagger's canaryChecksum: hash of trackedConfigs + lastAppliedSpec."""
    return compute_hash({"trackedConfigs": status.get("trackedConfigs") or {},
                         "lastAppliedSpec": status.get("lastAppliedSpec", "")})


class WebhookCaller:
    def __init__(self, clock: Clock, resolve_url: Resolver | None = None,
                 session: requests.Session | None = None) -> None:
        self.clock = clock
        self.resolve_url = resolve_url or (lambda url, namespace=None: url)
        self.session = session or requests.Session()

    def call(self, c: CanarySpec, hook: WebhookSpec, phase: str, checksum: str,
             metadata: dict[str, str] | None = None) -> HookResult:
        payload = {"name": c.name, "namespace": c.namespace, "phase": phase,
                   "checksum": checksum, "metadata": metadata or dict(hook.metadata)}
        try:
            url = self.resolve_url(hook.url, c.namespace)
        except Exception as e:  # noqa: BLE001 - ResolveError or friends: a failed hook
            return HookResult(hook.name, False, f"cannot resolve {hook.url}: {e}")
        timeout = max(0.05, self.clock.scaled(hook.timeout))
        attempts = 1 + max(0, hook.retries)
        err = ""
        for _ in range(attempts):
            try:
                r = self.session.post(url, json=payload, timeout=timeout)
            except requests.Timeout:
                err = f"Post \"{hook.url}\": context deadline exceeded"
                continue
            except requests.RequestException as e:
                err = f"Post \"{hook.url}\": {e.__class__.__name__}: connection failed"
                continue
            if r.status_code > 202:
                body = r.text.strip()[:500]
                return HookResult(hook.name, False, body or f"status {r.status_code}")
            return HookResult(hook.name, True)
        log.info("webhook %s (%s) for %s.%s failed: %s", hook.name, hook.type, c.name,
                 c.namespace, err)
        return HookResult(hook.name, False, err)

    def run(self, c: CanarySpec, type_: str, phase: str, checksum: str,
            stop_at_first_failure: bool = True) -> list[HookResult]:
        out = []
        for hook in c.analysis.hooks(type_):
            res = self.call(c, hook, phase, checksum)
            out.append(res)
            # confirm-* and pre-rollout stop at the first failure; rollback at the first ok
            if type_ == "rollback" and res.ok:
                break
            if stop_at_first_failure and type_ != "rollback" and not res.ok:
                break
        return out
