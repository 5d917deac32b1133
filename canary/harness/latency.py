"""Latency as Linkerd saw it, from Prometheus: quantiles of ``response_latency_ms`` per backend.

The same histogram a latency MetricTemplate judges (inbound side of the destination pods), taken
over a whole rollout rather than one analysis window, so a step can say what users of each
backend experienced. Figures are spec milliseconds at every time scale (docs/time-scale.md).
"""

from __future__ import annotations

import math
import re
import time
from typing import TYPE_CHECKING

import requests

from canary.clock import format_duration
from canary.harness.timeline import events_for, phase_changes, rollout_window

if TYPE_CHECKING:
    from canary.harness.context import ScenarioContext

LATENCY_QUERY = (
    'histogram_quantile({q}, sum(increase(response_latency_ms_bucket{{namespace="{ns}", '
    'deployment=~"{target}", direction="inbound"}}[{window}])) by (le))'
)


class LatencyUnavailable(AssertionError):
    """Prometheus gave no latency figure; the message says why."""


def linkerd_latency_ms(prometheus_url: str, namespace: str, deployment: str, quantile: float,
                       start: float, end: float, scrape_s: float) -> float:
    """The ``quantile`` of the inbound latency of ``deployment`` between two wall times.

    Evaluated one scrape after ``end`` so the last answers of the rollout are in; the range
    reaches one scrape before ``start`` so the first ones are too.
    """
    window = format_duration(max(end - start, 0.0) + 2 * scrape_s)
    query = LATENCY_QUERY.format(q=quantile, ns=namespace, target=deployment, window=window)
    try:
        r = requests.get(prometheus_url.rstrip("/") + "/api/v1/query",
                         params={"query": query, "time": f"{end + scrape_s:.3f}"}, timeout=5)
        body = r.json()
    except (requests.RequestException, ValueError) as e:
        raise LatencyUnavailable(f"Prometheus at {prometheus_url} did not answer {query}: {e}") \
            from None
    result = (body.get("data") or {}).get("result") or []
    if body.get("status") != "success" or not result:
        raise LatencyUnavailable(f"Prometheus has no response_latency_ms series for deployment "
                                 f"{deployment} in namespace {namespace} during the rollout "
                                 f"(query {query}: {body.get('error') or 'empty result'})")
    value = float(result[0]["value"][1])
    if math.isnan(value):
        raise LatencyUnavailable(f"deployment {deployment} in namespace {namespace} answered no "
                                 f"requests during the rollout (query {query} is NaN)")
    return value


def compare(value: float, op: str, bound: float) -> bool:
    """``above`` / ``below`` / ``at most`` / ``at least``, as a step says it."""
    ops = {"above": value > bound, "below": value < bound, "at most": value <= bound,
           "at least": value >= bound}
    if op not in ops:
        raise AssertionError(f"unknown comparison {op!r} (expected one of {', '.join(ops)})")
    return ops[op]


def check_rollout_latency(ctx: ScenarioContext, quantile_pct: int, op: str, bound_ms: float,
                          deployment: str, namespace: str, canary: str) -> float:
    """Assert Linkerd's ``p<quantile_pct>`` for ``deployment`` over the latest rollout of
    ``canary``; p50 and p99 are marked on the scenario's timeline either way."""
    if not 0 < quantile_pct < 100:
        raise AssertionError(f"p{quantile_pct}: the quantile must be between p1 and p99")
    url = ctx.env.prometheus_url()
    if not url:
        raise AssertionError("Prometheus (prometheus.linkerd-viz:9090) is not reachable")
    tl = ctx.timeline()
    changes = phase_changes(tl, canary, namespace)
    latest = sum(1 for i, (_, p) in enumerate(changes)
                 if p == "Progressing" and (i == 0 or changes[i - 1][1] != "Progressing"))
    start, end = rollout_window(tl, canary, namespace, max(latest, 1))
    end = end if end is not None else time.time()
    scrape_s = 10 * ctx.time_scale  # linkerd-viz scrapes every 10s
    figures = {q: linkerd_latency_ms(url, namespace, deployment, q / 100, start, end, scrape_s)
               for q in sorted({50, 99, quantile_pct})}
    ctx.mark(f"Linkerd latency of {deployment} during the rollout of {canary}: "
             + ", ".join(f"p{q} {v:.0f} ms" for q, v in figures.items()))
    value = figures[quantile_pct]
    if not compare(value, op, bound_ms):
        raise AssertionError(
            f"Linkerd saw a p{quantile_pct} latency of {value:.0f} ms for deployment "
            f"{deployment} in namespace {namespace} during the rollout of canary {canary}, "
            f"expected {op} {bound_ms:g} ms (p50 {figures[50]:.0f} ms, p99 {figures[99]:.0f} ms; "
            f"time scale {ctx.time_scale:g})")
    return value



def check_threshold_halts(ctx: ScenarioContext, canary: str, namespace: str, metric: str,
                          at_least: int) -> int:
    """Count Flagger's "Halt <name>.<ns> advancement <metric> <value> > <max>" events: proof that
    checks failed on the metric's value, not on "no values found"."""
    # flagger pkg/controller/scheduler_metrics.go: "Halt %s.%s advancement %s %.2f > %v"
    pattern = re.compile(rf"^Halt {re.escape(canary)}\.{re.escape(namespace)} advancement "
                         rf"{re.escape(metric)} [0-9.]+ > ")
    evs = [e for e in events_for(ctx.timeline(), f"Canary/{canary}", namespace)
           if pattern.match(e.get("message") or "")]
    seen: dict[str, int] = {}
    for e in evs:  # one Event object per message; its count only grows
        seen[e["message"]] = max(seen.get(e["message"], 0), int(e.get("count") or 1))
    n = sum(seen.values())
    if n < at_least:
        raise AssertionError(f"canary {canary}.{namespace} halted {n} times on {metric} above "
                             f"its threshold, expected at least {at_least}; halts seen: "
                             f"{sorted(seen) or 'none'}")
    return n
