"""Steps on the cluster, namespaces, manifests, commands and workloads."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from canary.harness import cluster as C
from canary.harness.context import ScenarioContext


@given(parsers.re(r"a cluster with Linkerd(?:,| and) Linkerd-Viz(?: and the canary engine)?"))
def cluster_ready(canary_scenario: ScenarioContext) -> None:
    canary_scenario.env.client().items("v1", "Namespace")


@given(parsers.parse('the namespace "{ns}" exists'))
@when(parsers.parse('I create the namespace "{ns}"'))
def namespace_exists(canary_scenario: ScenarioContext, ns: str) -> None:
    C.ensure_namespace(canary_scenario, ns)


@given(parsers.parse('the podinfo demo is deployed in namespace "{ns}"'))
def demo_deployed(canary_scenario: ScenarioContext, ns: str) -> None:
    C.deploy_demo(canary_scenario, ns)


@given(parsers.parse('I apply the manifest "{path}"'))
@when(parsers.parse('I apply the manifest "{path}"'))
def apply_manifest(canary_scenario: ScenarioContext, path: str) -> None:
    C.apply_manifest(canary_scenario, path)


@given("I apply:")
@when("I apply:")
def apply_docstring(canary_scenario: ScenarioContext, docstring: str) -> None:
    C.apply_text(canary_scenario, docstring)


@given(parsers.parse('I run "{command}"'))
@when(parsers.parse('I run "{command}"'))
def run_command(canary_scenario: ScenarioContext, command: str) -> None:
    C.run(canary_scenario, command)


@given("I run:")
@when("I run:")
def run_docstring(canary_scenario: ScenarioContext, docstring: str) -> None:
    C.run(canary_scenario, docstring)


@given(parsers.parse('the deployment "{name}" in namespace "{ns}" is rolled out'))
@then(parsers.parse('the deployment "{name}" in namespace "{ns}" is rolled out'))
def deployment_rolled_out(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    C.wait_rolled_out(canary_scenario, name, ns)


@given(parsers.parse('Prometheus has Linkerd\'s metrics for deployment "{name}" in namespace '
                     '"{ns}"'))
@then(parsers.parse('Prometheus has Linkerd\'s metrics for deployment "{name}" in namespace '
                    '"{ns}"'))
def metrics_flowing(canary_scenario: ScenarioContext, name: str, ns: str) -> None:
    C.wait_metrics_flowing(canary_scenario, name, ns)


@when(parsers.parse('I set the image of deployment "{name}" container "{container}" to '
                    '"{image}" in namespace "{ns}"'))
def set_image(canary_scenario: ScenarioContext, name: str, container: str, image: str,
              ns: str) -> None:
    C.run(canary_scenario, f"kubectl -n {ns} set image deployment/{name} {container}={image}")


@when(parsers.parse('I start a new revision of deployment "{name}" in namespace "{ns}" with '
                    'image "{image}" and podinfo\'s "{flag}" flag'))
def new_revision_with_flag(canary_scenario: ScenarioContext, name: str, ns: str, image: str,
                           flag: str) -> None:
    C.new_revision_with_flag(canary_scenario, name, ns, image, flag)


@when(parsers.parse('I send load to "{url}" from a meshed load generator "{name}" in namespace '
                    '"{ns}"'))
def send_fault_load(canary_scenario: ScenarioContext, url: str, name: str, ns: str) -> None:
    C.send_load(canary_scenario, url, name, ns)


@then(parsers.parse('the deployment "{name}" in namespace "{ns}" runs image "{image}"'))
def deployment_image(canary_scenario: ScenarioContext, name: str, ns: str, image: str) -> None:
    C.check_deployment_image(canary_scenario, name, ns, image)


@then(parsers.parse('the deployment "{name}" in namespace "{ns}" has {n:d} replicas'))
def deployment_replicas(canary_scenario: ScenarioContext, name: str, ns: str, n: int) -> None:
    C.check_deployment_replicas(canary_scenario, name, ns, n)


@then(parsers.parse('the {kind} "{name}" exists in namespace "{ns}"'))
def object_exists(canary_scenario: ScenarioContext, kind: str, name: str, ns: str) -> None:
    C.check_exists(canary_scenario, kind, name, ns)


@then(parsers.parse('the services "{names}" exist in namespace "{ns}"'))
def services_exist(canary_scenario: ScenarioContext, names: str, ns: str) -> None:
    for n in C.names(names):
        C.check_exists(canary_scenario, "service", n, ns)


@then(parsers.parse('the HTTPRoute "{route}" in namespace "{ns}" sends {p:d}% to "{a}" and '
                    '{c:d}% to "{b}"'))
def route_weights(canary_scenario: ScenarioContext, route: str, ns: str, p: int, a: str, c: int,
                  b: str) -> None:
    C.check_route_weights(canary_scenario, route, ns, {a: p, b: c})


@then(parsers.parse('the frontend in namespace "{ns}" answers with version "{version}"'))
def frontend_version(canary_scenario: ScenarioContext, ns: str, version: str) -> None:
    C.check_frontend_version(canary_scenario, ns, version)
