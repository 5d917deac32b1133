"""AnalysisRuns in the API: creating them for a Rollout, and taking their measurements.

Argo Rollouts runs two controllers: the rollout controller creates AnalysisRuns from
AnalysisTemplates (rollout/analysis.go ``newAnalysisRunFromRollout``), the analysis controller
measures them (analysis/analysis.go). Both halves live here and run inside the Rollout loop's
pass, analysis first, so a Rollout sees the phase its runs reached in the same pass. Every
piece of state is in the AnalysisRun object (``status.metricResults``, ``spec.terminate``), so a
killed engine resumes where the API says it was.

Prometheus queries go through :class:`canary.metrics.prometheus.PrometheusProvider`. With a
time scale, the range windows and offsets written in a query (``[1m]``, ``[5m:30s]``,
``offset 1m``) are compressed like every other duration, so a window holds as many requests as
on a real cluster (the Flagger half does the same through ``{{ interval }}``).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable

from canary.clock import Clock, format_duration
from canary.engine import argo
from canary.engine.argo_analysis import Outcome, assess, due_metrics
from canary.engine.argo_expr import format_value
from canary.engine.types import Event
from canary.kube.client import AlreadyExists, ApiError, KubeClient, NotFound, Obj
from canary.kube.events import EventRecorder
from canary.metrics.prometheus import PrometheusProvider, QueryError
from canary.spec.analysis import (
    API,
    Metric,
    RunBuildError,
    build_run_spec,
    rollout_args,
)
from canary.spec.rollout import HASH_LABEL, REVISION_ANNOTATION, RolloutSpec, analysis_refs

TYPE_LABEL = "rollout-type"
STEP_INDEX_LABEL = "step-index"
COMPONENT = "rollouts-controller"
_DUR = r"(?:\d+(?:ms|s|m|h|d|w|y))+"
_PROMQL_RANGE = re.compile(rf"\[\s*({_DUR})\s*(?::\s*({_DUR})\s*)?\]")
_PROMQL_OFFSET = re.compile(rf"\boffset\s+({_DUR})")
_PROM_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800,
               "y": 31536000}


def _prom_seconds(text: str) -> float:
    return sum(float(n) * _PROM_UNITS[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text))


def scale_promql(query: str, scale: float) -> str:
    """Compress the range windows, subquery steps and offsets of ``query`` by ``scale``."""
    if scale == 1.0:
        return query

    def dur(text: str) -> str:
        return format_duration(_prom_seconds(text) * scale)

    def rng(m: re.Match[str]) -> str:
        step = f":{dur(m.group(2))}" if m.group(2) else ""
        return f"[{dur(m.group(1))}{step}]"

    query = _PROMQL_RANGE.sub(rng, query)
    return _PROMQL_OFFSET.sub(lambda m: f"offset {dur(m.group(1))}", query)


def run_observations(runs: list[Obj], uid: str | None) -> list[argo.AnalysisRunObs]:
    out = []
    for run in runs:
        md = run.get("metadata") or {}
        if not any(o.get("uid") == uid and o.get("controller")
                   for o in md.get("ownerReferences") or []):
            continue
        labels = md.get("labels") or {}
        idx = labels.get(STEP_INDEX_LABEL)
        status = run.get("status") or {}
        out.append(argo.AnalysisRunObs(
            name=md.get("name", ""), kind=labels.get(TYPE_LABEL, ""),
            pod_hash=labels.get(HASH_LABEL, ""),
            step_index=int(idx) if idx is not None and str(idx).isdigit() else None,
            phase=str(status.get("phase") or ""), message=str(status.get("message") or ""),
            terminate=bool((run.get("spec") or {}).get("terminate"))))
    return out


class AnalysisRuns:
    """Creates, terminates and measures AnalysisRuns for the Rollout controller."""

    def __init__(self, client: KubeClient, clock: Clock, recorder: EventRecorder,
                 log: logging.Logger, resolve_url: Callable[[str, str | None], str] | None = None,
                 metrics_server: str | None = None) -> None:
        self.client = client
        self.clock = clock
        self.recorder = recorder
        self.log = log
        self.resolve_url = resolve_url or (lambda url, namespace=None: url)
        self.metrics_server = metrics_server

    # -- templates ----------------------------------------------------------------------------

    def missing_templates(self, spec: RolloutSpec) -> list[str]:
        """InvalidSpec messages for AnalysisTemplates the Rollout names but the API lacks."""
        out = []
        for path, name, cluster in analysis_refs(spec):
            kind = "ClusterAnalysisTemplate" if cluster else "AnalysisTemplate"
            try:
                found = self.client.get_or_none(API, kind, name,
                                                None if cluster else spec.namespace)
            except NotFound:
                found = None  # the CRD itself is not installed
            if found is None:
                plural = "clusteranalysistemplates" if cluster else "analysistemplates"
                out.append(f'{path}: {plural}.argoproj.io "{name}" not found')
        return out

    def create(self, ro: Obj, spec: RolloutSpec, a: argo.CreateAnalysisRun,
               stable_hash: str) -> list[Event]:
        templates = []
        for t in a.analysis.templates:
            kind = "ClusterAnalysisTemplate" if t.cluster_scope else "AnalysisTemplate"
            obj = self.client.get_or_none(API, kind, t.name,
                                          None if t.cluster_scope else spec.namespace)
            if obj is None:
                return [Event("Warning", f'{kind.lower()}s.argoproj.io "{t.name}" not found',
                              reason="AnalysisRunError")]
            templates.append((kind, obj))
        try:
            args = rollout_args(a.analysis, ro, stable_hash, a.pod_hash)
            run_spec = build_run_spec(templates, a.analysis, args)
        except (RunBuildError, ValueError) as e:
            return [Event("Warning", f"cannot create AnalysisRun {a.name}: {e}",
                          reason="AnalysisRunError")]
        labels = {HASH_LABEL: a.pod_hash, TYPE_LABEL: a.kind, **a.analysis.run_labels,
                  **spec.selector}
        if a.step_index is not None:
            labels[STEP_INDEX_LABEL] = str(a.step_index)
        run = {
            "apiVersion": API, "kind": "AnalysisRun",
            "metadata": {
                "name": a.name, "namespace": spec.namespace, "labels": labels,
                "annotations": {REVISION_ANNOTATION: str(a.revision),
                                **a.analysis.run_annotations},
                "ownerReferences": [{
                    "apiVersion": API, "kind": "Rollout", "name": spec.name,
                    "uid": ro["metadata"].get("uid", ""), "controller": True,
                    "blockOwnerDeletion": True}]},
            "spec": run_spec,
        }
        try:
            self.client.create(run)
        except AlreadyExists:
            pass
        return []

    def terminate(self, namespace: str, name: str) -> None:
        try:
            self.client.patch(API, "AnalysisRun", name, {"spec": {"terminate": True}},
                              namespace)
        except NotFound:
            pass

    # -- measuring ----------------------------------------------------------------------------

    def reconcile(self, run: Obj) -> float | None:
        """Take the measurements that are due, assess, write the status. Returns the requeue
        hint in spec seconds."""
        now = self.clock.now()
        ns = run["metadata"].get("namespace") or "default"
        outcomes = {m.name: self._measure(m, ns) for m in due_metrics(run, now,
                                                                        self.clock.scale)}
        decision = assess(run, outcomes, self.clock.now(), self.clock.scale)
        if decision.status != (run.get("status") or {}):
            new = copy.deepcopy(run)
            new["status"] = decision.status
            try:
                self.client.update_status(new)
            except NotFound:
                self.client.update(new)
        for ev in decision.events:
            self.recorder.emit(run, ev.type, ev.reason, ev.message)
        return decision.requeue_after

    def _measure(self, m: Metric, namespace: str) -> Outcome:
        started = self.clock.now()
        query = m.query
        try:
            address = self.resolve_url(self.metrics_server or m.address, namespace)
        except Exception as e:  # noqa: BLE001 - resolver errors become an Error measurement
            return Outcome(started, self.clock.now(), error=f"cannot resolve {m.address}: {e}",
                           query=query)
        provider = PrometheusProvider(address, {k: [v] for k, v in m.headers.items()},
                                      timeout=m.timeout * max(self.clock.scale, 0.1))
        try:
            _, value = provider.query_samples(scale_promql(query, self.clock.scale))
        except QueryError as e:
            return Outcome(started, self.clock.now(), error=str(e), query=query)
        except ApiError as e:
            return Outcome(started, self.clock.now(), error=str(e), query=query)
        return Outcome(started, self.clock.now(), value=value, value_text=format_value(value),
                       query=query)
