"""Argo Rollouts analysis objects: AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun.

Parsing and validation follow argoproj/argo-rollouts ``utils/analysis/factory.go``
(``ValidateMetric``: limits, count/interval, exactly one provider) and ``helpers.go``
(``FlattenTemplates``, ``MergeArgs``); argument substitution follows ``utils/template`` (``{{
args.name }}``, whitespace trimmed; a tag that names no argument is ``failed to resolve``).
Rollout-side references (``strategy.canary.analysis`` and ``steps[].analysis``) and the
arguments they pass (``value``, ``valueFrom.podTemplateHashValue``, ``valueFrom.fieldRef``) are
parsed here too. Everything is pure: templates are handed in, never fetched.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from canary.engine.argo_expr import check_syntax

API = "argoproj.io/v1alpha1"
DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4  # utils/defaults/defaults.go DefaultConsecutiveErrorLimit
DEFAULT_PROMETHEUS_TIMEOUT = 30  # metricproviders/prometheus NewPrometheusProvider
PROVIDERS = ("prometheus", "kayenta", "web", "datadog", "wavefront", "newRelic", "job",
             "cloudWatch", "graphite", "influxdb", "skywalking", "plugin")
METRIC_KEYS = ("name", "interval", "initialDelay", "count", "successCondition",
               "failureCondition", "failureLimit", "inconclusiveLimit", "consecutiveErrorLimit",
               "provider", "consecutiveSuccessLimit")
PROMETHEUS_KEYS = ("address", "query", "authentication", "timeout", "insecure", "headers",
                   "rangeQuery")
REF_KEYS = ("templates", "args", "dryRun", "measurementRetention", "analysisRunMetadata")
TEMPLATE_REF_KEYS = ("templateName", "clusterScope")
ROLLOUT_ARG_KEYS = ("name", "value", "valueFrom")
ROLLOUT_VALUE_FROM_KEYS = ("podTemplateHashValue", "fieldRef")

_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_TAG = re.compile(r"\{\{(.*?)\}\}", re.S)


def go_duration(text: Any) -> float:
    """Go's ``time.ParseDuration`` (analysis intervals require a unit: "10" is invalid)."""
    s = str(text).strip()
    if s == "0":
        return 0.0
    sign = -1.0 if s.startswith("-") else 1.0
    body = s.lstrip("+-")
    pos, total = 0, 0.0
    for m in _GO_DURATION.finditer(body):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    if not body or pos != len(body):
        if re.fullmatch(r"\d+(?:\.\d+)?", body):
            raise ValueError(f'time: missing unit in duration "{s}"')
        raise ValueError(f'time: invalid duration "{s}"')
    return sign * total


def _int_or_string(value: Any, path: str, problems: list[str]) -> int | None:
    """An IntOrString field as Argo reads it with ``IntValue()`` (numeric strings allowed)."""
    if value is None:
        return None
    if isinstance(value, bool):
        problems.append(f"{path}: must be an integer, got {value!r}")
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    if isinstance(value, str) and "{{" in value:
        return None  # resolved from args when the run measures
    problems.append(f"{path}: must be an integer, got {value!r}")
    return None


@dataclass
class Metric:
    name: str
    raw: dict[str, Any]
    interval: float | None = None  # spec seconds
    initial_delay: float | None = None
    count: int | None = None  # EffectiveCount: None = run until terminated
    success_condition: str = ""
    failure_condition: str = ""
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = DEFAULT_CONSECUTIVE_ERROR_LIMIT
    consecutive_success_limit: int = 0
    provider: str = ""
    address: str = ""
    query: str = ""
    timeout: float = DEFAULT_PROMETHEUS_TIMEOUT
    headers: dict[str, str] = field(default_factory=dict)


