"""Steps on Argo ``Rollout`` objects (``argoproj.io/v1alpha1``): the kubectl plugin, phases,
route weights, pauses, Services and conditions."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from canary.harness import rollout_checks as R
from canary.harness.cluster import names as split_names
from canary.harness.context import ScenarioContext

_PLUGIN = r'I run "(?P<command>kubectl argo rollouts [^"]+)" with the kubectl plugin$'
_STATE = (r'the rollout "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" (?:is|becomes) '
          r'"(?P<phase>[^"]+)"(?: at step (?P<step>\d+))?(?: with canary weight '
          r'(?P<weight>\d+))?$')


def _int(text: str | None) -> int | None:
    return int(text) if text is not None else None


@when(parsers.re(_PLUGIN))
@given(parsers.re(_PLUGIN))
def run_plugin_command(canary_scenario: ScenarioContext, command: str) -> None:
    R.run_plugin(canary_scenario, command)


@when("I run with the kubectl plugin:")
def run_plugin_docstring(canary_scenario: ScenarioContext, docstring: str) -> None:
    R.run_plugin(canary_scenario, docstring)


@when(parsers.re(r'I (?P<verb>promote|abort|retry) the rollout "(?P<name>[^"]+)" in namespace '
                 r'"(?P<ns>[^"]+)"(?P<full> fully)?$'))
def rollout_verb(canary_scenario: ScenarioContext, verb: str, name: str, ns: str,
                 full: str | None) -> None:
    R.rollout_verb(canary_scenario, verb, name, ns, full=bool(full))


@given(parsers.re(_STATE))
@when(parsers.re(_STATE))
@then(parsers.re(_STATE))
def rollout_state_is(canary_scenario: ScenarioContext, name: str, ns: str, phase: str,
                     step: str | None, weight: str | None) -> None:
    R.wait_rollout_state(canary_scenario, name, ns, phase, _int(step), _int(weight))


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" says "{message}"'))
def rollout_message(canary_scenario: ScenarioContext, name: str, ns: str, message: str) -> None:
    R.check_message(canary_scenario, name, ns, message)


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" moved the HTTPRoute "{route}" '
                    'through the weights its steps declare'))
def rollout_weights_follow_steps(canary_scenario: ScenarioContext, name: str, ns: str,
                                 route: str) -> None:
    R.check_weights_follow_steps(canary_scenario, name, ns, route)


@then(parsers.parse('the HTTPRoute "{route}" in namespace "{ns}" moves "{backend}" from {a:d}% '
                    'to {b:d}% within one reconcile of the last action'))
def route_weight_soon(canary_scenario: ScenarioContext, route: str, ns: str, backend: str,
                      a: int, b: int) -> None:
    R.check_route_weight_soon(canary_scenario, route, ns, backend, a, b)


@then(parsers.parse('the harness reports that the HTTPRoute "{route}" in namespace "{ns}" sends '
                    'traffic to ports its Services do not expose'))
def route_port_mismatch_reported(canary_scenario: ScenarioContext, route: str,
                                 ns: str) -> None:
    R.check_port_mismatch_reported(canary_scenario, route, ns)


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" has the condition "{ctype}" '
                    'saying "{text}"'))
def rollout_condition(canary_scenario: ScenarioContext, name: str, ns: str, ctype: str,
                      text: str) -> None:
    R.wait_condition(canary_scenario, name, ns, ctype, text)


@then(parsers.re(r'the load generator "(?P<source>[^"]+)" in namespace "(?P<ns>[^"]+)" gets '
                 r'HTTP (?P<code>\d{3}) for at least (?P<bound>[\d.]+)% of (?P<n>\d+) requests$'))
def loadgen_status_share(canary_scenario: ScenarioContext, source: str, ns: str, code: str,
                         bound: str, n: str) -> None:
    R.check_loadgen_status_share(canary_scenario, source, ns, code, float(bound), int(n))


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" runs image "{image}" as its stable '
                    'revision'))
def rollout_stable_image(canary_scenario: ScenarioContext, name: str, ns: str,
                         image: str) -> None:
    R.check_stable_image(canary_scenario, name, ns, image)


@then(parsers.parse('the services "{names}" in namespace "{ns}" select only pods of rollout '
                    '"{name}"'))
def services_pinned(canary_scenario: ScenarioContext, names: str, ns: str, name: str) -> None:
    R.check_services_pinned(canary_scenario, split_names(names), ns, name)


@then(parsers.parse('the rollout "{name}" in namespace "{ns}" held each timed pause for its '
                    'duration'))
def rollout_pauses_held(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    R.check_pauses_held(canary_scenario, name, ns)
