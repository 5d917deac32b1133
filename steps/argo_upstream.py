"""Steps for the ported Argo Rollouts and Gateway API plugin e2e scenarios
(features/upstream/argo/); thin calls into ``canary.harness.argo_upstream``."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from canary.clock import parse_duration
from canary.harness import argo_upstream as U
from canary.harness.context import ScenarioContext

_RO = 'the rollout "{name}" in namespace "{ns}"'


@when(parsers.parse('I update the spec of rollout "{name}" in namespace "{ns}"'))
def update_spec(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    U.update_spec(canary_scenario, name, ns)


@given(parsers.parse('I patch the rollout "{name}" in namespace "{ns}" with:'))
@when(parsers.parse('I patch the rollout "{name}" in namespace "{ns}" with:'))
def patch_rollout(canary_scenario: ScenarioContext, name: str, ns: str, docstring: str) -> None:
    U.patch_with(canary_scenario, name, ns, docstring)


@when(parsers.parse('I scale the rollout "{name}" in namespace "{ns}" to {n:d} replicas'))
def scale_rollout(canary_scenario: ScenarioContext, name: str, ns: str, n: int) -> None:
    U.scale(canary_scenario, name, ns, n)


@then(parsers.parse(_RO + ' has {c:d} canary and {s:d} stable pods'))
def canary_stable_pods(canary_scenario: ScenarioContext, name: str, ns: str, c: int,
                       s: int) -> None:
    U.check_canary_stable_pods(canary_scenario, name, ns, c, s)


@then(parsers.parse(_RO + ' has {n:d} pods of revision {rev:d}'))
def revision_pods(canary_scenario: ScenarioContext, name: str, ns: str, n: int,
                  rev: int) -> None:
    U.check_revision_pods(canary_scenario, name, ns, rev, n)


@then(parsers.parse(_RO + ' has status.{field} {n:d}'))
def status_replicas(canary_scenario: ScenarioContext, name: str, ns: str, field: str,
                    n: int) -> None:
    U.check_status_replicas(canary_scenario, name, ns, field, n)


@then(parsers.parse(_RO + ' emitted the event reasons:'))
def event_reasons(canary_scenario: ScenarioContext, name: str, ns: str, docstring: str) -> None:
    U.check_event_reasons(canary_scenario, name, ns, docstring)


@given(parsers.parse(_RO + ' is "{phase}" after any phases'))
@when(parsers.parse(_RO + ' is "{phase}" after any phases'))
@then(parsers.parse(_RO + ' is "{phase}" after any phases'))
def phase_any_path(canary_scenario: ScenarioContext, name: str, ns: str, phase: str) -> None:
    U.wait_phase_any_path(canary_scenario, name, ns, phase)


@given(parsers.parse('the {kind} "{name}" in namespace "{ns}" matches within {within}:'))
@when(parsers.parse('the {kind} "{name}" in namespace "{ns}" matches within {within}:'))
@then(parsers.parse('the {kind} "{name}" in namespace "{ns}" matches within {within}:'))
def object_matches(canary_scenario: ScenarioContext, kind: str, name: str, ns: str,
                   within: str, docstring: str) -> None:
    U.wait_matches(canary_scenario, kind, name, ns, docstring, parse_duration(within))


@then(parsers.parse(_RO + ' has {n:d} AnalysisRuns'))
def run_count(canary_scenario: ScenarioContext, name: str, ns: str, n: int) -> None:
    U.check_run_count(canary_scenario, name, ns, n)


@when(parsers.re(r'the (?P<kind>background|inline) AnalysisRun of rollout "(?P<name>[^"]+)" in '
                 r'namespace "(?P<ns>[^"]+)" is "(?P<phase>[^"]+)"$'))
@then(parsers.re(r'the (?P<kind>background|inline) AnalysisRun of rollout "(?P<name>[^"]+)" in '
                 r'namespace "(?P<ns>[^"]+)" is "(?P<phase>[^"]+)"$'))
def run_phase(canary_scenario: ScenarioContext, kind: str, name: str, ns: str,
              phase: str) -> None:
    U.wait_run_phase(canary_scenario, kind, name, ns, phase)


@then(parsers.parse(_RO + ' has {n:d} pods of revision {rev:d} after {duration}'))
def revision_pods_after(canary_scenario: ScenarioContext, name: str, ns: str, n: int, rev: int,
                        duration: str) -> None:
    U.check_revision_pods_after(canary_scenario, name, ns, rev, n, parse_duration(duration))


@then(parsers.parse('the service "{service}" in namespace "{ns}" selects the stable pods of '
                    'rollout "{name}"'))
def selects_stable(canary_scenario: ScenarioContext, service: str, ns: str, name: str) -> None:
    U.check_selects_stable(canary_scenario, service, name, ns)


@then(parsers.parse(_RO + ' comes to say "{text}"'))
def comes_to_say(canary_scenario: ScenarioContext, name: str, ns: str, text: str) -> None:
    U.wait_message(canary_scenario, name, ns, text)
