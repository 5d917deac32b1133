"""Steps for the tutorial's install lines: the controller as an in-cluster Deployment."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from canary.harness import incluster as I
from canary.harness.context import ScenarioContext


@given("the harness runs no engine of its own")
def no_harness_engine(canary_scenario: ScenarioContext) -> None:
    I.stand_down_engine(canary_scenario)


@given(parsers.parse('I remember the pods with label "{selector}" in namespace "{ns}"'))
@when(parsers.parse('I remember the pods with label "{selector}" in namespace "{ns}"'))
def remember_pods(canary_scenario: ScenarioContext, selector: str, ns: str) -> None:
    I.remember_pods(canary_scenario, ns, selector)


@then(parsers.parse('the pods with label "{selector}" in namespace "{ns}" are replaced by a '
                    'new ready pod'))
def pods_replaced(canary_scenario: ScenarioContext, selector: str, ns: str) -> None:
    I.wait_pods_replaced(canary_scenario, ns, selector)


@then(parsers.re(r'nothing the (?P<which>Flagger|Argo Rollouts) install created'
                 r'(?P<scope> in its namespace)? remains(?P<crds> but its CRDs)?'
                 r'(?:, nor the namespaces? "(?P<names>[^"]+)")?'))
def install_gone(canary_scenario: ScenarioContext, which: str, scope: str | None,
                 crds: str | None, names: str | None) -> None:
    I.wait_install_gone(canary_scenario, which,
                        [n.strip() for n in (names or "").split(",") if n.strip()],
                        namespaced_only=bool(scope), keep_crds=bool(crds))
