"""Builtin metrics (``request-success-rate``, ``request-duration``): which observer answers them.

Flagger picks the query set by the *metrics provider* (pkg/controller/scheduler_metrics.go
``runBuiltinMetricChecks``): the engine's ``-mesh-provider``, replaced by the Canary's
``spec.provider`` when set, except that a global provider containing ``linkerd`` keeps the
Linkerd queries. ``linkerd`` -> Linkerd proxy metrics (pkg/metrics/observers/linkerd.go);
``kubernetes`` and ``gatewayapi*`` -> the app's own ``http_request_duration_seconds``
(pkg/metrics/observers/http.go). So with Flagger's Linkerd install
(``-mesh-provider=gatewayapi:v1beta1``) the builtins query metrics linkerd-viz's Prometheus
does not scrape, and find no values. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

LINKERD_QUERIES = {
    "request-success-rate": (
        'sum(rate(response_total{namespace="{{ namespace }}", deployment=~"{{ target }}", '
        'classification!="failure", direction="inbound"}[{{ interval }}])) / '
        'sum(rate(response_total{namespace="{{ namespace }}", deployment=~"{{ target }}", '
        'direction="inbound"}[{{ interval }}])) * 100'),
    "request-duration": (
        'histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace="{{ namespace }}", '
        'deployment=~"{{ target }}", direction="inbound"}[{{ interval }}])) by (le))'),
}

# the pod-name regexp matches "<target>-<replicaset hash>-<pod suffix>", so not "<target>-primary-…"
_POD = 'kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"'
HTTP_QUERIES = {
    "request-success-rate": (
        'sum(rate(http_request_duration_seconds_count{kubernetes_namespace="{{ namespace }}", '
        f'{_POD}, status!~"5.*"}}[{{{{ interval }}}}])) / '
        'sum(rate(http_request_duration_seconds_count{kubernetes_namespace="{{ namespace }}", '
        f'{_POD}}}[{{{{ interval }}}}])) * 100'),
    "request-duration": (
        'histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{'
        f'kubernetes_namespace="{{{{ namespace }}}}", {_POD}}}[{{{{ interval }}}}])) by (le))'),
}


@dataclass(frozen=True)
class Observer:
    """The query set for builtin metrics and how its answer becomes milliseconds."""

    name: str  # the metrics provider, as Flagger names it in "no values found for <name> ..."
    queries: dict[str, str]
    seconds: bool  # request-duration answers seconds (http) rather than milliseconds (linkerd)
    wraps_success_rate: bool  # Linkerd's observer wraps query errors "running query failed: "

    def duration_ms(self, value: float) -> float:
        # Go truncates to whole milliseconds: time.Duration(int64(v*1000)) * time.Millisecond
        return float(int(value * 1000)) if self.seconds else float(int(value))


def metrics_provider(mesh_provider: str, spec_provider: str) -> str:
    """Flagger's choice of metrics provider for the builtin checks."""
    provider = mesh_provider
    if spec_provider:
        provider = "linkerd" if "linkerd" in mesh_provider else spec_provider
    return provider


def observer_for(provider: str) -> Observer | None:
    """The observer for ``provider``; None for providers this engine has no queries for."""
    if provider == "linkerd":
        return Observer(provider, LINKERD_QUERIES, seconds=False, wraps_success_rate=True)
    if provider == "kubernetes" or provider.startswith("gatewayapi"):
        return Observer(provider, HTTP_QUERIES, seconds=True, wraps_success_rate=False)
    return None
