"""Steps for the ported Flagger e2e scenarios (features/upstream/flagger/); thin calls into
``canary.harness.flagger_upstream``."""

from __future__ import annotations

import shlex

import pytest
from pytest_bdd import given, parsers, then, when

from canary.clock import parse_duration
from canary.harness import cluster as C
from canary.harness import flagger_upstream as U
from canary.harness.context import ScenarioContext


@given(parsers.parse('the engine runs with the flags "{flags}"'))
def engine_flags(canary_scenario: ScenarioContext, request: pytest.FixtureRequest,
                 flags: str) -> None:
    U.restart_engine(canary_scenario, shlex.split(flags), request.addfinalizer)


@given(parsers.re(r'the (?P<kind>\w+) "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" has '
                  r'"(?P<path>[^"]+)" "(?P<value>[^"]*)" within (?P<within>\S+)$'))
@when(parsers.re(r'the (?P<kind>\w+) "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" has '
                 r'"(?P<path>[^"]+)" "(?P<value>[^"]*)" within (?P<within>\S+)$'))
@then(parsers.re(r'the (?P<kind>\w+) "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" has '
                 r'"(?P<path>[^"]+)" "(?P<value>[^"]*)" within (?P<within>\S+)$'))
def field_within(canary_scenario: ScenarioContext, kind: str, name: str, ns: str, path: str,
                 value: str, within: str) -> None:
    api, k = U.kind_of(kind)
    U.wait_field(canary_scenario, api, k, name, ns, path, value, parse_duration(within))


@given(parsers.parse('I send load with the header "{header}" to "{url}" from a meshed load '
                     'generator "{name}" in namespace "{ns}"'))
@when(parsers.parse('I send load with the header "{header}" to "{url}" from a meshed load '
                    'generator "{name}" in namespace "{ns}"'))
def header_load(canary_scenario: ScenarioContext, header: str, url: str, name: str,
                ns: str) -> None:
    C.send_load(canary_scenario, url, name, ns, [header])


@then(parsers.parse('the load generator "{name}" in namespace "{ns}" gets every answer from '
                    'version "{version}" for {duration}'))
def answers_from(canary_scenario: ScenarioContext, name: str, ns: str, version: str,
                 duration: str) -> None:
    U.assert_versions(canary_scenario, name, ns, version, parse_duration(duration))
