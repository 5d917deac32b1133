"""Generated Services as Flagger writes them: portDiscovery, targetPort by name, metadata."""

from __future__ import annotations

from support.flagger_world import canary_obj

from canary.router.kubernetes import FLUX_ANNOTATIONS, _service, discovered_ports
from canary.spec.canary import parse_canary

# fluxcd/flagger test/workloads/deployment.yaml: ports http 9898, http-metrics 9797, grpc 9999
TARGET = {"spec": {"template": {"spec": {"containers": [
    {"name": "podinfod", "ports": [{"name": "http", "containerPort": 9898},
                                   {"name": "http-metrics", "containerPort": 9797},
                                   {"name": "grpc", "containerPort": 9999},
                                   {"containerPort": 7000}]},
    {"name": "istio-proxy", "ports": [{"name": "http-envoy-prom", "containerPort": 15090}]}]}}}}
CANARY_OBJ = {"metadata": {"name": "podinfo", "namespace": "test", "uid": "u1"}}


def linkerd_test_canary(**service: object) -> dict:
    # fluxcd/flagger test/linkerd/test-canary.sh: port 80, targetPort http, portDiscovery
    obj = canary_obj()
    obj["spec"]["service"] = {"port": 80, "targetPort": "http", "portDiscovery": True,
                              "gatewayRefs": [{"name": "podinfo", "namespace": "test",
                                               "group": "core", "kind": "Service",
                                               "port": 80}], **service}
    return obj


def test_port_discovery_skips_the_service_target_port_by_name_and_sidecars() -> None:
    c = parse_canary(linkerd_test_canary())
    assert discovered_ports(c, TARGET) == [("tcp-podinfod-3", 7000), ("http-metrics", 9797),
                                           ("grpc", 9999)]
    svc = _service(c, CANARY_OBJ, "podinfo-canary", {"app": "podinfo"}, "app", {},
                   discovered_ports(c, TARGET))
    assert svc["spec"]["ports"][0] == {"name": "http", "protocol": "TCP", "port": 80,
                                       "targetPort": "http"}
    assert {p["name"]: (p["port"], p["targetPort"]) for p in svc["spec"]["ports"][1:]} == {
        "tcp-podinfod-3": (7000, 7000), "http-metrics": (9797, 9797), "grpc": (9999, 9999)}


def test_port_discovery_off_and_numeric_target_port() -> None:
    obj = linkerd_test_canary(targetPort=9898)
    assert ("http", 9898) not in discovered_ports(parse_canary(obj), TARGET)
    obj = linkerd_test_canary(portDiscovery=False)
    assert discovered_ports(parse_canary(obj), TARGET) == []


def test_generated_services_carry_custom_metadata_and_the_flux_annotations() -> None:
    c = parse_canary(linkerd_test_canary(apex={"labels": {"test": "labels-test"},
                                               "annotations": {"test": "annotations-test"}}))
    svc = _service(c, CANARY_OBJ, "podinfo", {"app": "podinfo-primary"}, "app",
                   c.service.apex_meta)
    md = svc["metadata"]
    assert md["labels"] == {"test": "labels-test", "app": "podinfo"}
    assert md["annotations"] == {"test": "annotations-test", **FLUX_ANNOTATIONS}
    assert FLUX_ANNOTATIONS == {"kustomize.toolkit.fluxcd.io/reconcile": "disabled",
                                "helm.toolkit.fluxcd.io/driftDetection": "disabled"}
    assert md["ownerReferences"][0]["kind"] == "Canary"
