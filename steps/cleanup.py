"""Steps on what a scenario leaves behind, and on interrupting a run."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from canary.harness import cluster as C
from canary.harness.assertions import assert_nothing_left
from canary.harness.context import ScenarioContext


@then(parsers.parse('the objects the engine generated for canary "{name}" in namespace "{ns}" '
                    'are gone'))
def generated_gone(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    C.wait_generated_gone(canary_scenario, name, ns)


@then("nothing the scenario created remains")
def nothing_left(canary_scenario: ScenarioContext) -> None:
    assert_nothing_left(canary_scenario.cleanup())


@then(parsers.parse('the namespace "{ns}" is gone'))
def namespace_gone(canary_scenario: ScenarioContext, ns: str) -> None:
    C.wait_namespace_gone(canary_scenario, ns)


@when(parsers.parse('a pytest run of "{feature}" is interrupted with SIGTERM once canary '
                    '"{name}" in namespace "{ns}" is "{phase}"'))
def interrupted_run(canary_scenario: ScenarioContext, feature: str, name: str, ns: str,
                    phase: str) -> None:
    C.interrupted_run(canary_scenario, feature, name, ns, phase)
