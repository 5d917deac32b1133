"""One canary's tick against the API: observe, decide (pure engine), act, write status.

Order of writes: actions first (route weights, scaling, promotion), the status last. A crash in
between repeats work on the next tick (weights are read back from the HTTPRoute) instead of
skipping it. Post-rollout hooks run after the status is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from canary.clock import Clock, format_duration
from canary.controller import flagger_finalizer as finalizer
from canary.controller.metrics_registry import EngineMetrics
from canary.controller.webhooks import WebhookCaller, canary_checksum
from canary.engine import flagger
from canary.engine.analysis import (
    MetricOutcome,
    external_check_failed,
    judge_metric,
)
from canary.engine.hashing import template_hash
from canary.engine.readiness import deployment_readiness, parse_time
from canary.engine.status import rfc3339
from canary.engine.types import (
    NORMAL,
    WARNING,
    AnalysisResult,
    Decision,
    Event,
    Observations,
    PostRollout,
    Promote,
    ScaleTarget,
    SetRoutes,
)
from canary.kube.client import ApiError, KubeClient, NotFound, Obj
from canary.kube.events import EventRecorder
from canary.kube.status import write_status
from canary.metrics.observers import metrics_provider, observer_for
from canary.metrics.prometheus import (
    NoValuesFound,
    PrometheusProvider,
    QueryError,
    RenderError,
    TemplateModel,
    render,
)
from canary.router import gatewayapi, kubernetes
from canary.spec.canary import API_VERSION, BUILTIN_METRICS, CanarySpec, MetricSpec, parse_canary
from canary.spec.errors import Problem, SpecError
from canary.spec.metrictemplate import parse_metric_template

log = logging.getLogger("canary.flagger")

# Flagger's Linkerd install (kustomize/linkerd/patch.yaml): -mesh-provider=gatewayapi:v1beta1
# -metrics-server=http://prometheus.linkerd-viz:9090 (Flagger's own flag default is
# http://prometheus:9090, cmd/flagger/main.go:98)
DEFAULT_METRICS_SERVER = "http://prometheus.linkerd-viz:9090"
DEFAULT_MESH_PROVIDER = "gatewayapi:v1beta1"
SPEC_CONDITION = "SpecValid"


@dataclass
class TickResult:
    interval: float = 60.0  # spec seconds until the next tick
    summary: str = ""
    phase: str = ""
    gone: bool = False
    values: dict[str, float] = field(default_factory=dict)


class CanaryRunner:
    """Runs ticks for any canary; holds no per-canary state (all of it is in the API)."""

    def __init__(self, client: KubeClient, clock: Clock, recorder: EventRecorder,
                 metrics: EngineMetrics | None = None, metrics_server: str | None = None,
                 resolve_url: Any = None, webhooks: WebhookCaller | None = None,
                 mesh_provider: str = DEFAULT_MESH_PROVIDER,
                 metrics_override: str | None = None) -> None:
        self.client = client
        self.clock = clock
        self.recorder = recorder
        self.metrics = metrics
        # -metrics-server: the Prometheus of the builtin metrics (spec.metricsServer wins)
        self.metrics_server = metrics_server or DEFAULT_METRICS_SERVER
        self.mesh_provider = mesh_provider
        # not a Flagger flag: an engine outside the cluster (kind) reaches Prometheus through a
        # port-forward, so this replaces every address, templates' included
        self.metrics_override = metrics_override
        self.resolve_url = resolve_url or (lambda url, namespace=None: url)
        self.webhooks = webhooks or WebhookCaller(clock, self.resolve_url)

    # -- the tick ----------------------------------------------------------------------------

    def tick(self, namespace: str, name: str) -> TickResult:
        canary = self.client.get_or_none(API_VERSION, "Canary", name, namespace)
        if canary is None:
            return TickResult(gone=True, summary="deleted")
        if canary.get("metadata", {}).get("deletionTimestamp"):
            if not finalizer.has_finalizer(canary):
                return TickResult(gone=True, summary="deleted")
            try:
                fspec: CanarySpec | None = parse_canary(canary)
            except SpecError:
                fspec = None
            summary = finalizer.finalize(self, canary, fspec)
            interval = fspec.analysis.interval if fspec else 10.0
            # keep ticking while the finalizer holds the object (Flagger requeues on error)
            return TickResult(interval=min(interval, 10.0), summary=summary,
                              phase=finalizer.TERMINATING)
        try:
            spec = parse_canary(canary)
        except SpecError as e:
            self._invalid(canary, e)
            return TickResult(summary=f"invalid spec: {e.summary()}",
                              phase=(canary.get("status") or {}).get("phase", ""))
        if not spec.spec_provider and not self.mesh_provider.startswith("gatewayapi"):
            # Flagger routes such a canary with its -mesh-provider's router (SMI for linkerd)
            self._invalid(canary, SpecError("Canary", f"{spec.name}.{spec.namespace}", [Problem(
                "spec.provider", f"required: the engine runs with -mesh-provider="
                                 f"{self.mesh_provider}, whose router this engine does not "
                                 f"implement; set gatewayapi:v1beta1 or gatewayapi:v1")]))
            return TickResult(summary="invalid spec: spec.provider",
                              phase=(canary.get("status") or {}).get("phase", ""))
        if spec.revert_on_deletion != finalizer.has_finalizer(canary):
            # controller.go:306 adds it; opting out removes it (controller.go:168)
            finalizer.set_finalizer(self.client, canary, spec.revert_on_deletion)
            # the update moved the resourceVersion the status write below is guarded with
            canary = self.client.get(API_VERSION, "Canary", name, namespace)
        status = dict(canary.get("status") or {})
        if any(c.get("type") == SPEC_CONDITION for c in status.get("conditions") or []):
            status["conditions"] = [c for c in status["conditions"]
                                    if c.get("type") != SPEC_CONDITION]
        res = TickResult(interval=spec.analysis.interval, phase=status.get("phase", ""))

        target = self.client.get_or_none("apps/v1", "Deployment", spec.target_name, namespace)
        if target is None:
            self._event(canary, spec, WARNING, f"deployment {spec.target_name}.{namespace} get "
                        f"query error: deployments.apps \"{spec.target_name}\" not found")
            res.summary = "target not found"
            return res
        now = self.clock.now()
        deadline = self.clock.scaled(spec.progress_deadline_seconds)
        a = spec.analysis
        try:
            primary = kubernetes.ensure_primary(self.client, spec, canary, target)
            primary_ready = deployment_readiness(primary, a.primary_ready_threshold, deadline,
                                                 now, parse_time(status.get("lastTransitionTime")))
            # the apex Service and the HTTPRoute follow once the primary is up (Flagger's
            # Initialize returns early until then)
            initializing = status.get("phase", "") in ("", "Initializing")
            full = not initializing or primary_ready.ready or spec.skip_analysis
            kubernetes.reconcile_services(self.client, spec, canary, target, apex=full)
        except kubernetes.TargetError as e:
            self._event(canary, spec, WARNING, str(e))
            res.summary = str(e)
            return res
        route = gatewayapi.reconcile(self.client, spec, canary) if full else None
        pw, cw = gatewayapi.get_routes(spec, route)
        since = parse_time(status.get("lastTransitionTime"))
        canary_ready = deployment_readiness(target, a.canary_ready_threshold, deadline, now,
                                            since)
        obs = Observations(
            now=now, target_hash=template_hash(target),
            target_replicas=_replicas(target), primary_replicas=_replicas(primary),
            primary=primary_ready, canary=canary_ready,
            primary_weight=pw, canary_weight=cw)

        if initializing and not spec.skip_analysis:
            self._check_providers(canary, spec)
        decision = flagger.tick(spec, status, obs)
        while decision.need is not None:
            need = decision.need
            if need.kind == "hooks":
                obs.hooks[need.hook_type] = self.webhooks.run(
                    spec, need.hook_type, need.phase, canary_checksum(status))
            else:
                obs.analysis = self.run_analysis(spec, status)
                res.values = dict(obs.analysis.values)
            decision = flagger.tick(spec, status, obs)

        self._execute(canary, spec, target, decision, route)
        res.summary = decision.summary
        res.phase = decision.status.get("phase", "")
        self._observe(spec, decision, obs, res)
        return res

    # -- acting ------------------------------------------------------------------------------

    def _execute(self, canary: Obj, spec: CanarySpec, target: Obj, d: Decision,
                 route: Obj | None) -> None:
        post: list[PostRollout] = []
        for act in d.actions:
            if isinstance(act, Event):
                self._event(canary, spec, act.type, act.message)
            elif isinstance(act, SetRoutes):
                gatewayapi.set_routes(self.client, spec, canary, act.primary, act.canary,
                                      route)
                route = None  # written: a second SetRoutes must read it again
                if self.metrics:
                    self.metrics.set_weight(spec.target_name, spec.namespace, act.primary,
                                            act.canary)
            elif isinstance(act, ScaleTarget):
                kubernetes.scale(self.client, spec.namespace, spec.target_name, act.replicas)
            elif isinstance(act, Promote):
                kubernetes.promote(self.client, spec, target)
            elif isinstance(act, PostRollout):
                post.append(act)
        # guarded: a decision taken on a stale (cached) Canary fails with 409 and is taken again
        write_status(self.client, canary, d.status, api_version=API_VERSION, kind="Canary",
                     guard=True)
        for p in post:
            checksum = canary_checksum(d.status)
            for r in self.webhooks.run(spec, "post-rollout", p.phase, checksum, False):
                if r.ok:
                    self._event(canary, spec, NORMAL, f"Post-rollout check {r.name} passed")
                else:
                    self._event(canary, spec, WARNING, f"Post-rollout hook {r.name} failed "
                                                       f"{r.error}")

    def _event(self, canary: Obj, spec: CanarySpec | None, type_: str, message: str) -> None:
        md = canary.get("metadata", {})
        log.info("%s.%s: %s", md.get("name"), md.get("namespace"), message,
                 extra={"canary": f"{md.get('name')}.{md.get('namespace')}"})
        self.recorder.emit(canary, type_, "Synced", message)
        if spec is not None and spec.analysis.hooks("event"):
            meta = {"eventMessage": message, "eventType": type_,
                    "timestamp": str(int(self.clock.now() * 1000))}
            status = canary.get("status") or {}
            for hook in spec.analysis.hooks("event"):
                self.webhooks.call(spec, hook, status.get("phase", ""),
                                   canary_checksum(status), dict(hook.metadata, **meta))

    def _invalid(self, canary: Obj, e: SpecError) -> None:
        """Surface a bad spec as a Warning event and a SpecValid=False condition.

        Flagger has no such condition (it only logs/events); we add a separate condition type so
        the Promoted condition keeps Flagger's meaning while the problem is visible in status.
        """
        self.recorder.emit(canary, WARNING, "Synced", f"Invalid Canary spec: {e.summary()}")
        log.warning("canary %s: %s", e.name, e)
        status = canary.get("status") or {}
        conds = [c for c in status.get("conditions") or [] if c.get("type") != SPEC_CONDITION]
        old = next((c for c in status.get("conditions") or []
                    if c.get("type") == SPEC_CONDITION), None)
        if old and old.get("message") == e.summary():
            return
        conds.append({"type": SPEC_CONDITION, "status": "False", "reason": "InvalidSpec",
                      "message": e.summary(), "lastUpdateTime": rfc3339(self.clock.now()),
                      "lastTransitionTime": rfc3339(self.clock.now())})
        md = canary["metadata"]
        try:
            self.client.patch_status(API_VERSION, "Canary", md["name"],
                                     {"status": {"conditions": conds}},
                                     namespace=md.get("namespace"))
        except ApiError as err:
            log.warning("canary %s: cannot write status: %s", e.name, err)

    def _observe(self, spec: CanarySpec, d: Decision, obs: Observations,
                 res: TickResult) -> None:
        if not self.metrics:
            return
        self.metrics.set_status(spec.name, spec.namespace, d.status.get("phase", ""))
        for k, v in res.values.items():
            self.metrics.analysis.labels(spec.name, spec.namespace, k).set(v)
        if not any(isinstance(a, SetRoutes) for a in d.actions):
            self.metrics.set_weight(spec.target_name, spec.namespace, obs.primary_weight,
                                    obs.canary_weight)
        phase = d.status.get("phase")
        if phase in ("Succeeded", "Failed") and any(isinstance(a, PostRollout)
                                                    for a in d.actions):
            counter = self.metrics.successes if phase == "Succeeded" else self.metrics.failures
            counter.labels(spec.name, spec.namespace, "canary",
                           "skipped" if spec.skip_analysis else "completed").inc()

    # -- analysis ----------------------------------------------------------------------------

    def _check_providers(self, canary: Obj, spec: CanarySpec) -> None:
        """Flagger's one-off availability check while a canary initializes (events only)."""
        problems = []
        for m in spec.analysis.metrics:
            if m.name in BUILTIN_METRICS:
                address = self.metrics_override or spec.metrics_server or self.metrics_server
                try:
                    PrometheusProvider(self.resolve_url(address, spec.namespace)
                                       ).run_query("vector(1)")
                except Exception as e:  # noqa: BLE001 - QueryError or an unknown address
                    problems.append(f"prometheus not avaiable: {e}")  # sic
                continue
            if m.template_ref is None:
                continue
            ref = m.template_ref
            try:
                tpl = parse_metric_template(
                    self.client.get(API_VERSION, "MetricTemplate", ref.name, ref.namespace))
                url = self.resolve_url(self.metrics_override or tpl.address, spec.namespace)
                PrometheusProvider(url, tpl.headers).run_query("vector(1)")
            except NotFound:
                problems.append(f"metric template {ref.name}.{ref.namespace} not found")
            except (SpecError, QueryError) as e:
                problems.append(f"prometheus in metric template {ref.name}.{ref.namespace} "
                                f"not avaiable: {e}")  # sic: Flagger's spelling
            except Exception as e:  # noqa: BLE001 - resolver errors
                problems.append(f"prometheus in metric template {ref.name}.{ref.namespace} "
                                f"not avaiable: {e}")
        if problems:
            self._event(canary, spec, WARNING,
                        f"Error checking metric providers: {'; '.join(problems)}")
        elif spec.analysis.metrics:
            self._event(canary, spec, NORMAL, "all the metrics providers are available!")

    def run_analysis(self, spec: CanarySpec, status: dict[str, Any]) -> AnalysisResult:
        """Rollout webhooks, then metrics in spec order; the first failure ends it."""
        for hook in spec.analysis.hooks("rollout"):
            r = self.webhooks.call(spec, hook, "Progressing", canary_checksum(status))
            if not r.ok:
                return AnalysisResult(False, [external_check_failed(spec, r.name, r.error)])
        values: dict[str, float] = {}
        for m in spec.analysis.metrics:
            outcome = self.query_metric(spec, m)
            ev = judge_metric(spec, m, outcome,
                              metrics_provider(self.mesh_provider, spec.spec_provider))
            if outcome.value is not None:
                values[m.name] = outcome.value
            if ev is not None:
                if outcome.error_kind:
                    log.info("%s.%s: metric %s: %s %s", spec.name, spec.namespace, m.name,
                             outcome.error_kind, outcome.error)
                return AnalysisResult(False, [ev], values)
        return AnalysisResult(True, [], values)

    def _interval(self, m: MetricSpec, default: str | None) -> str:
        secs = m.interval_seconds
        if secs is None:
            if default is None:
                return ""  # Flagger passes an empty interval to templates
            secs = 60.0
        return format_duration(self.clock.scaled(secs))

    def _builtin(self, spec: CanarySpec, m: MetricSpec, observer: Any, query: str,
                 address: str) -> MetricOutcome:
        """A builtin metric through its observer (pkg/metrics/observers/*.go)."""
        wrap = m.name == "request-duration" or observer.wraps_success_rate
        prefix = "running query failed: " if wrap else ""
        try:
            url = self.resolve_url(address, spec.namespace)
        except Exception as e:  # noqa: BLE001 - ResolveError: the address is unknown here
            return MetricOutcome(error_kind="query",
                                 error=f"cannot resolve prometheus address {address}: {e}")
        try:
            value = PrometheusProvider(url).run_query(query)
        except NoValuesFound as e:
            return MetricOutcome(error_kind="no-values", error=f"{prefix}{e}")
        except QueryError as e:
            return MetricOutcome(error_kind="query", error=f"{prefix}{e}")
        if m.name == "request-duration":
            value = observer.duration_ms(value)
        return MetricOutcome(value=value)

    def query_metric(self, spec: CanarySpec, m: MetricSpec) -> MetricOutcome:
        if m.template_ref is not None:
            ref = m.template_ref
            tname = f"{ref.name}.{ref.namespace}"
            try:
                tobj = self.client.get(API_VERSION, "MetricTemplate", ref.name, ref.namespace)
            except NotFound:
                return MetricOutcome(error_kind="template", template=tname,
                                     error=f'metrictemplates.flagger.app "{ref.name}" not found')
            try:
                tpl = parse_metric_template(tobj)
            except SpecError as e:
                return MetricOutcome(error_kind="template", template=tname, error=e.summary())
            model = TemplateModel(spec.name, spec.namespace, spec.target_name, spec.service.name,
                                  self._interval(m, None), dict(m.template_variables))
            try:
                query = render(tpl.query, model, ref.name)
            except RenderError as e:
                return MetricOutcome(error_kind="render", template=tname, error=str(e))
            address = self.metrics_override or tpl.address
            headers = tpl.headers
        elif m.query or m.name in BUILTIN_METRICS:
            tname = ""
            model = TemplateModel(spec.name, spec.namespace, spec.target_name, spec.service.name,
                                  self._interval(m, "1m"), dict(m.template_variables))
            observer = None
            if not m.query:
                provider = metrics_provider(self.mesh_provider, spec.spec_provider)
                observer = observer_for(provider)
                if observer is None:
                    return MetricOutcome(error_kind="query", error=f"no builtin {m.name} query "
                                         f"for metrics provider {provider!r} in this engine")
            try:
                query = render(m.query or observer.queries[m.name], model, m.name)
            except RenderError as e:
                return MetricOutcome(error_kind="query", error=str(e))
            address = self.metrics_override or spec.metrics_server or self.metrics_server
            headers = {}
            if observer is not None:
                return self._builtin(spec, m, observer, query, address)
        else:
            return MetricOutcome(error_kind="unconfigured")
        if not address:
            return MetricOutcome(error_kind="template", template=tname,
                                 error="prometheus address  is not a valid URL")
        try:
            url = self.resolve_url(address, spec.namespace)
        except Exception as e:  # noqa: BLE001 - ResolveError: the address is unknown here
            return MetricOutcome(error_kind="query", template=tname,
                                 error=f"cannot resolve prometheus address {address}: {e}")
        try:
            value = PrometheusProvider(url, headers).run_query(query)
        except NoValuesFound as e:
            return MetricOutcome(error_kind="no-values", error=str(e), template=tname)
        except QueryError as e:
            where = f" (metric template {tname})" if tname else ""
            return MetricOutcome(error_kind="query", error=f"{e}{where}", template=tname)
        return MetricOutcome(value=value, template=tname)


def _replicas(dep: Obj | None) -> int:
    if dep is None:
        return 0
    r = (dep.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


