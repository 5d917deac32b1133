"""Would a real API server allow what the engine did? The sandbox stores RBAC but does not
enforce it, so the in-cluster features check the engine's own request counters
(``canary_engine_api_requests{verb,resource}``) against the ClusterRoles bound to its
ServiceAccount, the rules a kind cluster would enforce (kubernetes
plugin/pkg/auth/authorizer/rbac/rbac.go: a request is allowed when any rule of any bound role
matches its verb and resource). The counters name resources without their API group, so a rule
matches on the resource name in any group."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Rule = dict[str, Any]


def rule_allows(rule: Rule, verb: str, resource: str) -> bool:
    verbs = rule.get("verbs") or []
    resources = rule.get("resources") or []
    if not ("*" in verbs or verb in verbs):
        return False
    base = resource.split("/", 1)[0]
    return "*" in resources or resource in resources or \
        ("/" in resource and f"{base}/*" in resources)


def denied(rules: Iterable[Rule], requests: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (verb, resource) requests no rule allows; discovery and non-resource paths
    (``/version``) are left out, every authenticated user may read those
    (the ``system:discovery`` ClusterRole)."""
    rules = list(rules)
    out = []
    for verb, resource in requests:
        if resource == "discovery" or resource.startswith("/"):
            continue
        if not any(rule_allows(r, verb, resource) for r in rules):
            out.append((verb, resource))
    return sorted(set(out))


def bound_rules(role_bindings: Iterable[dict], roles: dict[str, dict], namespace: str,
                service_account: str) -> list[Rule]:
    """Rules of every ClusterRole a ClusterRoleBinding grants to ``namespace/service_account``."""
    out: list[Rule] = []
    for b in role_bindings:
        subjects = b.get("subjects") or []
        if any(s.get("kind") == "ServiceAccount" and s.get("name") == service_account
               and s.get("namespace") == namespace for s in subjects):
            ref = b.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole" and ref.get("name") in roles:
                out += roles[ref["name"]].get("rules") or []
    return out


def requests_from_metrics(text: str) -> list[tuple[str, str]]:
    """(verb, resource) of every ``canary_engine_api_requests`` series the API server answered
    (code 0: never reached it; a 404 or 409 still needed the permission to ask)."""
    from prometheus_client.parser import text_string_to_metric_families

    out = []
    for fam in text_string_to_metric_families(text):
        if fam.name != "canary_engine_api_requests":
            continue
        for s in fam.samples:
            if s.name.endswith("_total") and s.value > 0 and s.labels.get("code") != "0":
                out.append((s.labels["verb"], s.labels["resource"]))
    return out
