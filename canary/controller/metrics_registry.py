"""Flagger-style Prometheus series about the canaries this engine runs (reference §3.9)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# flagger_canary_status: 0 = Progressing, 2 = Failed, 1 = anything else
_STATUS_VALUE = {"Progressing": 0, "Failed": 2}


class EngineMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.info = Gauge("flagger_info", "Flagger version and mesh provider information",
                          ["version", "mesh_provider"], registry=r)
        self.info.labels("1.44.0-canary", "gatewayapi:v1beta1").set(1)
        self.total = Gauge("flagger_canary_total", "Total number of canary object",
                           ["namespace"], registry=r)
        self.status = Gauge("flagger_canary_status",
                            "Last canary analysis result (0 Progressing, 1 other, 2 Failed)",
                            ["name", "namespace"], registry=r)
        self.weight = Gauge("flagger_canary_weight", "The virtual service destination weight",
                            ["workload", "namespace"], registry=r)
        self.analysis = Gauge("flagger_canary_metric_analysis",
                              "Last canary analysis result per metric",
                              ["name", "namespace", "metric"], registry=r)
        self.duration = Histogram("flagger_canary_duration_seconds",
                                  "Seconds spent performing canary analysis.",
                                  ["name", "namespace"], registry=r)
        labels = ["name", "namespace", "deployment_strategy", "analysis_status"]
        self.successes = Counter("flagger_canary_successes", "Total number of canary successes",
                                 labels, registry=r)
        self.failures = Counter("flagger_canary_failures", "Total number of canary failures",
                                labels, registry=r)
        self.ticks = Counter("canary_engine_ticks", "Analysis ticks run by this engine",
                             registry=r)
        self.api_requests = Counter("canary_engine_api_requests",
                                    "Kubernetes API requests the engine made, by verb, resource "
                                    "and HTTP status (0: unreachable)",
                                    ["verb", "resource", "code"], registry=r)
        # loop: "flagger" (Canaries) or "argo" (Rollouts)
        self.queue_depth = Gauge("canary_engine_queue_depth",
                                 "Canaries (Rollouts) scheduled and waiting for their next tick "
                                 "(reconcile)", ["loop"], registry=r)
        self.lateness = Histogram("canary_engine_tick_lateness_seconds",
                                  "Wall seconds a tick (a Rollout's requeued reconcile) started "
                                  "after it was due", ["loop"],
                                  buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                           2.5, 5), registry=r)

    def api_request(self, verb: str, resource: str, code: int) -> None:
        self.api_requests.labels(verb, resource, str(code)).inc()

    def set_status(self, name: str, namespace: str, phase: str) -> None:
        self.status.labels(name, namespace).set(_STATUS_VALUE.get(phase, 1))

    def set_weight(self, target: str, namespace: str, primary: int, canary: int) -> None:
        self.weight.labels(f"{target}-primary", namespace).set(primary)
        self.weight.labels(target, namespace).set(canary)

    def set_totals(self, per_namespace: dict[str, int]) -> None:
        self.total.clear()
        for ns, n in per_namespace.items():
            self.total.labels(ns).set(n)

    def forget(self, name: str, namespace: str) -> None:
        """Drop the per-canary series of a deleted Canary."""
        for metric in (self.status, self.duration):
            try:
                metric.remove(name, namespace)
            except KeyError:
                pass
