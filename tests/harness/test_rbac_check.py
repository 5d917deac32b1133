"""The RBAC check of the in-cluster features: the engine's request counters against the rules
of the ClusterRoles bound to its ServiceAccount, matched as Kubernetes' RBAC authorizer does."""

from __future__ import annotations

import yaml
from prometheus_client import CollectorRegistry, Counter, generate_latest

from canary.harness import rbac
from canary.harness.manifests import argo_install_files


def _metrics(requests: list[tuple[str, str, str]]) -> str:
    r = CollectorRegistry()
    c = Counter("canary_engine_api_requests", "x", ["verb", "resource", "code"], registry=r)
    for verb, resource, code in requests:
        c.labels(verb, resource, code).inc()
    return generate_latest(r).decode()


def test_counters_are_read_with_their_verb_and_resource_except_unreachable():
    text = _metrics([("list", "rollouts", "200"), ("get", "services", "404"),
                     ("watch", "pods", "0")])
    assert sorted(rbac.requests_from_metrics(text)) == [("get", "services"), ("list", "rollouts")]


def test_rules_match_verbs_resources_wildcards_and_subresources():
    rules = [{"apiGroups": ["argoproj.io"], "resources": ["rollouts", "rollouts/status"],
              "verbs": ["get", "list"]},
             {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["httproutes"],
              "verbs": ["*"]}]
    made = [("list", "rollouts"), ("get", "rollouts/status"), ("patch", "httproutes"),
            ("update", "rollouts"), ("patch", "rollouts/scale"), ("get", "discovery"),
            ("get", "/version")]
    assert rbac.denied(rules, made) == [("patch", "rollouts/scale"), ("update", "rollouts")]


def test_only_roles_bound_to_the_service_account_count():
    docs = [d for f in argo_install_files() if f.name == "argo-rollouts-install.yaml"
            for d in yaml.safe_load_all(f.read_text()) if d]
    roles = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ClusterRole"}
    bindings = [d for d in docs if d["kind"] == "ClusterRoleBinding"]
    rules = rbac.bound_rules(bindings, roles, "argo-rollouts", "argo-rollouts")
    assert rules == roles["argo-rollouts"]["rules"]  # the aggregate roles are bound to nobody
    assert rbac.bound_rules(bindings, roles, "default", "argo-rollouts") == []
    assert not rbac.denied(rules, [("patch", "rollouts/status"), ("create", "leases")])