def parse_metric(raw: Any, path: str, problems: list[str]) -> Metric | None:
    """One ``metrics[i]`` entry; problems are appended with their field path."""
    if not isinstance(raw, dict):
        problems.append(f"{path}: must be an object")
        return None
    for key in raw:
        if key not in METRIC_KEYS:
            problems.append(f"{path}.{key}: unknown field")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        problems.append(f"{path}.name: required")
        name = ""
    m = Metric(name=name, raw=raw)
    for key, attr in (("interval", "interval"), ("initialDelay", "initial_delay")):
        val = raw.get(key)
        if val in (None, ""):
            continue
        try:
            setattr(m, attr, go_duration(val))
        except ValueError as e:
            label = "interval" if key == "interval" else "startDelay"
            problems.append(f"{path}.{key}: invalid {label} string: {e}")
    count = _int_or_string(raw.get("count"), f"{path}.count", problems)
    fl = _int_or_string(raw.get("failureLimit"), f"{path}.failureLimit", problems)
    il = _int_or_string(raw.get("inconclusiveLimit"), f"{path}.inconclusiveLimit", problems)
    cel = _int_or_string(raw.get("consecutiveErrorLimit"), f"{path}.consecutiveErrorLimit",
                         problems)
    csl = _int_or_string(raw.get("consecutiveSuccessLimit"),
                         f"{path}.consecutiveSuccessLimit", problems)
    m.failure_limit = 0 if fl is None else fl
    m.inconclusive_limit = 0 if il is None else il
    m.consecutive_error_limit = DEFAULT_CONSECUTIVE_ERROR_LIMIT if cel is None else cel
    m.consecutive_success_limit = 0 if csl is None else csl
    # Metric.EffectiveCount: no count and no interval is one measurement.
    if count is not None and count != 0:
        m.count = count
    elif raw.get("count") is None and m.interval is None:
        m.count = 1
    elif count == 0:
        m.count = 0 if m.interval is None else None
    n = count or 0
    if m.consecutive_success_limit < 0:
        problems.append(f"{path}.consecutiveSuccessLimit: consecutiveSuccessLimit must be >= 0")
    if m.failure_limit < -1:
        problems.append(f"{path}.failureLimit: failureLimit must be >= 0, or -1 to be disabled")
    if m.consecutive_success_limit == 0 and m.failure_limit == -1:
        problems.append(f"{path}.failureLimit: failureLimit and consecutiveSuccessLimit cannot "
                        "both be disabled")
    if m.inconclusive_limit < 0:
        problems.append(f"{path}.inconclusiveLimit: inconclusiveLimit must be >= 0")
    if m.consecutive_error_limit < 0:
        problems.append(f"{path}.consecutiveErrorLimit: consecutiveErrorLimit must be >= 0")
    if n > 0:
        if m.failure_limit >= 0 and n < m.failure_limit + m.consecutive_success_limit:
            problems.append(f"{path}.count: count ({n}) must be >= failureLimit + "
                            f"consecutiveSuccessLimit ({m.failure_limit} + "
                            f"{m.consecutive_success_limit}) if both >= 0")
        elif m.failure_limit < 0 and n < m.consecutive_success_limit:
            problems.append(f"{path}.count: count must be >= consecutiveSuccessLimit")
        if n < m.inconclusive_limit:
            problems.append(f"{path}.count: count must be >= inconclusiveLimit")
    if n > 1 and m.interval is None:
        problems.append(f"{path}.interval: interval must be specified when count > 1")
    for key, attr in (("successCondition", "success_condition"),
                      ("failureCondition", "failure_condition")):
        val = raw.get(key)
        if val is None:
            continue
        if not isinstance(val, str):
            problems.append(f"{path}.{key}: must be a string")
            continue
        setattr(m, attr, val)
        if "{{" not in val and val.strip():
            err = check_syntax(val)
            if err:
                problems.append(f"{path}.{key}: cannot compile {val!r}: {err}")
    provider = raw.get("provider")
    if not isinstance(provider, dict):
        problems.append(f"{path}.provider: no provider specified")
        return m
    kinds = [k for k in provider if provider.get(k) is not None]
    for k in kinds:
        if k not in PROVIDERS:
            problems.append(f"{path}.provider.{k}: unknown provider")
    known = [k for k in kinds if k in PROVIDERS]
    n_providers = len(known) + (len(provider["plugin"]) - 1 if "plugin" in known and isinstance(
        provider["plugin"], dict) and provider["plugin"] else 0)
    if n_providers == 0:
        problems.append(f"{path}.provider: no provider specified")
        return m
    if n_providers > 1:
        problems.append(f"{path}.provider: multiple providers specified")
        return m
    m.provider = known[0]
    if m.provider != "prometheus":
        problems.append(f"{path}.provider.{m.provider}: provider not supported by this engine "
                        "(supported: prometheus)")
        return m
    prom = provider["prometheus"]
    ppath = f"{path}.provider.prometheus"
    if not isinstance(prom, dict):
        problems.append(f"{ppath}: must be an object")
        return m
    for key in prom:
        if key not in PROMETHEUS_KEYS:
            problems.append(f"{ppath}.{key}: unknown field")
    for key in ("authentication", "rangeQuery"):
        if prom.get(key):
            problems.append(f"{ppath}.{key}: not supported by this engine")
    m.address = str(prom.get("address") or "")
    m.query = prom.get("query") if isinstance(prom.get("query"), str) else ""
    if not m.query.strip():
        problems.append(f"{ppath}.query: required")
    timeout = prom.get("timeout")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
            problems.append(f"{ppath}.timeout: must be a positive number of seconds")
        else:
            m.timeout = float(timeout)
    for i, h in enumerate(prom.get("headers") or []):
        if not isinstance(h, dict) or not isinstance(h.get("key"), str):
            problems.append(f"{ppath}.headers[{i}]: expected {{key, value}}")
            continue
        m.headers[h["key"]] = str(h.get("value", ""))
    return m


