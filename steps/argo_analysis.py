"""Gherkin steps for Argo Rollouts analysis (thin bindings over canary.harness.argo_analysis)."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from canary.harness import argo_analysis as AA
from canary.harness.context import ScenarioContext


@when(parsers.parse('I start a new revision of rollout "{name}" in namespace "{ns}" with image '
                    '"{image}" and podinfo\'s "{flag}" flag'))
def new_rollout_revision_with_flag(canary_scenario: ScenarioContext, name: str, ns: str,
                                   image: str, flag: str) -> None:
    AA.set_rollout_revision_with_flag(canary_scenario, name, ns, image, flag)


@when(parsers.parse('the background AnalysisRun of rollout "{name}" in namespace "{ns}" has '
                    'taken {n:d} "{phase}" measurements'))
@then(parsers.parse('the background AnalysisRun of rollout "{name}" in namespace "{ns}" has '
                    'taken {n:d} "{phase}" measurements'))
def background_measurements(canary_scenario: ScenarioContext, name: str, ns: str, n: int,
                            phase: str) -> None:
    AA.wait_measurements(canary_scenario, name, ns, n, phase)


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" ran one AnalysisRun per analysis '
                    'for its revision, each "{phase}"'))
def one_run_per_analysis(canary_scenario: ScenarioContext, name: str, ns: str,
                         phase: str) -> None:
    AA.assert_one_run_per_analysis(canary_scenario, name, ns, phase)


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" is aborted by its background '
                    'AnalysisRun on metric "{metric}"'))
def aborted_by_background(canary_scenario: ScenarioContext, name: str, ns: str,
                          metric: str) -> None:
    AA.assert_aborted_by_background(canary_scenario, name, ns, metric)
