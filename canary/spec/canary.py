"""Canary (flagger.app/v1beta1): parse, default and validate into dataclasses.

Defaults follow Flagger 1.44 (reference flagger.md §1): progressDeadlineSeconds 600, analysis
interval 60s clamped to >= 10s, threshold 1 when <= 0, maxWeight 100 (or the last stepWeights
value), webhook timeout 10s, service portName "http", targetPort = port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from canary.spec.errors import SpecError
from canary.spec.fields import Reader

API_VERSION = "flagger.app/v1beta1"
BUILTIN_METRICS = ("request-success-rate", "request-duration")
HOOK_TYPES = ("rollout", "pre-rollout", "post-rollout", "confirm-rollout", "confirm-promotion",
              "event", "rollback", "confirm-traffic-increase")
GATEWAY_REFS_REQUIRED = "GatewayRefs must be specified when using Gateway API as a provider."


@dataclass(frozen=True)
class TemplateRef:
    name: str
    namespace: str


@dataclass(frozen=True)
class MetricSpec:
    name: str
    interval: str | None  # raw text: rendered into {{ interval }} after time scaling
    interval_seconds: float | None
    min: float | None = None
    max: float | None = None
    threshold: float | None = None  # deprecated single bound
    template_ref: TemplateRef | None = None
    template_variables: dict[str, str] = field(default_factory=dict)
    query: str = ""


@dataclass(frozen=True)
class WebhookSpec:
    name: str
    type: str
    url: str
    timeout: float  # spec seconds
    metadata: dict[str, str] = field(default_factory=dict)
    retries: int = 0
    mute_alert: bool = False


@dataclass(frozen=True)
class AnalysisSpec:
    interval: float = 60.0
    threshold: int = 1
    max_weight: int = 100  # effective value, Flagger's maxWeight()
    step_weight: int = 0
    step_weights: tuple[int, ...] = ()
    step_weight_promotion: int = 0
    iterations: int = 0
    primary_ready_threshold: int = 100
    canary_ready_threshold: int = 100
    metrics: tuple[MetricSpec, ...] = ()
    webhooks: tuple[WebhookSpec, ...] = ()
    match: tuple[dict, ...] = ()  # Gateway API HTTPRouteMatch objects (A/B testing)

    @property
    def strategy(self) -> str:
        """Flagger's DeploymentStrategy (pkg/apis/flagger/v1beta1/canary.go:693)."""
        if self.iterations > 0:
            return "ab-testing" if self.match else "blue-green"
        return "canary"

    def hooks(self, type_: str) -> list[WebhookSpec]:
        return [h for h in self.webhooks if h.type == type_]

    def next_step_weight(self, canary_weight: int) -> int:
        """Flagger's nextStepWeight (fluxcd/flagger pkg/controller/scheduler.go:58): the change
        of the canary weight on the next advance. With ``stepWeights`` it is the gap to the
        entry after the current weight, found by equality; a weight not in the list (the list
        was edited mid-analysis) jumps to 100, and an unsorted list can give a negative step."""
        if self.step_weight > 0 or not self.step_weights:
            return self.step_weight
        max_step = 100 - canary_weight
        if max_step == 0:
            return 1  # any non-zero step moves on to promotion
        if canary_weight == 0:
            return min(max_step, self.step_weights[0])
        for current, following in zip(self.step_weights, self.step_weights[1:], strict=False):
            if current == canary_weight:
                return min(max_step, following - canary_weight)
        return max_step


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    port_name: str = "http"
    target_port: int | str = 0
    gateway_refs: tuple[dict, ...] = ()
    hosts: tuple[str, ...] = ()
    timeout: str = ""
    apex_meta: dict = field(default_factory=dict)
    primary_meta: dict = field(default_factory=dict)
    canary_meta: dict = field(default_factory=dict)
    app_protocol: str = ""
    match: tuple[dict, ...] = ()  # spec.service.match as Gateway API HTTPRouteMatches
    port_discovery: bool = False


@dataclass(frozen=True)
class CanarySpec:
    name: str
    namespace: str
    uid: str
    target_api_version: str
    target_kind: str
    target_name: str
    service: ServiceSpec
    analysis: AnalysisSpec
    progress_deadline_seconds: int = 600
    skip_analysis: bool = False
    suspend: bool = False
    provider: str = "gatewayapi:v1beta1"
    metrics_server: str = ""
    revert_on_deletion: bool = False
    spec_provider: str = ""  # spec.provider as written ("" = the engine's -mesh-provider)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def primary_name(self) -> str:
        return f"{self.target_name}-primary"


