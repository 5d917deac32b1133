"""Parse, default and validate Argo Rollouts ``Rollout`` objects (canary strategy only).

Problems come back as one message per problem, each naming the field path. Errors make the
spec unusable (``InvalidSpec``); warnings (unknown keys Argo would silently ignore, route
backends pointing at ports their Service does not expose) are reported but do not stop the
rollout.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from canary.engine.argo_replicas import (
    DEFAULT_MAX_SURGE,
    DEFAULT_MAX_UNAVAILABLE,
    both_zero,
    parse_int_or_percent,
)
from canary.spec.analysis import RolloutAnalysis, parse_rollout_analysis
from canary.spec.route_steps import check_route_steps, parse_managed_routes, parse_route_step

PLUGIN_NAME = "argoproj-labs/gatewayAPI"
HASH_LABEL = "rollouts-pod-template-hash"
MANAGED_BY_ANNOTATION = "argo-rollouts.argoproj.io/managed-by-rollouts"
REVISION_ANNOTATION = "rollout.argoproj.io/revision"
SCALE_DOWN_ANNOTATION = "scale-down-deadline"
DEFAULT_SCALE_DOWN_DELAY = 30
DEFAULT_ABORT_SCALE_DOWN_DELAY = 30

# Keys Argo's RolloutTrafficRouting and the Gateway API plugin config know about.
TRAFFIC_ROUTING_KEYS = (
    "istio", "nginx", "alb", "smi", "ambassador", "appMesh", "traefik", "apisix",
    "managedRoutes", "maxTrafficWeight", "plugins",
)
GATEWAY_PLUGIN_KEYS = (
    "httpRoute", "httpRoutes", "grpcRoute", "grpcRoutes", "tcpRoute", "tcpRoutes",
    "tlsRoute", "tlsRoutes", "httpRouteSelector", "grpcRouteSelector", "tcpRouteSelector",
    "tlsRouteSelector", "namespace", "disableInProgressLabel", "inProgressLabelKey",
    "inProgressLabelValue", "configMap",
)
HTTP_ROUTE_REF_KEYS = ("name", "useHeaderRoutes")
STEP_KINDS = ("setWeight", "pause", "setCanaryScale", "analysis", "experiment",
              "setHeaderRoute", "setMirrorRoute", "plugin")
SUPPORTED_STEPS = ("setWeight", "pause", "setCanaryScale", "analysis", "setHeaderRoute",
                   "setMirrorRoute")
ROUTE_STEPS = ("setHeaderRoute", "setMirrorRoute")
CANARY_KEYS = (
    "canaryService", "stableService", "steps", "trafficRouting", "maxSurge", "maxUnavailable",
    "scaleDownDelaySeconds", "scaleDownDelayRevisionLimit", "abortScaleDownDelaySeconds",
    "dynamicStableScale", "minPodsPerReplicaSet", "replicaProgressThreshold", "analysis",
    "canaryMetadata", "stableMetadata", "antiAffinity", "pingPong",
)

_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def pause_duration_seconds(value: Any) -> int:
    """Argo's ``RolloutPause.DurationSeconds``: int or numeric string are seconds, otherwise a
    Go duration truncated to whole seconds; -1 when unparsable."""
    if isinstance(value, bool):
        return -1
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    s = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", s):
        return int(s)
    if s == "0":
        return 0
    pos, total = 0, 0.0
    for m in _GO_DURATION.finditer(s):
        if m.start() != pos:
            return -1
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    if not s or pos != len(s):
        return -1
    return int(total)


@dataclass(frozen=True)
class HeaderMatch:
    """One ``setHeaderRoute.match`` entry: ``kind`` is exact, prefix or regex."""

    name: str
    kind: str
    value: str


@dataclass(frozen=True)
class Step:
    kind: str  # setWeight | pause | setCanaryScale | analysis (other kinds are errors)
    weight: int | None = None  # setWeight
    duration: int | None = None  # pause: None = indefinite
    scale: dict[str, Any] | None = None  # setCanaryScale
    analysis: RolloutAnalysis | None = field(default=None, compare=False, hash=False)
    route: str | None = None  # setHeaderRoute / setMirrorRoute: the managed route's name
    # setHeaderRoute: the header matches; None (no ``match``) removes the managed route
    headers: tuple[HeaderMatch, ...] | None = None

    def describe(self) -> str:
        """Argo's ``CanaryStepString``."""
        if self.kind == "setWeight":
            return f"setWeight: {self.weight}"
        if self.kind == "pause":
            return "pause" if self.duration is None else f"pause: {_go_seconds(self.duration)}"
        if self.kind == "setCanaryScale" and self.scale is not None:
            if self.scale.get("matchTrafficWeight"):
                return "setCanaryScale{matchTrafficWeight: true}"
            if "replicas" in self.scale:
                return f"setCanaryScale{{replicas: {self.scale['replicas']}}}"
            return f"setCanaryScale{{weight: {self.scale.get('weight')}}}"
        if self.kind in ROUTE_STEPS:
            return f"{self.kind}: {self.route}"
        return self.kind


