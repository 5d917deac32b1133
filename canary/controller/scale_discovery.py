"""The engine learns the time scale of the cluster it runs against (docs/time-scale.md).

The sandbox publishes its scale in ConfigMap ``kube-system/canary-sandbox`` (``data.timeScale``)
at every API server start. A cluster without that ConfigMap is a real cluster: scale 1. An
explicit ``--time-scale`` that differs from the published one is refused: an engine at scale 1
against a sandbox scraping every 0.5 s fails every check with "no values found" and no hint why.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from canary.kube.client import ApiError, ApiUnavailable, KubeClient, NotFound

NAMESPACE, NAME, KEY = "kube-system", "canary-sandbox", "timeScale"
SOURCE = f"ConfigMap {NAMESPACE}/{NAME} data.{KEY}"


class ScaleMismatch(Exception):
    """The time scale cannot be settled; the message is for the user."""


def published_scale(client: KubeClient) -> float | None:
    """The scale the cluster publishes, or None when it publishes none (a real cluster).

    Raises ScaleMismatch when the published value is not a number > 0, ApiUnavailable when the
    API cannot be reached.
    """
    try:
        cm = client.request("GET", f"/api/v1/namespaces/{NAMESPACE}/configmaps/{NAME}").json()
    except NotFound:
        return None
    except ApiError as e:
        if e.code in (401, 403):  # a real cluster where we may not read kube-system
            return None
        raise ScaleMismatch(f"cannot read {SOURCE}: {e}") from None
    raw = ((cm or {}).get("data") or {}).get(KEY)
    if raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ScaleMismatch(f"{SOURCE} is {raw!r}, not a number") from None
    if not value > 0:
        raise ScaleMismatch(f"{SOURCE} must be > 0, got {raw!r}")
    return value


def settle_scale(explicit: float | None, read: Callable[[], float | None],
                 wait_s: float = 15.0, sleep: Callable[[float], None] = time.sleep) -> float:
    """The scale to run at: the published one, checked against an explicit ``--time-scale``.

    ``read`` is :func:`published_scale` bound to a client; an unreachable API is retried for
    ``wait_s`` (a sandbox may still be starting), then an explicit scale is trusted and a
    missing one is an error: guessing 1 against a sandbox gives wrong verdicts.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            published = read()
            break
        except ApiUnavailable as e:
            if time.monotonic() >= deadline:
                if explicit is not None:
                    return explicit
                raise ScaleMismatch(f"cannot read the cluster's time scale ({SOURCE}): {e}; "
                                    "start the cluster first or pass --time-scale") from None
            sleep(0.5)
    if published is None:
        return explicit if explicit is not None else 1.0
    if explicit is not None and abs(explicit - published) > 1e-9 * max(explicit, published):
        raise ScaleMismatch(
            f"--time-scale {explicit:g} differs from the cluster's time scale {published:g} "
            f"({SOURCE}); run without --time-scale to use {published:g}, or restart the "
            f"sandbox with --time-scale {explicit:g}")
    return published