def parse_canary(obj: dict[str, Any]) -> CanarySpec:
    """Parse a Canary object; raises :class:`SpecError` listing every problem."""
    r = Reader()
    md = obj.get("metadata") or {}
    name = md.get("name", "")
    namespace = md.get("namespace") or "default"
    spec = r.mapping(obj.get("spec"), "spec", required=True)

    tref = r.mapping(spec.get("targetRef"), "spec.targetRef", required=True)
    t_name = r.string(tref.get("name"), "spec.targetRef.name", required=True)
    t_kind = r.string(tref.get("kind"), "spec.targetRef.kind", default="Deployment")
    if t_kind != "Deployment":
        r.bad("spec.targetRef.kind", f"only Deployment targets are supported, got {t_kind!r}")
    t_api = r.string(tref.get("apiVersion"), "spec.targetRef.apiVersion", default="apps/v1")

    spec_provider = r.string(spec.get("provider"), "spec.provider")
    provider = spec_provider or "gatewayapi:v1beta1"
    if not provider.startswith("gatewayapi"):
        r.bad("spec.provider", f"only gatewayapi:v1beta1 / gatewayapi:v1 are supported, "
                               f"got {provider!r}")

    service = _parse_service(r, r.mapping(spec.get("service"), "spec.service", required=True),
                             t_name, namespace)
    analysis_obj = spec.get("analysis", spec.get("canaryAnalysis"))
    analysis = _parse_analysis(r, r.mapping(analysis_obj, "spec.analysis"), namespace)
    deadline = r.integer(spec.get("progressDeadlineSeconds"), "spec.progressDeadlineSeconds",
                         default=600, minimum=1)
    skip = r.boolean(spec.get("skipAnalysis"), "spec.skipAnalysis") or analysis_obj is None
    suspend = r.boolean(spec.get("suspend"), "spec.suspend")
    revert = r.boolean(spec.get("revertOnDeletion"), "spec.revertOnDeletion")
    metrics_server = r.string(spec.get("metricsServer"), "spec.metricsServer")
    if r.problems:
        raise SpecError("Canary", f"{name}.{namespace}", r.problems)
    return CanarySpec(name=name, namespace=namespace, uid=md.get("uid", ""),
                      target_api_version=t_api, target_kind=t_kind, target_name=t_name,
                      service=service, analysis=analysis, progress_deadline_seconds=deadline,
                      skip_analysis=skip, suspend=suspend, provider=provider,
                      metrics_server=metrics_server, spec_provider=spec_provider,
                      revert_on_deletion=revert)


def _parse_service(r: Reader, svc: dict, target: str, namespace: str) -> ServiceSpec:
    name = r.string(svc.get("name"), "spec.service.name", default=target)
    port = r.integer(svc.get("port"), "spec.service.port", minimum=1, maximum=65535,
                     required=True)
    tp = svc.get("targetPort")
    if tp is None or tp == 0 or tp == "0":
        target_port: int | str = port
    elif isinstance(tp, int) and not isinstance(tp, bool):
        target_port = r.integer(tp, "spec.service.targetPort", minimum=1, maximum=65535)
    elif isinstance(tp, str) and tp.isdigit():
        target_port = int(tp)
    elif isinstance(tp, str):
        target_port = tp
    else:
        r.bad("spec.service.targetPort", f"must be a port number or name, got {tp!r}")
        target_port = port
    refs = []
    for i, ref in enumerate(r.list_(svc.get("gatewayRefs"), "spec.service.gatewayRefs")):
        path = f"spec.service.gatewayRefs[{i}]"
        ref = r.mapping(ref, path)
        if not r.string(ref.get("name"), f"{path}.name", required=True):
            continue
        out = {"group": ref.get("group", "gateway.networking.k8s.io"),
               "kind": ref.get("kind", "Gateway"), "name": ref["name"]}
        for k in ("namespace", "sectionName", "port"):
            if ref.get(k) is not None:
                out[k] = ref[k]
        refs.append(out)
    if not refs and "gatewayRefs" not in svc:
        r.bad("spec.service.gatewayRefs", GATEWAY_REFS_REQUIRED)
    elif not refs:
        r.bad("spec.service.gatewayRefs", GATEWAY_REFS_REQUIRED)
    hosts = tuple(str(h) for h in r.list_(svc.get("hosts"), "spec.service.hosts"))
    timeout = r.string(svc.get("timeout"), "spec.service.timeout")
    if timeout:
        r.duration(timeout, "spec.service.timeout", None)
    return ServiceSpec(
        name=name, port=port, port_name=r.string(svc.get("portName"), "spec.service.portName",
                                                  default="http"),
        target_port=target_port, gateway_refs=tuple(refs), hosts=hosts, timeout=timeout,
        apex_meta=r.mapping(svc.get("apex"), "spec.service.apex"),
        primary_meta=r.mapping(svc.get("primary"), "spec.service.primary"),
        canary_meta=r.mapping(svc.get("canary"), "spec.service.canary"),
        app_protocol=r.string(svc.get("appProtocol"), "spec.service.appProtocol"),
        port_discovery=r.boolean(svc.get("portDiscovery"), "spec.service.portDiscovery"),
        match=tuple(route_matches(r, r.list_(svc.get("match"), "spec.service.match"),
                                  "spec.service.match")))


