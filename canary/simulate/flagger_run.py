"""One simulated Flagger rollout: the real ``flagger.tick`` on a fake clock, fed by the models.

The loop mirrors canary/controller/flagger_tick.py: observe (route weights, replicas), call
``flagger.tick``, answer its ``Need`` (webhooks pass; metrics are queried from the Prometheus
model and judged by ``judge_metric``), then apply the actions to the model's state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from canary.clock import FakeClock, format_duration
from canary.engine import flagger
from canary.engine.analysis import MetricOutcome, judge_metric
from canary.engine.types import (
    AnalysisResult,
    HookResult,
    Observations,
    Promote,
    ScaleTarget,
    SetRoutes,
)
from canary.metrics.observers import LINKERD_QUERIES
from canary.metrics.prometheus import RenderError, TemplateModel, render
from canary.simulate.manifests import SimulationError
from canary.simulate.queries import QueryShape, UnsupportedQuery, classify
from canary.simulate.series import TargetSeries
from canary.simulate.traffic import TrafficModel, answer, binomial, burst_code, is_failure
from canary.spec.canary import BUILTIN_METRICS, CanarySpec, MetricSpec
from canary.spec.metrictemplate import MetricTemplateSpec

OLD, NEW = "rev-1", "rev-2"  # pod template hashes of the running and the new revision
MAX_TICKS = 2000


@dataclass(frozen=True)
class MetricPlan:
    metric: MetricSpec
    shape: QueryShape | None = None
    fixed: MetricOutcome | None = None  # the same answer every tick (missing template, ...)


@dataclass(frozen=True)
class FlaggerPlan:
    spec: CanarySpec
    metrics: tuple[MetricPlan, ...]
    initialized: dict

    @property
    def latency(self) -> bool:
        return any(m.shape is not None and m.shape.kind == "latency" for m in self.metrics)


@dataclass
class Outcome:
    verdict: str  # "promoted" | "rolled back" | "undecided"
    seconds: float  # spec seconds from the new revision to the verdict
    new_requests: int = 0  # served by the new version before the verdict
    failed_requests: int = 0  # failures the clients saw before the verdict
    failed_checks: int = 0
    first_check: str = ""  # "pass" | "fail" | "no values": the first analysis run
    first_value_check: str = ""  # "pass" | "fail": the first run whose metrics had values
    weights: list[int] = field(default_factory=list)


def _metric_plan(c: CanarySpec, m: MetricSpec,
                 templates: dict[str, MetricTemplateSpec]) -> MetricPlan:
    secs = m.interval_seconds
    if m.template_ref is not None:
        ref = m.template_ref
        tname = f"{ref.name}.{ref.namespace}"
        tpl = templates.get(tname)
        if tpl is None:
            return MetricPlan(m, fixed=MetricOutcome(
                error_kind="template", template=tname,
                error=f'metrictemplates.flagger.app "{ref.name}" not found'))
        query, interval = tpl.query, format_duration(secs) if secs is not None else ""
    elif m.query or m.name in BUILTIN_METRICS:
        tname = ""
        # the Linkerd observer's queries: the traffic model is Linkerd's proxy metrics
        # (an engine run with -mesh-provider=linkerd; canary/metrics/observers.py)
        query, interval = m.query or LINKERD_QUERIES[m.name], format_duration(secs or 60.0)
    else:
        return MetricPlan(m, fixed=MetricOutcome(error_kind="unconfigured"))
    model = TemplateModel(c.name, c.namespace, c.target_name, c.service.name, interval,
                          dict(m.template_variables))
    try:
        rendered = render(query, model, tname or m.name)
    except RenderError as e:
        kind = "render" if tname else "query"
        return MetricPlan(m, fixed=MetricOutcome(error_kind=kind, template=tname, error=str(e)))
    if not interval:
        # Prometheus refuses "[]": every check fails with a query error, as in the engine
        return MetricPlan(m, fixed=MetricOutcome(
            error_kind="query", template=tname,
            error="bad_data: 1:1: parse error: missing unit character in duration"))
    try:
        return MetricPlan(m, shape=classify(rendered, c.namespace, c.target_name))
    except UnsupportedQuery as e:
        raise SimulationError(f"Canary {c.name}.{c.namespace}: metric {m.name!r}: the query "
                              f"cannot be simulated: {e}") from None


def plan_flagger(c: CanarySpec, templates: dict[str, MetricTemplateSpec]) -> FlaggerPlan:
    if c.skip_analysis:
        raise SimulationError(f"Canary {c.name}.{c.namespace}: skipAnalysis (or no analysis) "
                              f"promotes without any check; nothing to simulate")
    metrics = tuple(_metric_plan(c, m, templates) for m in c.analysis.metrics)
    clock = FakeClock()
    d = flagger.tick(c, {}, Observations(now=clock.now(), target_hash=OLD))
    if d.status.get("phase") != flagger.INITIALIZED:
        raise SimulationError(f"Canary {c.name}.{c.namespace}: does not initialize "
                              f"({d.summary})")
    return FlaggerPlan(c, metrics, d.status)


def pass_hooks(obs: Observations, a: Any, need: str, hook_type: str) -> bool:
    """Answer the engine's request for webhooks: the model's hooks all pass (a gate, a load
    test, an acceptance test are assumed healthy). False when the need is not hooks."""
    if need != "hooks":
        return False
    obs.hooks[hook_type] = [HookResult(h.name, True) for h in a.hooks(hook_type)]
    return True


def _analysis(plan: FlaggerPlan, series: TargetSeries, t: float) -> AnalysisResult:
    """The controller's run_analysis against the model: metrics in order, first failure ends."""
    c = plan.spec
    values: dict[str, float] = {}
    for mp in plan.metrics:
        if mp.fixed is not None:
            outcome = mp.fixed
        else:
            assert mp.shape is not None
            if mp.shape.kind == "success-rate":
                v = series.success_rate(t, mp.shape.window)
            else:
                v = series.latency_quantile(t, mp.shape.window, mp.shape.quantile)
            outcome = (MetricOutcome(value=v) if v is not None else
                       MetricOutcome(error_kind="no-values", error="no values found"))
        if outcome.value is not None:
            values[mp.metric.name] = outcome.value
        ev = judge_metric(c, mp.metric, outcome)
        if ev is not None:
            return AnalysisResult(False, [ev], values)
    return AnalysisResult(True, [], values)


