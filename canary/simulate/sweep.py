"""An error-rate sweep: N rollouts per row, one seeded generator per row (reproducible)."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from canary.simulate.argo_run import ArgoPlan, run_argo
from canary.simulate.flagger_run import FlaggerPlan, Outcome, run_flagger
from canary.simulate.stats import Summary, summarize, wilson
from canary.simulate.traffic import TrafficModel, VersionModel

DEFAULT_RATES = (0.0, 0.005, 0.01, 0.02, 0.05, 0.10, 0.50)


@dataclass(frozen=True)
class SweepConfig:
    runs: int = 1000
    seed: int = 1
    rates: tuple[float, ...] = DEFAULT_RATES
    random_error: bool = True  # add a podinfo --random-error row
    latencies: tuple[float, ...] = ()  # p99 ms of a healthy new version, one row each
    previous_until: float | None = None
    previous_retain: float = 30.0
    promote_after: float = 0.0  # Argo: spec seconds a person takes to promote a pause: {}


Plan = FlaggerPlan | ArgoPlan


def run_one(plan: Plan, model: TrafficModel, rng: random.Random, cfg: SweepConfig) -> Outcome:
    if isinstance(plan, ArgoPlan):
        return run_argo(plan, model, rng, cfg.promote_after)
    return run_flagger(plan, model, rng, cfg.previous_until, cfg.previous_retain)


def run_row(plan: Plan, model: TrafficModel, cfg: SweepConfig, label: str,
            error_rate: float | None, row: int) -> Summary:
    rng = random.Random(cfg.seed * 1_000_003 + row)
    outs = [run_one(plan, model, rng, cfg) for _ in range(cfg.runs)]
    return summarize(label, error_rate, outs)


def sweep(plan: Plan, base: TrafficModel, cfg: SweepConfig) -> list[Summary]:
    rows = []
    for i, rate in enumerate(cfg.rates):
        model = replace(base, canary=replace(base.canary, error_rate=rate, random_error=False))
        rows.append(run_row(plan, model, cfg, f"{rate * 100:g}% errors", rate, i))
    if cfg.random_error:
        model = replace(base, canary=VersionModel(random_error=True,
                                                  latency_p50_ms=base.canary.latency_p50_ms,
                                                  latency_p99_ms=base.canary.latency_p99_ms))
        rows.append(run_row(plan, model, cfg, "podinfo --random-error", None, len(cfg.rates)))
    for j, p99 in enumerate(cfg.latencies):
        p50 = min(base.canary.latency_p50_ms, p99)
        model = replace(base, canary=VersionModel(latency_p50_ms=p50, latency_p99_ms=p99))
        rows.append(run_row(plan, model, cfg, f"0% errors, p99 {p99:g}ms", None,
                            len(cfg.rates) + 1 + j))
    return rows


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def table(rows: list[Summary]) -> str:
    head = ("release", "P(promoted)", "P(rolled back)", "verdict p50", "verdict p95",
            "new-version reqs", "failed reqs (mean/p95)", "1st check passes")
    lines = [head]
    for r in rows:
        lines.append((r.label, _pct(r.p_promoted), _pct(r.p_rolled_back), f"{r.t_p50:g}s",
                      f"{r.t_p95:g}s", f"{r.new_mean:.0f}", f"{r.failed_mean:.1f} / "
                      f"{r.failed_p95:g}",
                      _pct(r.first_pass / r.first_runs) if r.first_runs else "-"))
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                     for i, (c, w) in enumerate(zip(row, widths, strict=True)))
           for row in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def first_check_line(r: Summary) -> str:
    lo, hi = wilson(r.first_pass, r.first_runs)
    vlo, vhi = wilson(r.first_value_pass, r.first_value_runs)
    return (f"{r.label}: the first check after the first weight step passes in "
            f"{r.first_pass}/{r.first_runs} rollouts ({_pct(r.first_pass / max(1, r.first_runs))}"
            f", 95% CI {_pct(lo)}-{_pct(hi)}); the first check that had values passes in "
            f"{r.first_value_pass}/{r.first_value_runs} "
            f"({_pct(r.first_value_pass / max(1, r.first_value_runs))}, 95% CI {_pct(vlo)}-"
            f"{_pct(vhi)})")