def validate_metrics(raw_metrics: Any, path: str = "spec.metrics") -> tuple[list[Metric],
                                                                            list[str]]:
    """``ValidateMetrics``: at least one metric, unique names, each metric valid."""
    problems: list[str] = []
    if not isinstance(raw_metrics, list) or not raw_metrics:
        return [], [f"{path}: no metrics specified"]
    out: list[Metric] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_metrics):
        m = parse_metric(raw, f"{path}[{i}]", problems)
        if m is None:
            continue
        if m.name in seen:
            problems.append(f"{path}[{i}].name: duplicate name '{m.name}'")
        seen.add(m.name)
        out.append(m)
    return out, problems


# -- templates -------------------------------------------------------------------------------


@dataclass
class TemplateSpec:
    """An AnalysisTemplate's or ClusterAnalysisTemplate's spec, checked."""

    metrics: list[dict[str, Any]]
    args: list[dict[str, Any]]
    dry_run: list[dict[str, Any]]
    retention: list[dict[str, Any]]
    problems: list[str]


def parse_template(obj: dict[str, Any]) -> TemplateSpec:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    problems: list[str] = []
    for key in spec:
        if key not in ("metrics", "args", "dryRun", "measurementRetention", "templates"):
            problems.append(f"spec.{key}: unknown field")
    if spec.get("templates"):
        problems.append("spec.templates: nested template references are not supported by this "
                        "engine")
    metrics = spec.get("metrics") or []
    _, mp = validate_metrics(metrics)
    problems += mp
    args = spec.get("args") or []
    if not isinstance(args, list):
        problems.append("spec.args: must be a list")
        args = []
    for i, a in enumerate(args):
        if not isinstance(a, dict) or not isinstance(a.get("name"), str):
            problems.append(f"spec.args[{i}].name: required")
        elif a.get("valueFrom") is not None and "secretKeyRef" in (a.get("valueFrom") or {}):
            problems.append(f"spec.args[{i}].valueFrom.secretKeyRef: not supported by this "
                            "engine")
    return TemplateSpec(metrics=list(metrics) if isinstance(metrics, list) else [],
                        args=[a for a in args if isinstance(a, dict)],
                        dry_run=list(spec.get("dryRun") or []),
                        retention=list(spec.get("measurementRetention") or []),
                        problems=problems)


# -- rollout-side references ---------------------------------------------------------------


@dataclass(frozen=True)
class TemplateRef:
    name: str
    cluster_scope: bool = False


@dataclass
class RolloutAnalysis:
    """``strategy.canary.analysis`` (background) or ``steps[i].analysis`` as the Rollout says."""

    templates: list[TemplateRef]
    args: list[dict[str, Any]] = field(default_factory=list)
    dry_run: list[dict[str, Any]] = field(default_factory=list)
    retention: list[dict[str, Any]] = field(default_factory=list)
    run_labels: dict[str, str] = field(default_factory=dict)
    run_annotations: dict[str, str] = field(default_factory=dict)
    starting_step: int = 0


