"""Steps on Flagger ``Canary`` objects: phases, weights, traffic, events, rollback timing."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from canary.harness import canary_checks as F
from canary.harness.context import ScenarioContext

_PHASE = (r'the canary "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" reaches phase '
          r'"(?P<phase>[^"]+)"(?: within (?P<within>\S+))?$')


@given(parsers.re(_PHASE))
@when(parsers.re(_PHASE))
@then(parsers.re(_PHASE))
def canary_reaches_phase(canary_scenario: ScenarioContext, name: str, ns: str, phase: str,
                         within: str | None) -> None:
    ctx = canary_scenario
    F.wait_phase(ctx, name, ns, phase, ctx.last_action, F.within(ctx, within, name, ns))


@then(parsers.parse('a new rollout of canary "{name}" in namespace "{ns}" starts'))
def new_rollout_starts(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    ctx = canary_scenario
    F.wait_phase(ctx, name, ns, "Progressing", ctx.last_action, F.phase_budget(ctx, name, ns))


@then(parsers.parse('the canary "{name}" in namespace "{ns}" moved through the weights its '
                    'spec declares'))
def weights_follow_spec(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    F.check_weights_follow_spec(canary_scenario, name, ns)


@then(parsers.parse('the clients\' traffic to canary "{name}" in namespace "{ns}" followed each '
                    'weight step'))
def traffic_follows(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    F.check_traffic_follows(canary_scenario, name, ns)


@then(parsers.parse('the events of canary "{name}" in namespace "{ns}" include, in order:'))
def events_in_order(canary_scenario: ScenarioContext, name: str, ns: str,
                    docstring: str) -> None:
    wanted = [ln.strip() for ln in docstring.splitlines() if ln.strip()]
    F.check_events_in_order(canary_scenario, name, wanted)


@then(parsers.parse('the event "{message}" is recorded for canary "{name}" in namespace "{ns}"'))
def event_recorded(canary_scenario: ScenarioContext, message: str, name: str, ns: str) -> None:
    F.check_events_in_order(canary_scenario, name, [message])


@then(parsers.re(r'the canary "(?P<name>[^"]+)" in namespace "(?P<ns>[^"]+)" was rolled back '
                 r'within threshold (?:x|×) interval plus one tick'))
def rolled_back_in_time(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    F.check_rolled_back_in_time(canary_scenario, name, ns)


@then(parsers.parse('the canary "{name}" in namespace "{ns}" was rolled back one tick after '
                    'its failed checks reached the threshold'))
def rolled_back_at_threshold(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    F.check_rolled_back_at_threshold(canary_scenario, name, ns)


@then(parsers.re(r'the load generator "(?P<source>[^"]+)" in namespace "(?P<ns>[^"]+)" saw at '
                 r'most (?P<bound>[\d.]+)% failed requests during the rollout of canary '
                 r'"(?P<name>[^"]+)"(?: until its event "(?P<until>[^"]+)")?$'))
def failure_share(canary_scenario: ScenarioContext, source: str, ns: str, bound: str,
                  name: str, until: str | None = None) -> None:
    F.check_failure_share(canary_scenario, source, ns, float(bound), name, until)
