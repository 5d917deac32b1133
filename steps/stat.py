"""Steps on ``linkerd viz stat`` output (the command itself runs through the `I run` step)."""

from __future__ import annotations

from pytest_bdd import parsers, then, when

from canary.harness import stat_checks as S
from canary.harness.cluster import names
from canary.harness.context import ScenarioContext


@when(parsers.parse('the HTTPRoute "{route}" in namespace "{ns}" has sent {weight:d}% to '
                    '"{backend}" for {spec_s:d} seconds'))
def route_held(canary_scenario: ScenarioContext, route: str, ns: str, weight: int,
               backend: str, spec_s: int) -> None:
    S.wait_route_held(canary_scenario, route, ns, backend, weight, spec_s)


@then(parsers.parse('the output has rows for "{deployments}" whose RPS shares follow the '
                    'HTTPRoute "{route}" in namespace "{ns}"'))
def rps_follow_route(canary_scenario: ScenarioContext, deployments: str, route: str,
                     ns: str) -> None:
    S.check_shares(canary_scenario, names(deployments), route, ns)


@then(parsers.parse('the output has a "{status}" row for every pod of "{deployments}" in '
                    'namespace "{ns}"'))
def pods_listed(canary_scenario: ScenarioContext, status: str, deployments: str,
                ns: str) -> None:
    S.check_pods(canary_scenario, names(deployments), ns, status)

