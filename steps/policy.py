"""Steps that judge a rollout policy by simulation (canary/simulate/policy.py): no cluster.

They use no environment fixture, so a feature made only of these steps starts no sandbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then

from canary.harness.manifests import resolve_manifest
from canary.simulate import policy
from canary.simulate.flagger_run import FlaggerPlan


@given(parsers.parse('the rollout policy in the manifest "{name}"'),
       target_fixture="rollout_policy")
def rollout_policy(request: pytest.FixtureRequest, name: str) -> FlaggerPlan:
    search = [Path(request.path).parent, Path(request.config.rootpath)]
    return policy.load_policy([resolve_manifest(n.strip(), search) for n in name.split(",")])


@given(parsers.parse('the rollout policy in the manifest "{name}" and this Canary:'),
       target_fixture="rollout_policy")
def rollout_policy_text(request: pytest.FixtureRequest, tmp_path: Path, name: str,
                        docstring: str) -> FlaggerPlan:
    search = [Path(request.path).parent, Path(request.config.rootpath)]
    canary = tmp_path / "canary.yaml"
    canary.write_text(docstring)
    return policy.load_policy([resolve_manifest(name, search), canary])


@then(parsers.parse("a release failing {pct:g}% of requests is rolled back in fewer than "
                    "{share:g}% of {runs:d} simulated rollouts"))
def rolled_back_below(rollout_policy: FlaggerPlan, pct: float, share: float, runs: int) -> None:
    print(policy.assert_rolled_back_below(rollout_policy, pct / 100, share / 100, runs))


@then(parsers.parse("a release failing {pct:g}% of requests is rolled back in at least "
                    "{share:g}% of {runs:d} simulated rollouts"))
def rolled_back_share(rollout_policy: FlaggerPlan, pct: float, share: float, runs: int) -> None:
    print(policy.assert_rolled_back_share(rollout_policy, pct / 100, share / 100, runs))


@then(parsers.parse("a healthy release is promoted in at least {share:g}% of {runs:d} "
                    "simulated rollouts"))
def promoted_share(rollout_policy: FlaggerPlan, share: float, runs: int) -> None:
    print(policy.assert_promoted_share(rollout_policy, 0.0, share / 100, runs))


@then(parsers.parse("users see on average at most {n:g} failed requests before a release "
                    "failing {pct:g}% of requests is rolled back"))
def mean_failed(rollout_policy: FlaggerPlan, n: float, pct: float) -> None:
    print(policy.assert_mean_failed_before_rollback(rollout_policy, pct / 100, n, 1000))