def _go_seconds(secs: int) -> str:
    """Go's time.Duration String() for whole seconds: 10s, 1m0s, 1h30m0s."""
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


@dataclass(frozen=True)
class RouteRef:
    name: str
    namespace: str
    use_header_routes: bool = False


@dataclass
class RolloutSpec:
    name: str
    namespace: str
    replicas: int
    steps: list[Step]
    canary_service: str
    stable_service: str
    routes: list[RouteRef]
    template: dict[str, Any]
    selector: dict[str, str]
    pod_hash: str
    steps_hash: str
    paused: bool = False
    scale_down_delay: int = DEFAULT_SCALE_DOWN_DELAY
    abort_scale_down_delay: int = DEFAULT_ABORT_SCALE_DOWN_DELAY
    max_weight: int = 100
    progress_deadline: int = 600
    revision_history_limit: int = 10
    background_analysis: RolloutAnalysis | None = None
    max_surge: int | str = DEFAULT_MAX_SURGE  # pods or "N%" (resolved in engine/argo_replicas)
    max_unavailable: int | str = DEFAULT_MAX_UNAVAILABLE
    dynamic_stable_scale: bool = False
    min_pods_per_replica_set: int | None = None
    abort_delay_explicit: bool = False  # abortScaleDownDelaySeconds was set (and not 0)
    managed_routes: list[str] = field(default_factory=list)  # trafficRouting.managedRoutes
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def traffic_routed(self) -> bool:
        return bool(self.routes)


def pod_template_hash(template: dict[str, Any], collision_count: int = 0) -> str:
    """A stable short hash of the pod template, spelled with Kubernetes' safe alphabet."""
    data = json.dumps(template or {}, sort_keys=True, separators=(",", ":"))
    if collision_count:
        data += str(collision_count)
    value = int.from_bytes(hashlib.sha256(data.encode()).digest()[:5], "big")
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    out = ""
    while len(out) < 10:
        value, r = divmod(value, len(alphabet))
        out += alphabet[r]
    return out


def steps_hash(steps: Any) -> str:
    data = json.dumps(steps or [], sort_keys=True, separators=(",", ":"))
    return pod_template_hash({"steps": data})


def unknown_keys(obj: Any, known: tuple[str, ...], path: str) -> list[str]:
    """One message per key of ``obj`` not in ``known``, with a did-you-mean hint."""
    if not isinstance(obj, dict):
        return []
    out = []
    for key in obj:
        if key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        out.append(f"{path}.{key}: unknown field{hint}")
    return out