def run_flagger(plan: FlaggerPlan, model: TrafficModel, rng: random.Random,
                previous_until: float | None = None, previous_retain: float = 30.0) -> Outcome:
    """One rollout from the new revision's first tick to its verdict.

    ``previous_until``: the target's old pods served traffic until this many spec seconds
    before the new revision (the tutorial sets the image soon after initialization); None for
    a canary whose old pods left Prometheus long ago.
    """
    c, a = plan.spec, plan.spec.analysis
    clock = FakeClock()
    t0 = clock.now()
    # scrapes and analysis ticks run on independent clocks: a random phase between them
    # unless the model pins it (the validation bench copies a sandbox run's)
    scrape_phase = (model.scrape_phase if model.scrape_phase is not None
                    else rng.random() * model.scrape_interval)
    series = TargetSeries(model.scrape_interval, scrape_phase, plan.latency)
    if previous_until is not None:
        series.previous_pods(-previous_until, previous_retain, model.rps)
    status = dict(plan.initialized)
    weight, replicas, primary_new = 0, 0, False
    out = Outcome("undecided", 0.0)
    sec = 0  # next spec second to generate
    first_done = False
    for _ in range(MAX_TICKS):
        t = clock.now() - t0
        # traffic up to this tick, with the weights set by the previous one
        while sec < t:
            burst = burst_code(rng) if model.canary.random_error else None
            k = binomial(rng, model.rps, weight / 100.0)  # the mesh's per-request choice
            s = answer(rng, model.canary, k, burst, plan.latency)
            series.add(s)
            p = answer(rng, model.canary if primary_new else model.primary, model.rps - k,
                       burst, False)
            out.new_requests += k + (model.rps - k if primary_new else 0)
            out.failed_requests += sum(n for code, n in s.codes.items() if is_failure(code))
            out.failed_requests += sum(n for code, n in p.codes.items() if is_failure(code))
            sec += 1
        obs = Observations(now=clock.now(), target_hash=NEW, target_replicas=replicas,
                           primary_weight=100 - weight, canary_weight=weight)
        d = flagger.tick(c, status, obs)
        while d.need is not None:
            if not pass_hooks(obs, a, d.need.kind, d.need.hook_type):
                obs.analysis = _analysis(plan, series, t)
                if not first_done:
                    first_done = True
                    out.first_check = "pass" if obs.analysis.ok else (
                        "fail" if obs.analysis.values else "no values")
                if not out.first_value_check and obs.analysis.values:
                    out.first_value_check = "pass" if obs.analysis.ok else "fail"
            d = flagger.tick(c, status, obs)
        for act in d.actions:
            if isinstance(act, SetRoutes):
                weight = act.canary
                if weight and (not out.weights or out.weights[-1] != weight):
                    out.weights.append(weight)
            elif isinstance(act, ScaleTarget):
                replicas = act.replicas
            elif isinstance(act, Promote):
                primary_new = True
        status = d.status
        out.failed_checks = max(out.failed_checks, int(status.get("failedChecks") or 0))
        phase = status.get("phase")
        if phase in (flagger.SUCCEEDED, "Failed"):
            out.verdict = "promoted" if phase == flagger.SUCCEEDED else "rolled back"
            out.seconds = t
            break
        clock.advance(a.interval)
    else:
        out.seconds = clock.now() - t0
    return out