def _parse_analysis(r: Reader, a: dict, namespace: str) -> AnalysisSpec:
    p = "spec.analysis"
    interval = r.duration(a.get("interval"), f"{p}.interval", 60.0) or 60.0
    interval = max(interval, 10.0)  # Flagger clamps the analysis interval to >= 10s
    threshold = r.integer(a.get("threshold"), f"{p}.threshold", default=1)
    threshold = threshold if threshold > 0 else 1
    step = r.integer(a.get("stepWeight"), f"{p}.stepWeight", minimum=0, maximum=100)
    if a.get("stepWeight") is not None and step == 0 and not any(
            x.path == f"{p}.stepWeight" for x in r.problems):
        r.bad(f"{p}.stepWeight", "must be > 0")
    steps: list[int] = []
    for i, w in enumerate(r.list_(a.get("stepWeights"), f"{p}.stepWeights")):
        # Flagger accepts any order (an unsorted list walks back and forth, as its rule does)
        v = r.integer(w, f"{p}.stepWeights[{i}]", minimum=1, maximum=100)
        if v:
            steps.append(v)
    max_w = r.integer(a.get("maxWeight"), f"{p}.maxWeight", minimum=0, maximum=100)
    if steps:
        max_weight = min(100, steps[-1])  # Flagger ignores maxWeight when stepWeights is set
    else:
        max_weight = max_w if max_w > 0 else 100
    iterations = r.integer(a.get("iterations"), f"{p}.iterations", minimum=0)
    if a and step == 0 and not steps and not iterations and not r.problems:
        r.bad(p, "one of stepWeight, stepWeights or iterations is required")
    match = tuple(route_matches(r, r.list_(a.get("match"), f"{p}.match"), f"{p}.match"))
    promo = r.integer(a.get("stepWeightPromotion"), f"{p}.stepWeightPromotion", minimum=0,
                      maximum=100)
    metrics = tuple(_parse_metric(r, m, f"{p}.metrics[{i}]", namespace)
                    for i, m in enumerate(r.list_(a.get("metrics"), f"{p}.metrics")))
    hooks = tuple(_parse_webhook(r, h, f"{p}.webhooks[{i}]")
                  for i, h in enumerate(r.list_(a.get("webhooks"), f"{p}.webhooks")))
    return AnalysisSpec(
        interval=interval, threshold=threshold, max_weight=max_weight, step_weight=step,
        step_weights=tuple(steps), step_weight_promotion=promo, iterations=iterations,
        primary_ready_threshold=r.integer(a.get("primaryReadyThreshold"),
                                          f"{p}.primaryReadyThreshold", 100, 0, 100) or 100,
        canary_ready_threshold=r.integer(a.get("canaryReadyThreshold"),
                                         f"{p}.canaryReadyThreshold", 100, 0, 100) or 100,
        metrics=metrics, webhooks=hooks, match=match)


def _string_match(r: Reader, cond: Any, path: str, kinds: tuple[str, ...]) -> tuple[str, str]:
    """(kind, value) of an Istio StringMatch such as ``{exact: x}`` / ``{regex: re}``."""
    cond = r.mapping(cond, path)
    for kind in kinds:
        if cond.get(kind) not in (None, ""):
            return kind, str(cond[kind])
    r.bad(path, f"Gateway API supports only {' or '.join(kinds)} here, got {cond!r}")
    return "", ""