def _int(value: Any, path: str, errors: list[str], default: int, minimum: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(f"{path}: must be an integer, got {value!r}")
        return default
    if value < minimum:
        errors.append(f"{path}: must be >= {minimum}, got {value}")
        return default
    return value


def _parse_step(raw: Any, i: int, max_weight: int, routed: bool, errors: list[str]) -> Step:
    path = f"spec.strategy.canary.steps[{i}]"
    if not isinstance(raw, dict):
        errors.append(f"{path}: must be an object, got {raw!r}")
        return Step("invalid")
    kinds = [k for k in raw if k in STEP_KINDS]
    for msg in unknown_keys(raw, STEP_KINDS, path):
        errors.append(msg)
    if len(kinds) != 1:
        errors.append(f"{path}: Step must have one of the following set: experiment, setWeight, "
                      "setCanaryScale, plugin or pause")
        return Step("invalid")
    kind = kinds[0]
    val = raw[kind]
    if kind not in SUPPORTED_STEPS:
        errors.append(f"{path}.{kind}: step type not supported by this engine "
                      f"(supported: {', '.join(SUPPORTED_STEPS)})")
        return Step("invalid")
    if kind in ROUTE_STEPS:
        return parse_route_step(kind, val, path, errors)
    if kind == "analysis":
        ref = parse_rollout_analysis(val, f"{path}.analysis", errors)
        if ref is not None and not ref.templates:
            errors.append(f"{path}.analysis.templates: at least one template is required")
        return Step("analysis", analysis=ref) if ref is not None else Step("invalid")
    if kind == "setWeight":
        if isinstance(val, bool) or not isinstance(val, int) or not 0 <= val <= max_weight:
            errors.append(f"{path}.setWeight: SetWeight needs to be between 0 and {max_weight}, "
                          f"got {val!r}")
            return Step("invalid")
        return Step("setWeight", weight=val)
    if kind == "pause":
        if val is None:
            val = {}
        if not isinstance(val, dict):
            errors.append(f"{path}.pause: must be an object like {{}} or {{duration: 10s}}")
            return Step("invalid")
        for msg in unknown_keys(val, ("duration",), f"{path}.pause"):
            errors.append(msg)
        if "duration" not in val or val["duration"] is None:
            return Step("pause")
        secs = pause_duration_seconds(val["duration"])
        if secs < 0:
            errors.append(f"{path}.pause.duration: Duration needs to be greater than 0, got "
                          f"{val['duration']!r} (use seconds or a duration like 30s, 1m, 1h)")
            return Step("invalid")
        return Step("pause", duration=secs)
    # setCanaryScale
    if not routed:
        errors.append(f"{path}.setCanaryScale: SetCanaryScale requires TrafficRouting to be set")
    if not isinstance(val, dict):
        errors.append(f"{path}.setCanaryScale: must be an object")
        return Step("invalid")
    for msg in unknown_keys(val, ("replicas", "weight", "matchTrafficWeight"),
                            f"{path}.setCanaryScale"):
        errors.append(msg)
    set_keys = [k for k in ("replicas", "weight", "matchTrafficWeight") if k in val]
    if len(set_keys) != 1:
        errors.append(f"{path}.setCanaryScale: set exactly one of replicas, weight, "
                      "matchTrafficWeight")
        return Step("invalid")
    return Step("setCanaryScale", scale=dict(val))


def _parse_routes(tr: Any, namespace: str, errors: list[str],
                  warnings: list[str]) -> list[RouteRef]:
    path = "spec.strategy.canary.trafficRouting"
    if tr is None:
        return []
    if not isinstance(tr, dict):
        errors.append(f"{path}: must be an object")
        return []
    warnings.extend(unknown_keys(tr, TRAFFIC_ROUTING_KEYS, path))
    plugins = tr.get("plugins")
    if plugins is None:
        others = [k for k in tr if k in TRAFFIC_ROUTING_KEYS and k not in
                  ("plugins", "managedRoutes", "maxTrafficWeight")]
        if others:
            errors.append(f"{path}.{others[0]}: traffic router not supported by this engine "
                          f"(use plugins[\"{PLUGIN_NAME}\"])")
        elif tr:
            errors.append(f"{path}: no traffic router configured (expected plugins["
                          f"\"{PLUGIN_NAME}\"])")
        return []
    if not isinstance(plugins, dict):
        errors.append(f"{path}.plugins: must be a map of plugin name to config")
        return []
    for name in plugins:
        if name != PLUGIN_NAME:
            close = difflib.get_close_matches(str(name), [PLUGIN_NAME], n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else f" (expected {PLUGIN_NAME})"
            warnings.append(f'{path}.plugins["{name}"]: unknown traffic router plugin{hint}')
    cfg = plugins.get(PLUGIN_NAME)
    if cfg is None:
        errors.append(f'{path}.plugins["{PLUGIN_NAME}"]: missing; no supported traffic router '
                      "configured")
        return []
    ppath = f'{path}.plugins["{PLUGIN_NAME}"]'
    if not isinstance(cfg, dict):
        errors.append(f"{ppath}: must be an object")
        return []
    warnings.extend(unknown_keys(cfg, GATEWAY_PLUGIN_KEYS, ppath))
    ns = cfg.get("namespace") or namespace
    routes: list[RouteRef] = []
    if cfg.get("httpRoute"):
        if not isinstance(cfg["httpRoute"], str):
            errors.append(f"{ppath}.httpRoute: must be a route name")
        else:
            routes.append(RouteRef(cfg["httpRoute"], ns, True))
    many = cfg.get("httpRoutes")
    if many is not None:
        if not isinstance(many, list):
            errors.append(f"{ppath}.httpRoutes: must be a list of {{name, useHeaderRoutes}}")
        else:
            for i, ref in enumerate(many):
                rpath = f"{ppath}.httpRoutes[{i}]"
                if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
                    errors.append(f"{rpath}.name: required")
                    continue
                warnings.extend(unknown_keys(ref, HTTP_ROUTE_REF_KEYS, rpath))
                routes.append(RouteRef(ref["name"], ns, bool(ref.get("useHeaderRoutes"))))
    if not routes:
        errors.append(f"{ppath}: No routes configured. At least one of 'httpRoutes', "
                      "'grpcRoutes', 'tcpRoutes', 'tlsRoutes', 'httpRoute', 'grpcRoute', "
                      "'tcpRoute' or 'tlsRoute' must be set (only HTTPRoutes are supported here)")
    return routes


def parse_rollout(obj: dict[str, Any]) -> RolloutSpec:
    """Parse a Rollout object. Never raises on bad input: see ``errors`` / ``warnings``."""
    md = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    errors: list[str] = []
    warnings: list[str] = []
    name = md.get("name", "")
    namespace = md.get("namespace") or "default"
    if not isinstance(spec, dict):
        spec = {}
        errors.append("spec: must be an object")
    replicas = _int(spec.get("replicas"), "spec.replicas", errors, 1)
    template = spec.get("template")
    if spec.get("workloadRef"):
        errors.append("spec.workloadRef: not supported by this engine (use spec.template)")
    if not isinstance(template, dict):
        errors.append("spec.template: required")
        template = {}
    sel = (spec.get("selector") or {}).get("matchLabels") if isinstance(
        spec.get("selector"), dict) else None
    if not isinstance(sel, dict) or not sel:
        errors.append("spec.selector.matchLabels: required")
        sel = {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    for k, v in sel.items():
        if labels.get(k) != v:
            errors.append(f"spec.selector: selector does not match template labels ({k}={v})")
    strategy = spec.get("strategy") or {}
    canary = strategy.get("canary") if isinstance(strategy, dict) else None
    if not isinstance(canary, dict):
        errors.append("spec.strategy.canary: required (only the canary strategy is supported)")
        canary = {}
    warnings.extend(unknown_keys(canary, CANARY_KEYS, "spec.strategy.canary"))
    tr = canary.get("trafficRouting")
    max_weight = 100
    if isinstance(tr, dict) and tr.get("maxTrafficWeight") is not None:
        max_weight = _int(tr.get("maxTrafficWeight"),
                          "spec.strategy.canary.trafficRouting.maxTrafficWeight", errors, 100, 1)
    routes = _parse_routes(tr, namespace, errors, warnings)
    raw_steps = canary.get("steps") or []
    if not isinstance(raw_steps, list):
        errors.append("spec.strategy.canary.steps: must be a list")
        raw_steps = []
    steps = [_parse_step(s, i, max_weight, bool(routes), errors) for i, s in enumerate(raw_steps)]
    managed = parse_managed_routes(tr, errors)
    check_route_steps(steps, managed, bool(routes), errors)
    canary_svc = canary.get("canaryService") or ""
    stable_svc = canary.get("stableService") or ""
    if routes and not (canary_svc and stable_svc):
        errors.append("spec.strategy.canary: canaryService and stableService are required with "
                      "the Gateway API traffic router")
    if canary_svc and canary_svc == stable_svc:
        errors.append("spec.strategy.canary: This rollout uses the same service for the stable "
                      "and canary services, but two different services are required.")
    if canary.get("scaleDownDelaySeconds") is not None and not routes:
        errors.append("spec.strategy.canary.scaleDownDelaySeconds: Canary scaleDownDelaySeconds "
                      "can only be used with traffic routing")
    delay = _int(canary.get("scaleDownDelaySeconds"),
                 "spec.strategy.canary.scaleDownDelaySeconds", errors, DEFAULT_SCALE_DOWN_DELAY)
    abort_delay = _int(canary.get("abortScaleDownDelaySeconds"),
                       "spec.strategy.canary.abortScaleDownDelaySeconds", errors,
                       DEFAULT_ABORT_SCALE_DOWN_DELAY)
    surge, unavailable = _fenceposts(canary, errors)
    dynamic = canary.get("dynamicStableScale")
    if dynamic is not None and not isinstance(dynamic, bool):
        errors.append(f"spec.strategy.canary.dynamicStableScale: must be true or false, got "
                      f"{dynamic!r}")
        dynamic = False
    if dynamic and not routes:
        errors.append("spec.strategy.canary.dynamicStableScale: Canary dynamicStableScale can "
                      "only be used with traffic routing")
    if dynamic and canary.get("scaleDownDelaySeconds") is not None:
        errors.append("spec.strategy.canary.dynamicStableScale: Canary dynamicStableScale "
                      "cannot be used with scaleDownDelaySeconds")
    min_pods = None
    if canary.get("minPodsPerReplicaSet") is not None:
        min_pods = _int(canary.get("minPodsPerReplicaSet"),
                        "spec.strategy.canary.minPodsPerReplicaSet", errors, 1, 1)
    progress = _int(spec.get("progressDeadlineSeconds"), "spec.progressDeadlineSeconds", errors,
                    600, 1)
    history = _int(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit", errors, 10)
    background = None
    if canary.get("analysis") is not None:
        background = parse_rollout_analysis(canary["analysis"], "spec.strategy.canary.analysis",
                                            errors, background=True)
    return RolloutSpec(
        background_analysis=background, managed_routes=managed or [],
        progress_deadline=progress, revision_history_limit=history,
        name=name, namespace=namespace, replicas=replicas, steps=steps,
        canary_service=canary_svc, stable_service=stable_svc, routes=routes,
        template=template, selector={str(k): str(v) for k, v in sel.items()},
        pod_hash=pod_template_hash(template), steps_hash=steps_hash(raw_steps),
        paused=bool(spec.get("paused")), scale_down_delay=delay,
        abort_scale_down_delay=abort_delay, max_weight=max_weight,
        max_surge=surge, max_unavailable=unavailable, dynamic_stable_scale=bool(dynamic),
        min_pods_per_replica_set=min_pods,
        abort_delay_explicit=bool(routes) and bool(canary.get("abortScaleDownDelaySeconds")),
        errors=errors, warnings=warnings,
    )


def _fenceposts(canary: dict[str, Any], errors: list[str]) -> tuple[int | str, int | str]:
    """maxSurge / maxUnavailable (ints or "N%", default 25% each); Argo's validation refuses
    both 0 (pkg/apis/rollouts/validation/validation.go invalidMaxSurgeMaxUnavailable)."""
    out: list[int | str] = []
    for key, default in (("maxSurge", DEFAULT_MAX_SURGE),
                         ("maxUnavailable", DEFAULT_MAX_UNAVAILABLE)):
        raw = canary.get(key)
        value: int | str = default
        if raw is not None:
            parsed, err = parse_int_or_percent(raw, f"spec.strategy.canary.{key}")
            if err:
                errors.append(err)
            elif parsed is not None:
                value = parsed
        out.append(value)
    if both_zero(out[0], out[1]) and canary.get("maxSurge") is not None:
        errors.append("spec.strategy.canary.maxSurge: MaxSurge and MaxUnavailable both can not "
                      "be zero")
    return out[0], out[1]


def canary_replicas(replicas: int, weight: int, max_weight: int = 100) -> int:
    """Argo's canary pod count for a traffic-routed weight: ceil(replicas * weight / max)."""
    return math.ceil(replicas * weight / max_weight)


def check_route_backends(route: dict[str, Any], services: dict[str, dict[str, Any]]) -> list[str]:
    """Problems with an HTTPRoute's backendRefs against the Services they name.

    ``services`` maps Service name to Service object (same namespace as the backendRef, or
    keys "namespace/name"). A backendRef whose port the Service does not expose, or whose
    Service does not exist, gets one message naming the route, the backend, the port and the
    Service's ports. (The Gateway API says such a backend answers 500; Linkerd does the same.)
    """
    md = route.get("metadata") or {}
    rname = md.get("name", "?")
    rns = md.get("namespace") or "default"
    out: list[str] = []
    for ri, rule in enumerate((route.get("spec") or {}).get("rules") or []):
        for bi, ref in enumerate(rule.get("backendRefs") or []):
            if (ref.get("kind") or "Service") != "Service" or (ref.get("group") or "") not in (
                    "", "core"):
                continue
            name = ref.get("name", "")
            ns = ref.get("namespace") or rns
            svc = services.get(f"{ns}/{name}") or (services.get(name) if ns == rns else None)
            where = f"HTTPRoute {rns}/{rname} rules[{ri}].backendRefs[{bi}] ({name}"
            port = ref.get("port")
            where += f":{port})" if port is not None else ")"
            if svc is None:
                out.append(f"{where}: Service {ns}/{name} not found")
                continue
            ports = [p.get("port") for p in (svc.get("spec") or {}).get("ports") or []]
            if port is None:
                out.append(f"{where}: port is required for a Service backend "
                           f"(Service {ns}/{name} exposes {_ports(ports)})")
            elif port not in ports:
                out.append(f"{where}: Service {ns}/{name} does not expose port {port} "
                           f"(it exposes {_ports(ports)}); requests to this backend fail "
                           "with 500")
    return out


def _ports(ports: list[Any]) -> str:
    return ", ".join(str(p) for p in ports) if ports else "no ports"


def expected_route_weights(rollout: dict[str, Any]) -> list[int]:
    """The canary backend weights an update of ``rollout`` writes to its HTTPRoute, in order.

    Starts at the steady state (0), walks the setWeight steps, then Argo's end of steps: the
    canary at full weight briefly, then back to 0 once the new revision is stable. Consecutive
    repeats are dropped, as a watch on the route would see them. For the seed:
    [0, 30, 40, 60, 80, 100, 0].
    """
    spec = parse_rollout(rollout)
    out = [0]
    for step in spec.steps:
        if step.kind == "setWeight" and step.weight is not None and step.weight != out[-1]:
            out.append(step.weight)
    for w in (spec.max_weight, 0):
        if out[-1] != w:
            out.append(w)
    return out


def analysis_refs(spec: RolloutSpec) -> list[tuple[str, str, bool]]:
    """Every AnalysisTemplate the Rollout names: (field path, template name, cluster scope)."""
    out: list[tuple[str, str, bool]] = []
    refs: list[tuple[str, RolloutAnalysis | None]] = [
        ("spec.strategy.canary.analysis", spec.background_analysis)]
    refs += [(f"spec.strategy.canary.steps[{i}].analysis", s.analysis)
             for i, s in enumerate(spec.steps) if s.kind == "analysis"]
    for path, ref in refs:
        for j, t in enumerate(ref.templates if ref is not None else []):
            out.append((f"{path}.templates[{j}].templateName", t.name, t.cluster_scope))
    return out
