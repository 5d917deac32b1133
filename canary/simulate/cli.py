"""``canary simulate FILE...``: the sweep table, the first-check line and an HTML page."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from canary.clock import parse_duration
from canary.simulate.argo_run import ArgoPlan, plan_argo
from canary.simulate.flagger_run import FlaggerPlan, plan_flagger
from canary.simulate.manifests import Manifests, SimulationError, load
from canary.simulate.sweep import DEFAULT_RATES, SweepConfig, first_check_line, sweep, table
from canary.simulate.traffic import TrafficModel, VersionModel


def _rates(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) / 100 for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--rates: {text!r} is not a comma-separated list of "
                                         f"percentages (e.g. 0,1,2,5)") from None
    if not vals or any(not 0 <= v <= 1 for v in vals):
        raise argparse.ArgumentTypeError("--rates: every rate must be between 0 and 100")
    return vals


def _latencies(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--latencies: {text!r} is not a comma-separated list "
                                         f"of milliseconds") from None
    if not vals or any(v <= 0 for v in vals):
        raise argparse.ArgumentTypeError("--latencies: every latency must be > 0 ms")
    return vals


def _duration(text: str) -> float:
    try:
        v = parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return v


def _duration_or_zero(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="canary simulate", description=__doc__)
    p.add_argument("files", nargs="+", help="YAML files: a Canary and its MetricTemplates")
    p.add_argument("--canary", help="which Canary (name or namespace/name) when several")
    p.add_argument("--runs", type=int, default=1000, help="rollouts per row (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--rates", type=_rates, default=DEFAULT_RATES,
                   help="error rates of the new version in %% (default 0,0.5,1,2,5,10,50)")
    p.add_argument("--no-random-error", action="store_true",
                   help="leave out the podinfo --random-error row")
    p.add_argument("--rps", type=int, default=10,
                   help="requests per spec second through the route (the seed's slow_cooker "
                        "-qps 10 -concurrency 1: 10)")
    p.add_argument("--primary-error-rate", type=float, default=0.0,
                   help="error rate of the running version in %% (default 0)")
    p.add_argument("--latency-p50", type=float, default=2.0, help="new version p50 ms")
    p.add_argument("--latency-p99", type=float, default=8.0, help="new version p99 ms")
    p.add_argument("--latencies", type=_latencies, default=(),
                   help="also sweep the new version's p99 latency (ms, comma-separated; "
                        "healthy, p50 from --latency-p50): matters with latency metrics")
    p.add_argument("--scrape-interval", type=_duration, default=10.0,
                   help="Prometheus scrape interval (default 10s, linkerd-viz)")
    p.add_argument("--previous-traffic", type=_duration, default=None, metavar="DURATION",
                   help="the target's old pods served traffic until DURATION before the new "
                        "revision (a rollout started soon after initialization); default: "
                        "long before")
    p.add_argument("--promote-after", type=_duration_or_zero, default=0.0, metavar="DURATION",
                   help="Argo: how long a person takes to promote an indefinite pause "
                        "(default 0s)")
    p.add_argument("--html", default="reports/simulate.html",
                   help="where to write the HTML page (default reports/simulate.html)")
    p.add_argument("--replay", metavar="TIMELINE",
                   help="replay a recorded timeline (reports/timelines/*.json) against FILE")
    p.add_argument("--profile", action="store_true", help="print the 15 costliest functions")
    return p


def pick_rollout(m: Manifests, which: str | None) -> ArgoPlan:
    def key(o: dict) -> str:
        md = o.get("metadata") or {}
        return f"{md.get('namespace') or 'default'}/{md.get('name')}"

    cands = [o for o in m.rollouts if which is None or which in (key(o).split("/")[1], key(o))]
    if not cands:
        raise SimulationError(f"--canary {which}: no such Rollout (have: "
                              f"{', '.join(key(o) for o in m.rollouts)})")
    if len(cands) > 1:
        raise SimulationError(f"several Rollouts ({', '.join(key(o) for o in cands)}): "
                              f"choose one with --canary")
    if m.analysis_templates or (cands[0].get("spec") or {}).get("strategy", {}).get(
            "canary", {}).get("analysis"):
        raise SimulationError(f"Rollout {key(cands[0])}: analysis runs are not simulated "
                              f"(only steps)")
    return plan_argo(cands[0])


def pick_plan(m: Manifests, which: str | None) -> FlaggerPlan | ArgoPlan:
    if not m.canaries and m.rollouts:
        return pick_rollout(m, which)
    return pick_canary(m, which)


def pick_canary(m: Manifests, which: str | None) -> FlaggerPlan:
    if not m.canaries:
        raise SimulationError("no flagger.app/v1beta1 Canary or argoproj.io Rollout in the "
                              "given files")
    cands = [c for c, _ in m.canaries
             if which is None or which in (c.name, f"{c.namespace}/{c.name}")]
    if which is not None and not cands:
        raise SimulationError(f"--canary {which}: no such Canary (have: "
                              f"{', '.join(c.key for c, _ in m.canaries)})")
    if len(cands) > 1:
        raise SimulationError(f"several Canaries ({', '.join(c.key for c in cands)}): "
                              f"choose one with --canary")
    return plan_flagger(cands[0], m.templates)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.runs < 1:
            raise SimulationError(f"--runs must be >= 1, got {args.runs}")
        if not 0 <= args.primary_error_rate <= 100:
            raise SimulationError("--primary-error-rate must be between 0 and 100")
        if args.rps < 1:
            raise SimulationError(f"--rps must be >= 1, got {args.rps}")
        if not 0 < args.latency_p50 <= args.latency_p99:
            raise SimulationError("--latency-p50 must be > 0 and <= --latency-p99")
        manifests = load(args.files)
        if args.replay:
            plan = pick_canary(manifests, args.canary)
            from canary.simulate.replay import main_replay

            return main_replay(plan, Path(args.replay))
        return _sweep(pick_plan(manifests, args.canary), args)
    except SimulationError as e:
        print(f"canary simulate: error: {e}", file=sys.stderr)
        return 2


def _title(plan: FlaggerPlan | ArgoPlan, args: argparse.Namespace) -> str:
    tail = f"{args.rps} req/s, {args.runs} rollouts per row"
    if isinstance(plan, ArgoPlan):
        steps = ", ".join(s.describe() for s in plan.new.steps)
        return (f"Rollout {plan.new.namespace}/{plan.new.name}: {steps} (no analysis; "
                f"an indefinite pause is promoted after {args.promote_after:g}s); {tail}")
    c, a = plan.spec, plan.spec.analysis
    steps = (f"stepWeights {list(a.step_weights)}" if a.step_weights
             else f"stepWeight {a.step_weight}")
    return (f"Canary {c.namespace}/{c.name}: interval {a.interval:g}s, threshold "
            f"{a.threshold}, {steps}, maxWeight {a.max_weight}; {tail}")


def _sweep(plan: FlaggerPlan | ArgoPlan, args: argparse.Namespace) -> int:
    base = TrafficModel(rps=args.rps,
                        canary=VersionModel(latency_p50_ms=args.latency_p50,
                                            latency_p99_ms=args.latency_p99),
                        primary=VersionModel(error_rate=args.primary_error_rate / 100),
                        scrape_interval=args.scrape_interval)
    cfg = SweepConfig(runs=args.runs, seed=args.seed, rates=args.rates,
                      random_error=not args.no_random_error,
                      previous_until=args.previous_traffic, latencies=args.latencies,
                      promote_after=args.promote_after)
    started = time.perf_counter()
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        rows = prof.runcall(sweep, plan, base, cfg)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(15)
    else:
        rows = sweep(plan, base, cfg)
    took = time.perf_counter() - started
    title = _title(plan, args)
    text = table(rows)
    notes = [first_check_line(r) for r in rows
             if r.label == "podinfo --random-error" and r.first_runs]
    notes.append(f"time to verdict is spec time from the new revision's first tick; "
                 f"{len(rows) * args.runs} rollouts in {took:.1f} s (seed {args.seed})")
    print(title)
    print(text)
    for n in notes:
        print(n)
    path = Path(args.html)
    from canary.simulate import html

    html.write(path, title, rows, text, notes)
    print(f"wrote {path}")
    return 0
