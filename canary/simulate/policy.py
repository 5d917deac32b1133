"""Statistical assertions over simulated rollouts, for the Gherkin steps (steps_policy.py).

Each assertion runs N seeded rollouts of the seed's traffic model through the real engine and
fails with the measured figure (and its 95 % interval) when the bound does not hold.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from canary.simulate.flagger_run import FlaggerPlan, Outcome, run_flagger
from canary.simulate.manifests import load
from canary.simulate.stats import wilson
from canary.simulate.traffic import TrafficModel, VersionModel

SEED = 1


def load_policy(paths: list[Path], canary: str | None = None) -> FlaggerPlan:
    from canary.simulate.cli import pick_canary

    return pick_canary(load([str(p) for p in paths]), canary)


def rollouts(plan: FlaggerPlan, error_rate: float, runs: int,
             model: TrafficModel | None = None, seed: int = SEED) -> list[Outcome]:
    base = model or TrafficModel()
    m = replace(base, canary=replace(base.canary, error_rate=error_rate, random_error=False))
    rng = random.Random(seed)
    return [run_flagger(plan, m, rng) for _ in range(runs)]


def _check_share(outs: list[Outcome], verdict: str, at_least: float, what: str) -> str:
    k, n = sum(o.verdict == verdict for o in outs), len(outs)
    lo, hi = wilson(k, n)
    figure = (f"{what}: {verdict} in {k} of {n} simulated rollouts ({k / n:.1%}, 95% CI "
              f"{lo:.1%}-{hi:.1%})")
    if k / n < at_least:
        raise AssertionError(f"{figure}, less than the required {at_least:.1%}")
    return figure


def assert_promoted_share(plan: FlaggerPlan, error_rate: float, at_least: float,
                          runs: int) -> str:
    return _check_share(rollouts(plan, error_rate, runs), "promoted", at_least,
                        _release(error_rate))


def assert_rolled_back_share(plan: FlaggerPlan, error_rate: float, at_least: float,
                             runs: int) -> str:
    return _check_share(rollouts(plan, error_rate, runs), "rolled back", at_least,
                        _release(error_rate))


def assert_rolled_back_below(plan: FlaggerPlan, error_rate: float, below: float,
                             runs: int) -> str:
    """The policy's known shortfall: fewer than ``below`` of the rollouts are rolled back."""
    outs = rollouts(plan, error_rate, runs)
    k, n = sum(o.verdict == "rolled back" for o in outs), len(outs)
    lo, hi = wilson(k, n)
    figure = (f"{_release(error_rate)}: rolled back in {k} of {n} simulated rollouts "
              f"({k / n:.1%}, 95% CI {lo:.1%}-{hi:.1%})")
    if k / n >= below:
        raise AssertionError(f"{figure}: the policy now meets {below:.1%}, update the feature")
    return figure


def assert_mean_failed_before_rollback(plan: FlaggerPlan, error_rate: float, at_most: float,
                                       runs: int) -> str:
    """Failed requests the users saw from the new revision to the verdict, averaged."""
    outs = rollouts(plan, error_rate, runs)
    mean = sum(o.failed_requests for o in outs) / len(outs)
    back = sum(o.verdict == "rolled back" for o in outs)
    figure = (f"{_release(error_rate)}: users saw {mean:.2f} failed requests on average before "
              f"the verdict ({back} of {len(outs)} rollouts rolled back)")
    if mean > at_most:
        raise AssertionError(f"{figure}, more than the allowed {at_most:g}")
    return figure


def _release(error_rate: float) -> str:
    return "a healthy release" if error_rate == 0 else \
        f"a release failing {error_rate * 100:g}% of requests"


__all__ = ["VersionModel", "load_policy", "assert_promoted_share", "assert_rolled_back_share",
           "assert_rolled_back_below",
           "assert_mean_failed_before_rollback"]
