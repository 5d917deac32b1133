"""Checks on what ``linkerd viz stat`` printed: its table read back as a user reads it, the
RPS split between deployments against the HTTPRoute's weights, and the pods it lists."""

from __future__ import annotations

import math
import time

from canary.harness.assertions import RolloutAssertion
from canary.harness.context import ScenarioContext
from canary.harness.wait import wait_for

SIGMAS = 4.0  # a share this far from the weight is not sampling noise
ROUNDING_RPS = 0.05  # RPS is printed with one decimal


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of a ``linkerd viz stat`` table as {column: cell}."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("NAME"):
        raise RolloutAssertion(f"expected a `linkerd viz stat` table, got:\n{text or '<nothing>'}")
    header = lines[0].split()
    rows = []
    for ln in lines[1:]:
        cells = ln.split()
        if len(cells) != len(header):
            raise RolloutAssertion(f"row {ln!r} does not have the columns {' '.join(header)}")
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def rps(cell: str) -> float | None:
    return None if cell == "-" else float(cell.removesuffix("rps"))


def share_problems(rows: list[dict[str, str]], expected: dict[str, float],
                   window_s: float) -> list[str]:
    """Where the RPS shares of the rows named in ``expected`` (name -> weight %) miss the
    weights by more than the sampling error of the requests the window held."""
    by_name = {r["NAME"]: r for r in rows}
    missing = [n for n in expected if n not in by_name or rps(by_name[n]["RPS"]) is None]
    if missing:
        return [f"no traffic row for {', '.join(missing)} (rows: {', '.join(by_name) or 'none'})"]
    rates = {n: rps(by_name[n]["RPS"]) or 0.0 for n in expected}
    total_rate = sum(rates.values())
    total_w = sum(expected.values())
    if total_rate <= 0 or total_w <= 0:
        return [f"no requests in the window (RPS {rates})"]
    n = total_rate * window_s
    out = []
    for name, w in expected.items():
        p = w / total_w
        got = rates[name] / total_rate
        tol = SIGMAS * math.sqrt(p * (1 - p) / n) + ROUNDING_RPS * len(rates) / total_rate
        if abs(got - p) > tol:
            out.append(f"{name}: {got:.1%} of {total_rate:.1f}rps, the route gives it "
                       f"{p:.0%} (allowed ±{tol:.1%} for ~{n:.0f} requests)")
    return out


def service_deployments(ctx: ScenarioContext, ns: str, services: list[str]) -> dict[str, str]:
    """Service -> the Deployment whose pods it selects (a stat row is a Deployment)."""
    client = ctx.env.client()
    deps = client.items("apps/v1", "Deployment", ns)
    out = {}
    for name in services:
        sel = ((client.get("v1", "Service", name, ns).get("spec") or {}).get("selector")) or {}
        for d in deps:
            labels = ((((d.get("spec") or {}).get("template") or {}).get("metadata") or {})
                      .get("labels") or {})
            if sel and all(labels.get(k) == v for k, v in sel.items()):
                out[name] = d["metadata"]["name"]
    return out


def keep_output(ctx: ScenarioContext) -> None:
    """The table goes to the report (timeline meta ``linkerd_stat``) with its command."""
    t, command = ctx.markers[-1] if ctx.markers else (time.time(), "")
    assert ctx.buffer is not None
    ctx.buffer.timeline.meta.setdefault("linkerd_stat", []).append(
        {"t": t, "command": command, "output": ctx.last_output})


def check_shares(ctx: ScenarioContext, names: list[str], route: str, ns: str,
                 window_s: float = 60.0) -> None:
    from canary.harness.cluster import get_route
    from canary.harness.recorder import route_backends

    keep_output(ctx)
    weights = route_backends(get_route(ctx, route, ns))
    dep_of = service_deployments(ctx, ns, list(weights))
    expected = {dep_of.get(svc, svc): float(w) for svc, w in weights.items()}
    if sorted(expected) != sorted(names):
        raise RolloutAssertion(f"HTTPRoute {route} splits between deployments "
                               f"{', '.join(sorted(expected))}, not {', '.join(names)}")
    problems = share_problems(parse_table(ctx.last_output), expected, window_s)
    if problems:
        raise RolloutAssertion("`linkerd viz stat` RPS does not follow the route weights:\n  "
                               + "\n  ".join(problems) + f"\noutput:\n{ctx.last_output}")


def check_pods(ctx: ScenarioContext, deployments: list[str], ns: str, status: str) -> None:
    """One row per running pod of the deployments, with STATUS ``status`` and meshed."""
    keep_output(ctx)
    rows = {r["NAME"]: r for r in parse_table(ctx.last_output)}
    client = ctx.env.client()
    want = []
    for d in deployments:
        sel = (client.get("apps/v1", "Deployment", d, ns).get("spec") or {}).get("selector") or {}
        match = ",".join(f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items())
        want += [p["metadata"]["name"] for p in client.items("v1", "Pod", ns,
                                                               label_selector=match)
                 if (p.get("status") or {}).get("phase") == "Running"
                 and not p["metadata"].get("deletionTimestamp")]
    problems = [f"pod {p}: no row" for p in want if p not in rows]
    problems += [f"pod {p}: STATUS {rows[p].get('STATUS')}, MESHED {rows[p].get('MESHED')}"
                 for p in want if p in rows
                 and (rows[p].get("STATUS") != status or rows[p].get("MESHED") != "1/1")]
    if not want or problems:
        raise RolloutAssertion("`linkerd viz stat po` does not list the pods of "
                               f"{', '.join(deployments)}: " + ("; ".join(problems) or
                                                                "no running pods")
                               + f"\noutput:\n{ctx.last_output}")


def wait_route_held(ctx: ScenarioContext, route: str, ns: str, backend: str, weight: int,
                    spec_s: float) -> None:
    """Until the route has sent ``weight``% to ``backend`` for ``spec_s`` spec seconds."""
    from canary.harness.cluster import get_route
    from canary.harness.recorder import route_backends

    since: list[float] = []

    def held() -> bool | None:
        w = route_backends(get_route(ctx, route, ns)).get(backend)
        if w != weight:
            if since:
                raise RolloutAssertion(f"HTTPRoute {route} moved {backend} from {weight}% to "
                                       f"{w}% before {spec_s:g} spec seconds passed")
            return None
        if not since:
            since.append(time.monotonic())
        return True if time.monotonic() - since[0] >= spec_s * ctx.time_scale else None

    def story(why: str) -> str:
        now = route_backends(get_route(ctx, route, ns))
        return f"HTTPRoute {route} did not hold {backend} at {weight}%: {why}; it sends {now}"

    wait_for(held, ctx.wall(spec_s + 600), story=story)
