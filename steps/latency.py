"""Gherkin steps about latency as Linkerd saw it (features/latency.feature)."""

from __future__ import annotations

from pytest_bdd import parsers, then

from canary.harness.context import ScenarioContext
from canary.harness.latency import check_rollout_latency, check_threshold_halts


@then(parsers.re(r'Linkerd saw a p(?P<q>\d+) latency (?P<op>above|below|at most|at least) '
                 r'(?P<ms>\d+(?:\.\d+)?) ms for deployment "(?P<name>[^"]+)" in namespace '
                 r'"(?P<ns>[^"]+)" during the rollout of canary "(?P<canary>[^"]+)"'))
def linkerd_latency(canary_scenario: ScenarioContext, q: str, op: str, ms: str, name: str,
                    ns: str, canary: str) -> None:
    check_rollout_latency(canary_scenario, int(q), op, float(ms), name, ns, canary)


@then(parsers.parse('the canary "{name}" in namespace "{ns}" halted on "{metric}" above its '
                    'threshold at least {n:d} times'))
def halted_on_metric(canary_scenario: ScenarioContext, name: str, ns: str, metric: str,
                     n: int) -> None:
    check_threshold_halts(canary_scenario, name, ns, metric, n)
