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


@then(parsers.re(r'of the (?P<which>Flagger|Argo Rollouts) install only its cluster-scoped '
                 r'objects remain, nor the namespaces? "(?P<names>[^"]+)"'))
def only_cluster_scoped_left(canary_scenario: ScenarioContext, which: str, names: str) -> None:
    I.wait_only_cluster_scoped_left(canary_scenario, which,
                                    [n.strip() for n in names.split(",") if n.strip()])


@then(parsers.parse('the cluster-scoped objects "{objects}" remain'))
def cluster_objects_remain(canary_scenario: ScenarioContext, objects: str) -> None:
    I.assert_cluster_objects_exist(canary_scenario, objects)


@then(parsers.parse('the Lease "{lease}" in namespace "{ns}" is held by the new pod'))
def lease_held_by_new_pod(canary_scenario: ScenarioContext, lease: str, ns: str) -> None:
    I.wait_lease_held_by_new_pod(canary_scenario, lease, ns)


@then(parsers.parse('every API request the pods with label "{selector}" in namespace "{ns}" '
                    'made is allowed by the ClusterRoles bound to their service account'))
def requests_allowed(canary_scenario: ScenarioContext, selector: str, ns: str) -> None:
    I.assert_requests_allowed(canary_scenario, ns, selector)