def parse_rollout_analysis(raw: Any, path: str, errors: list[str],
                           background: bool = False) -> RolloutAnalysis | None:
    if not isinstance(raw, dict):
        errors.append(f"{path}: must be an object")
        return None
    known = REF_KEYS + (("startingStep",) if background else ())
    for key in raw:
        if key not in known:
            errors.append(f"{path}.{key}: unknown field")
    templates: list[TemplateRef] = []
    for i, t in enumerate(raw.get("templates") or []):
        tpath = f"{path}.templates[{i}]"
        if not isinstance(t, dict) or not isinstance(t.get("templateName"), str) or not t.get(
                "templateName"):
            errors.append(f"{tpath}.templateName: required")
            continue
        for key in t:
            if key not in TEMPLATE_REF_KEYS:
                errors.append(f"{tpath}.{key}: unknown field")
        templates.append(TemplateRef(t["templateName"], bool(t.get("clusterScope"))))
    args = raw.get("args") or []
    if not isinstance(args, list):
        errors.append(f"{path}.args: must be a list")
        args = []
    for i, a in enumerate(args):
        apath = f"{path}.args[{i}]"
        if not isinstance(a, dict) or not isinstance(a.get("name"), str):
            errors.append(f"{apath}.name: required")
            continue
        for key in a:
            if key not in ROLLOUT_ARG_KEYS:
                errors.append(f"{apath}.{key}: unknown field")
        vf = a.get("valueFrom")
        if vf is None:
            continue
        if not isinstance(vf, dict):
            errors.append(f"{apath}.valueFrom: must be an object")
            continue
        for key in vf:
            if key not in ROLLOUT_VALUE_FROM_KEYS:
                errors.append(f"{apath}.valueFrom.{key}: unknown field")
        ph = vf.get("podTemplateHashValue")
        if ph is not None and ph not in ("Stable", "Latest"):
            errors.append(f"{apath}.valueFrom.podTemplateHashValue: must be Stable or Latest, "
                          f"got {ph!r}")
        fr = vf.get("fieldRef")
        if fr is not None and (not isinstance(fr, dict) or not isinstance(
                fr.get("fieldPath"), str)):
            errors.append(f"{apath}.valueFrom.fieldRef.fieldPath: required")
    starting = 0
    if background and raw.get("startingStep") is not None:
        s = raw.get("startingStep")
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            errors.append(f"{path}.startingStep: must be an integer >= 0, got {s!r}")
        else:
            starting = s
    meta = raw.get("analysisRunMetadata") or {}
    return RolloutAnalysis(
        templates=templates, args=[a for a in args if isinstance(a, dict)],
        dry_run=list(raw.get("dryRun") or []), retention=list(raw.get("measurementRetention")
                                                              or []),
        run_labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        run_annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
        starting_step=starting)


def _field_path(obj: dict[str, Any], path: str) -> str:
    """``fieldRef.fieldPath`` against the Rollout: ``metadata.labels['x']`` style for metadata
    (k8s fieldpath), dotted/indexed paths elsewhere (factory.go ``extractValueFromRollout``)."""
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']*)'\]", path)
    if m:
        return str(((obj.get("metadata") or {}).get(m.group(1)) or {}).get(m.group(2), ""))
    if path in ("metadata.name", "metadata.namespace", "metadata.uid"):
        return str((obj.get("metadata") or {}).get(path.split(".")[1], ""))
    if path.startswith("metadata"):
        raise ValueError(f"unsupported fieldPath: {path}")
    cur: Any = obj
    for section in [s for s in re.split(r"[.\[\]]+", path) if s]:
        if isinstance(cur, list):
            if not section.isdigit():
                raise ValueError(f"invalid index '{section}'")
            i = int(section)
            if i >= len(cur):
                raise ValueError(f"index {i} out of range")
            cur = cur[i]
        elif isinstance(cur, dict):
            cur = cur.get(section)
        else:
            raise ValueError(f"invalid path {path} in rollout")
    if cur is None:
        raise ValueError(f"invalid path {path} in rollout")
    if isinstance(cur, list | dict):
        raise ValueError(f"path {path} in rollout must terminate in a primitive value")
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def rollout_args(ref: RolloutAnalysis, rollout: dict[str, Any], stable_hash: str,
                 latest_hash: str) -> list[dict[str, Any]]:
    """``BuildArgumentsForRolloutAnalysisRun``: every Rollout arg with its value resolved."""
    out = []
    for a in ref.args:
        value = a.get("value")
        vf = a.get("valueFrom") or {}
        if vf.get("podTemplateHashValue") == "Latest":
            value = latest_hash
        elif vf.get("podTemplateHashValue") == "Stable":
            value = stable_hash
        elif isinstance(vf.get("fieldRef"), dict):
            value = _field_path(rollout, vf["fieldRef"].get("fieldPath", ""))
        out.append({"name": a["name"], "value": "" if value is None else str(value)})
    return out


class RunBuildError(ValueError):
    pass