def route_matches(r: Reader, matches: list, path: str) -> list[dict]:
    """Istio-style HTTPMatchRequests -> Gateway API HTTPRouteMatches, as Flagger maps them
    (pkg/router/gateway_api_v1beta1.go:507 mapRouteMatches); headers and query params sorted
    by name so the route is stable (Go's map order is random)."""
    out: list[dict] = []
    types = {"exact": "Exact", "regex": "RegularExpression", "prefix": "PathPrefix"}
    for i, m in enumerate(matches):
        mp = f"{path}[{i}]"
        m = r.mapping(m, mp)
        match: dict[str, Any] = {}
        if m.get("uri") is not None:
            kind, value = _string_match(r, m["uri"], f"{mp}.uri", ("regex", "exact", "prefix"))
            if kind:
                match["path"] = {"type": types[kind], "value": value}
        if m.get("method") is not None:
            kind, value = _string_match(r, m["method"], f"{mp}.method", ("exact",))
            if kind:
                match["method"] = value
        for field_, out_key in (("headers", "headers"), ("queryParams", "queryParams")):
            conds = []
            for key, cond in sorted(r.mapping(m.get(field_), f"{mp}.{field_}").items()):
                kind, value = _string_match(r, cond, f"{mp}.{field_}.{key}", ("exact", "regex"))
                if kind:
                    conds.append({"name": str(key), "type": types[kind], "value": value})
            if conds:
                match[out_key] = conds
        if match:
            out.append(match)
    return out


def _parse_metric(r: Reader, m: Any, path: str, namespace: str) -> MetricSpec:
    m = r.mapping(m, path)
    name = r.string(m.get("name"), f"{path}.name", required=True)
    interval_text = m.get("interval")
    interval = r.duration(interval_text, f"{path}.interval", None)
    tr = r.mapping(m.get("thresholdRange"), f"{path}.thresholdRange")
    lo = r.number(tr.get("min"), f"{path}.thresholdRange.min")
    hi = r.number(tr.get("max"), f"{path}.thresholdRange.max")
    if lo is not None and hi is not None and lo > hi:
        r.bad(f"{path}.thresholdRange", f"min {lo:g} is greater than max {hi:g}")
    ref = None
    if m.get("templateRef") is not None:
        t = r.mapping(m.get("templateRef"), f"{path}.templateRef")
        tname = r.string(t.get("name"), f"{path}.templateRef.name", required=True)
        ref = TemplateRef(tname, r.string(t.get("namespace"), f"{path}.templateRef.namespace",
                                          default=namespace))
    return MetricSpec(
        name=name, interval=str(interval_text) if interval_text not in (None, "") else None,
        interval_seconds=interval, min=lo, max=hi,
        threshold=r.number(m.get("threshold"), f"{path}.threshold"), template_ref=ref,
        template_variables=r.str_map(m.get("templateVariables"), f"{path}.templateVariables"),
        query=r.string(m.get("query"), f"{path}.query"))


def _parse_webhook(r: Reader, h: Any, path: str) -> WebhookSpec:
    h = r.mapping(h, path)
    name = r.string(h.get("name"), f"{path}.name", required=True)
    type_ = r.string(h.get("type"), f"{path}.type", default="rollout")
    if type_ not in HOOK_TYPES:
        r.bad(f"{path}.type", f"unknown webhook type {type_!r} (one of {', '.join(HOOK_TYPES)})")
    url = r.string(h.get("url"), f"{path}.url", required=True)
    if url and not url.startswith(("http://", "https://")):
        r.bad(f"{path}.url", f"must be an http:// or https:// URL, got {url!r}")
    t = h.get("timeout")
    timeout = 10.0 if not t or len(str(t)) < 2 else r.duration(t, f"{path}.timeout", 10.0)
    return WebhookSpec(name=name, type=type_, url=url, timeout=timeout or 10.0,
                       metadata=r.str_map(h.get("metadata"), f"{path}.metadata"),
                       retries=r.integer(h.get("retries"), f"{path}.retries", minimum=0),
                       mute_alert=r.boolean(h.get("muteAlert"), f"{path}.muteAlert"))
