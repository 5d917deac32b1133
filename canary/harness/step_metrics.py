"""Per weight step, what Linkerd saw of each backend: p50/p99 latency from the same histogram
linkerd-viz reads (``response_latency_ms_bucket``, inbound side of the destination pods) and the
success rate and request count from ``response_total``, each over the step's own window.

Queried from Prometheus once, when the recorder stops, and kept in the timeline's meta
(``step_metrics``), so the report (offline, pure) can show them.
"""

from __future__ import annotations

import math
import time
from typing import Any

import requests

from canary.harness.timeline import Timeline, weight_steps

# linkerd viz stat: histogram_quantile(q, sum(irate(response_latency_ms_bucket{..}[w]))
# by (le, deployment)) (linkerd2 viz/metrics-api/prometheus.go); over a whole step the
# increase() of the buckets is what its users experienced.
LATENCY = ('histogram_quantile({q}, sum(increase(response_latency_ms_bucket{{namespace="{ns}", '
           'deployment=~"{deps}", direction="inbound"}}[{w}])) by (le, deployment))')
RESPONSES = ('sum(increase(response_total{{namespace="{ns}", deployment=~"{deps}", '
             'direction="inbound"}}[{w}])) by (deployment, classification)')
QUANTILES = (("p50", 0.5), ("p99", 0.99))


def prom_window(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def backend_deployments(backends: dict[str, int], target: str | None) -> dict[str, str]:
    """Role (canary/primary) -> Deployment for a Flagger route: the canary Service selects the
    target's pods, the primary Service ``<target>-primary``'s (flagger pkg/router/kubernetes)."""
    out: dict[str, str] = {}
    for svc in backends:
        if svc.endswith("-canary"):
            out["canary"] = target or svc.removesuffix("-canary")
        elif svc.endswith("-primary"):
            out["primary"] = f"{target}-primary" if target else svc
    return out


def _query(url: str, query: str, at: float) -> list[tuple[dict[str, str], float]]:
    try:
        body = requests.get(url.rstrip("/") + "/api/v1/query",
                            params={"query": query, "time": f"{at:.3f}"}, timeout=5).json()
    except (requests.RequestException, ValueError):
        return []
    if body.get("status") != "success":
        return []
    out = []
    for r in (body.get("data") or {}).get("result") or []:
        try:
            out.append((dict(r.get("metric") or {}), float(r["value"][1])))
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    return out


def step_window(t0: float, t1: float, scrape_s: float, now: float) -> tuple[float, str]:
    """(evaluation time, range): the scrape after each end, so the range (t0, t1 + scrape]
    holds the sample that opened the step and the one that closed it."""
    at = min(t1 + scrape_s, now)
    return at, prom_window(max(at - t0, 2 * scrape_s))


def measure_steps(prometheus_url: str, tl: Timeline, targets: dict[tuple[str, str], str],
                  scrape_s: float) -> list[dict[str, Any]]:
    """One entry per weight step of every route: {route, namespace, t0, t1, backends: {role:
    {deployment, requests, success_rate, p50, p99}}} (a figure is None when nothing was
    answered)."""
    now = time.time()
    out: list[dict[str, Any]] = []
    routes = sorted({(str(r.get("namespace")), str(r.get("name"))) for r in tl.of("route")})
    for ns, route in routes:
        ns_targets = sorted({t for (n, _), t in targets.items() if n == ns})
        target = ns_targets[0] if len(ns_targets) == 1 else None
        last = next((r.get("backends") or {} for r in reversed(tl.of("route", name=route,
                                                                     namespace=ns))
                     if r.get("backends")), {})
        roles = backend_deployments(last, target)
        if not roles:
            continue
        deps = "|".join(sorted(set(roles.values())))
        role_of = {d: r for r, d in roles.items()}
        for st in weight_steps(tl, route, ns):
            at, w = step_window(st["t0"], st["t1"], scrape_s, now)
            figures: dict[str, dict[str, Any]] = {
                r: {"deployment": d, "requests": 0.0, "success_rate": None, "p50": None,
                    "p99": None} for r, d in roles.items()}
            ok: dict[str, float] = {}
            for labels, v in _query(prometheus_url, RESPONSES.format(ns=ns, deps=deps, w=w), at):
                role = role_of.get(labels.get("deployment", ""))
                if role is None or math.isnan(v):
                    continue
                figures[role]["requests"] += v
                if labels.get("classification") != "failure":
                    ok[role] = ok.get(role, 0.0) + v
            for role, f in figures.items():
                if f["requests"] > 0:
                    f["success_rate"] = round(100.0 * ok.get(role, 0.0) / f["requests"], 3)
                f["requests"] = round(f["requests"], 1)
            for key, q in QUANTILES:
                for labels, v in _query(prometheus_url,
                                        LATENCY.format(q=q, ns=ns, deps=deps, w=w), at):
                    role = role_of.get(labels.get("deployment", ""))
                    if role is not None and not math.isnan(v) and not math.isinf(v):
                        figures[role][key] = round(v, 2)
            out.append({"route": route, "namespace": ns, "t0": st["t0"], "t1": st["t1"],
                        "window": w, "backends": figures})
    return out
