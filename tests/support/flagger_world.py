"""A tiny in-memory world for driving the pure Flagger engine tick by tick (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from canary.clock import FakeClock
from canary.engine import flagger
from canary.engine.types import (
    READY,
    AnalysisResult,
    Decision,
    Event,
    HookResult,
    Observations,
    Promote,
    Readiness,
    ScaleTarget,
    SetRoutes,
)
from canary.spec.canary import CanarySpec, parse_canary


def canary_obj(analysis: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    a = {"interval": "10s", "threshold": 5, "stepWeight": 10, "maxWeight": 100,
         "metrics": [{"name": "success-rate", "templateRef": {"name": "success-rate"},
                      "thresholdRange": {"min": 99}, "interval": "1m"}]}
    if analysis is not None:
        a = analysis
    body = {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898, "targetPort": 9898,
                        "gatewayRefs": [{"name": "podinfo", "namespace": "test",
                                         "group": "core", "kind": "Service", "port": 9898}]},
            "analysis": a}
    body.update(spec)
    return {"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": "test", "uid": "u1"}, "spec": body}


@dataclass
class World:
    spec: CanarySpec = field(default_factory=lambda: parse_canary(canary_obj()))
    clock: FakeClock = field(default_factory=FakeClock)
    status: dict[str, Any] = field(default_factory=dict)
    target_hash: str = "v1"
    primary_hash: str = "v1"
    target_replicas: int = 1
    primary: Readiness = READY
    canary: Readiness = READY
    route: tuple[int, int] = (100, 0)
    analysis_ok: bool = True
    analysis_events: list[Event] = field(default_factory=list)
    hooks: dict[str, list[HookResult]] = field(default_factory=dict)
    events: list[tuple[str, str]] = field(default_factory=list)
    weights: list[int] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    last: Decision | None = None

    def tick(self, crash_before_status: bool = False) -> Decision:
        obs = Observations(now=self.clock.now(), target_hash=self.target_hash,
                           target_replicas=self.target_replicas, primary_replicas=1,
                           primary=self.primary, canary=self.canary,
                           primary_weight=self.route[0], canary_weight=self.route[1])
        d = flagger.tick(self.spec, self.status, obs)
        while d.need is not None:
            self.needs.append(d.need.hook_type or d.need.kind)
            if d.need.kind == "hooks":
                obs.hooks[d.need.hook_type] = self.hooks.get(d.need.hook_type, [])
            else:
                obs.analysis = AnalysisResult(self.analysis_ok, list(self.analysis_events))
            d = flagger.tick(self.spec, self.status, obs)
        for a in d.actions:
            if isinstance(a, Event):
                self.events.append((a.type, a.message))
            elif isinstance(a, SetRoutes):
                if (a.primary, a.canary) != self.route:
                    self.weights.append(a.canary)
                self.route = (a.primary, a.canary)
            elif isinstance(a, ScaleTarget):
                self.target_replicas = a.replicas
            elif isinstance(a, Promote):
                self.primary_hash = self.target_hash
        if not crash_before_status:
            self.status = d.status
        self.clock.advance(self.spec.analysis.interval)
        self.last = d
        return d

    def messages(self) -> list[str]:
        return [m for _, m in self.events]

    def initialize(self) -> None:
        self.tick()
        assert self.status["phase"] == "Initialized"
        self.events.clear()
        self.weights.clear()

    def run_until(self, phase: str, limit: int = 50) -> int:
        for n in range(1, limit + 1):
            self.tick()
            if self.status.get("phase") == phase:
                return n
        raise AssertionError(f"never reached {phase}; at {self.status.get('phase')}")