def build_run_spec(templates: list[tuple[str, dict[str, Any]]], ref: RolloutAnalysis,
                   args: list[dict[str, Any]]) -> dict[str, Any]:
    """The AnalysisRun ``spec`` from the referenced templates (``(kind, object)``) and the
    Rollout's resolved args: metrics flattened (unique names), template args merged with the
    Rollout's by name (every arg must end up with a value), dryRun / measurementRetention from
    both sides. Raises :class:`RunBuildError` with Argo's message."""
    metrics: list[dict[str, Any]] = []
    tpl_args: list[dict[str, Any]] = []
    dry_run: list[dict[str, Any]] = []
    retention: list[dict[str, Any]] = []
    for kind, obj in templates:
        tspec = parse_template(obj)
        name = (obj.get("metadata") or {}).get("name", "")
        if tspec.problems:
            raise RunBuildError(f"{kind} {name!r} is invalid: " + "; ".join(tspec.problems))
        for m in tspec.metrics:
            if any(x.get("name") == m.get("name") for x in metrics):
                raise RunBuildError(f"two metrics have the same name '{m.get('name')}'")
            metrics.append(m)
        for a in tspec.args:
            prev = next((x for x in tpl_args if x["name"] == a["name"]), None)
            if prev is None:
                tpl_args.append(dict(a))
            elif a.get("value") is not None and prev.get("value") is not None and a.get(
                    "value") != prev.get("value"):
                raise RunBuildError(f"Argument `{a['name']}` specified multiple times with "
                                    f"different values: '{prev['value']}', '{a['value']}'")
            elif prev.get("value") is None:
                prev.update(a)
        dry_run += tspec.dry_run
        retention += tspec.retention
    merged = [dict(a) for a in tpl_args]
    for a in args:
        target = next((x for x in merged if x["name"] == a["name"]), None)
        if target is not None:
            target["value"] = a["value"]
            target.pop("valueFrom", None)
    for a in merged:
        if a.get("value") is None and a.get("valueFrom") is None:
            raise RunBuildError(f"args.{a['name']} was not resolved")
        if a.get("valueFrom") is not None and a.get("value") is None:
            raise RunBuildError(f"args.{a['name']}: valueFrom is not supported on template "
                                "args by this engine")
        if a.get("value") is not None:
            a["value"] = str(a["value"])
    spec: dict[str, Any] = {"metrics": metrics}
    if merged:
        spec["args"] = merged
    dry_run += ref.dry_run
    retention += ref.retention
    if dry_run:
        spec["dryRun"] = dry_run
    if retention:
        spec["measurementRetention"] = retention
    return spec


def resolve_args(text: str, args: list[dict[str, Any]], quoted: bool = False) -> str:
    """``{{ args.name }}`` tags replaced by values; Argo's errors for missing ones."""
    values: dict[str, str] = {}
    for a in args:
        if a.get("value") is None:
            raise RunBuildError(f'argument "{a.get("name")}" was not supplied')
        v = str(a["value"])
        values[f"args.{a['name']}"] = json.dumps(v)[1:-1] if quoted else v

    def sub(m: re.Match[str]) -> str:
        key = m.group(1).strip()
        if key not in values:
            raise RunBuildError(f"failed to resolve {{{{{m.group(1)}}}}}")
        return values[key]

    return _TAG.sub(sub, text)


def resolved_metrics(run_spec: dict[str, Any]) -> tuple[list[Metric], list[str]]:
    """The run's metrics with args substituted into every field (``ResolveMetricArgs``), then
    validated. Problems come back as messages (the run goes to Error with them)."""
    args = run_spec.get("args") or []
    raw = run_spec.get("metrics") or []
    try:
        text = resolve_args(json.dumps(raw), args, quoted=True)
    except RunBuildError as e:
        return [], [f"Unable to resolve metric arguments: {e}"]
    metrics, problems = validate_metrics(json.loads(text))
    if problems:
        return metrics, [f"Analysis spec invalid: {'; '.join(problems)}"]
    return metrics, []


def dry_run_names(run_spec: dict[str, Any], metrics: list[Metric]) -> tuple[set[str], list[str]]:
    """``GetDryRunMetrics``: metricName ``*`` marks every metric; unknown names are errors."""
    names = {m.name for m in metrics}
    out: set[str] = set()
    problems = []
    for i, d in enumerate(run_spec.get("dryRun") or []):
        n = (d or {}).get("metricName")
        if n == "*":
            out |= names
        elif n in names:
            out.add(n)
        else:
            problems.append(f"dryRun[{i}].metricName: dry-run metric {n!r} does not match any "
                            "metric")
    return out, problems


def retention_limits(run_spec: dict[str, Any], metrics: list[Metric]) -> tuple[dict[str, int],
                                                                                list[str]]:
    """``GetMeasurementRetentionMetrics``: measurements kept per metric (``*`` for all)."""
    names = {m.name for m in metrics}
    out: dict[str, int] = {}
    problems = []
    for i, r in enumerate(run_spec.get("measurementRetention") or []):
        n = (r or {}).get("metricName")
        limit = (r or {}).get("limit")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            problems.append(f"measurementRetention[{i}].limit: must be an integer >= 0")
            continue
        if n == "*":
            for name in names:
                out.setdefault(name, limit)
        elif n in names:
            out[n] = limit
        else:
            problems.append(f"measurementRetention[{i}].metricName: measurement retention "
                            f"metric {n!r} does not match any metric")
    return out, problems
