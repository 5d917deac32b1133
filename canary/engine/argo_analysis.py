"""AnalysisRun measurement scheduling and assessment as pure functions (no I/O).

Ported from argoproj/argo-rollouts ``analysis/analysis.go``: ``generateMetricTasks`` (which
metrics are due: initialDelay from ``status.startedAt``, ``interval`` after the last
measurement's ``finishedAt``, 10 s after an error, nothing once ``count`` is reached or the run
is terminating), ``runMeasurements`` (counters per outcome), ``assessRunStatus`` /
``assessMetricStatus`` / ``assessMetricFailureInconclusiveOrError`` (limits, worst phase,
Argo's messages), ``garbageCollectMeasurements`` (``measurementRetention``, default 10) and
``calculateNextReconcileTime``. Conditions are evaluated with :mod:`canary.engine.argo_expr`
following ``utils/evaluate/evaluate.go`` ``EvaluateResult``.

Times in the status are wall-clock; spec durations are multiplied by ``scale`` (the clock's time
scale) before they are compared with them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from canary.engine.argo import parse_time, rfc3339
from canary.engine.argo_expr import ExprError, eval_condition
from canary.engine.types import Event
from canary.spec.analysis import Metric, dry_run_names, resolved_metrics, retention_limits

PENDING, RUNNING, SUCCESSFUL = "Pending", "Running", "Successful"
FAILED, ERROR, INCONCLUSIVE = "Failed", "Error", "Inconclusive"
COMPLETED = (SUCCESSFUL, FAILED, ERROR, INCONCLUSIVE)
# best to worst (utils/analysis/helpers.go analysisStatusOrder)
ORDER = (SUCCESSFUL, RUNNING, PENDING, INCONCLUSIVE, ERROR, FAILED)
ERROR_RETRY_INTERVAL = 10.0  # analysis.go DefaultErrorRetryInterval (spec seconds)
MEASUREMENT_HISTORY_LIMIT = 10  # analysis.go DefaultMeasurementHistoryLimit
RESOLVED_QUERY = "ResolvedPrometheusQuery"


def is_worse(current: str, new: str) -> bool:
    def rank(p: str) -> int:
        return ORDER.index(p) if p in ORDER else 0

    return rank(new) > rank(current)


@dataclass
class Outcome:
    """What one provider call returned: a value (list of floats for a vector, float for a
    scalar) with its Go-formatted text, or an error message."""

    started_at: float
    finished_at: float
    value: Any = None
    value_text: str = ""
    error: str | None = None
    query: str = ""


@dataclass
class RunDecision:
    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None  # spec seconds


def evaluate(result: Any, metric: Metric) -> tuple[str, str | None]:
    """``EvaluateResult``: the measurement phase and, for Error, the message."""
    success = failure = False
    for attr, label in (("success_condition", "successCondition"),
                        ("failure_condition", "failureCondition")):
        cond = getattr(metric, attr)
        if not cond:
            continue
        try:
            val = eval_condition(result, cond)
        except ExprError as e:
            if result is None or (isinstance(result, list) and not result):
                return ERROR, (f'could not evaluate {label} "{cond}": metric result is nil or '
                               "empty: no data returned from the metric provider")
            return ERROR, f'could not evaluate {label} "{cond}": {e}'
        if attr == "success_condition":
            success = val
        else:
            failure = val
    if not metric.success_condition and not metric.failure_condition:
        return SUCCESSFUL, None
    if metric.success_condition and not metric.failure_condition:
        failure = not success
    elif metric.failure_condition and not metric.success_condition:
        success = not failure
    if failure:
        return FAILED, None
    if not success:
        return INCONCLUSIVE, None
    return SUCCESSFUL, None


def _result(status: dict[str, Any], name: str) -> dict[str, Any] | None:
    for r in status.get("metricResults") or []:
        if r.get("name") == name:
            return r
    return None


def _terminating(run: dict[str, Any]) -> bool:
    """``IsTerminating``: asked to stop, or a (non-dry-run) metric already ended badly."""
    if (run.get("spec") or {}).get("terminate"):
        return True
    for r in (run.get("status") or {}).get("metricResults") or []:
        if not r.get("dryRun") and r.get("phase") in (FAILED, ERROR, INCONCLUSIVE):
            return True
    return False


def due_metrics(run: dict[str, Any], now: float, scale: float = 1.0) -> list[Metric]:
    """``generateMetricTasks``: the metrics to measure now (empty once the run completed)."""
    status = run.get("status") or {}
    if status.get("phase") in COMPLETED:
        return []
    metrics, problems = resolved_metrics(run.get("spec") or {})
    if problems or _terminating(run):
        return []
    started = parse_time(status.get("startedAt"))
    out = []
    for m in metrics:
        res = _result(status, m.name)
        if res is not None and res.get("phase") in COMPLETED:
            continue
        measurements = (res or {}).get("measurements") or []
        if not measurements:
            if m.initial_delay:
                if started is None or now < started + m.initial_delay * scale:
                    continue
            out.append(m)
            continue
        if m.count is not None and int(res.get("count") or 0) >= m.count:
            continue
        last = measurements[-1]
        interval = (ERROR_RETRY_INTERVAL if last.get("phase") == ERROR or m.interval is None
                    else m.interval)
        finished = parse_time(last.get("finishedAt")) or now
        if now >= finished + interval * scale:
            out.append(m)
    return out


def _summary() -> dict[str, int]:
    return {"count": 0, "successful": 0, "failed": 0, "inconclusive": 0, "error": 0}


def _limits_breached(m: Metric, res: dict[str, Any]) -> tuple[str, str]:
    """``assessMetricFailureInconclusiveOrError``: (phase or "", message)."""
    phase, message = "", ""
    failed = int(res.get("failed") or 0)
    if m.failure_limit >= 0 and failed > m.failure_limit:
        phase, message = FAILED, f"failed ({failed}) > failureLimit ({m.failure_limit})"
    inconclusive = int(res.get("inconclusive") or 0)
    if inconclusive > m.inconclusive_limit:
        phase = INCONCLUSIVE
        message = f"inconclusive ({inconclusive}) > inconclusiveLimit ({m.inconclusive_limit})"
    errors = int(res.get("consecutiveError") or 0)
    if errors > m.consecutive_error_limit:
        phase = ERROR
        message = (f"consecutiveErrors ({errors}) > consecutiveErrorLimit "
                   f"({m.consecutive_error_limit})")
    return phase, message


def _metric_phase(m: Metric, res: dict[str, Any], terminating: bool) -> str:
    """``assessMetricStatus``."""
    if res.get("phase") in COMPLETED:
        return res["phase"]
    measurements = res.get("measurements") or []
    if not measurements:
        return SUCCESSFUL if terminating else PENDING
    if measurements[-1].get("phase") not in COMPLETED:
        return RUNNING
    phase, _ = _limits_breached(m, res)
    if phase:
        return phase
    csl = m.consecutive_success_limit
    if csl > 0 and int(res.get("consecutiveSuccess") or 0) >= csl:
        return SUCCESSFUL
    if m.count is not None and int(res.get("count") or 0) >= m.count:
        failure_applicable = m.failure_limit >= 0
        if failure_applicable and csl > 0:
            return INCONCLUSIVE  # count reached, consecutiveSuccessLimit not, failures allowed
        if csl > 0:
            return FAILED
        return SUCCESSFUL
    return SUCCESSFUL if terminating else RUNNING


def _count(res: dict[str, Any], key: str, by: int = 1) -> None:
    res[key] = int(res.get(key) or 0) + by


def assess(run: dict[str, Any], outcomes: dict[str, Outcome], now: float,
           scale: float = 1.0) -> RunDecision:
    """Record ``outcomes`` (metric name -> provider result) and assess the run, as one pass of
    Argo's ``reconcileAnalysisRun``. Returns the new status, the events and the requeue hint."""
    status = copy.deepcopy(run.get("status") or {})
    d = RunDecision(status=status)
    if status.get("phase") in COMPLETED:
        return d
    spec = run.get("spec") or {}
    status.setdefault("metricResults", [])
    metrics, problems = resolved_metrics(spec)
    dry: set[str] = set()
    retention: dict[str, int] = {}
    if not problems:
        dry, dp = dry_run_names(spec, metrics)
        retention, rp = retention_limits(spec, metrics)
        if dp or rp:
            problems = [f"Analysis spec invalid: {'; '.join(dp + rp)}"]
    if problems:
        status["phase"] = ERROR
        status["message"] = problems[0]
        status.setdefault("startedAt", rfc3339(now))
        status["completedAt"] = rfc3339(now)
        d.events.append(Event("Warning", "Analysis Completed. Result: Error",
                              reason="AnalysisRunError"))
        return d

    for m in metrics:
        out = outcomes.get(m.name)
        if out is None:
            continue
        res = _result(status, m.name)
        if res is None:
            res = {"name": m.name, "phase": RUNNING}
            if m.name in dry:
                res["dryRun"] = True
            if out.query:
                res["metadata"] = {RESOLVED_QUERY: out.query}
            status["metricResults"].append(res)
        meas: dict[str, Any] = {"startedAt": rfc3339(out.started_at),
                                "finishedAt": rfc3339(out.finished_at)}
        if out.error is not None:
            phase, message = ERROR, out.error
        else:
            meas["value"] = out.value_text
            phase, message = evaluate(out.value, m)
        meas["phase"] = phase
        if message:
            meas["message"] = message
        if phase == SUCCESSFUL:
            _count(res, "successful")
            _count(res, "count")
            res["consecutiveError"] = 0
            _count(res, "consecutiveSuccess")
        elif phase in (FAILED, INCONCLUSIVE):
            _count(res, "failed" if phase == FAILED else "inconclusive")
            _count(res, "count")
            res["consecutiveError"] = 0
            res["consecutiveSuccess"] = 0
        else:
            _count(res, "error")
            _count(res, "consecutiveError")
            res["consecutiveSuccess"] = 0
        res.setdefault("measurements", []).append(meas)

    phase, message = _assess_run(run, status, metrics, dry, now, d)
    if phase != status.get("phase"):
        status["phase"] = phase
        if message:
            status["message"] = message
        else:
            status.pop("message", None)
        if phase in COMPLETED:
            kind = "Warning" if phase in (ERROR, FAILED) else "Normal"
            d.events.append(Event(kind, f"Analysis Completed. Result: {phase}",
                                  reason=f"AnalysisRun{phase}"))
            status.setdefault("completedAt", rfc3339(now))
    # garbageCollectMeasurements: keep the newest N per metric
    for res in status["metricResults"]:
        limit = retention.get(res.get("name", ""), 0) or MEASUREMENT_HISTORY_LIMIT
        ms = res.get("measurements") or []
        if len(ms) > limit:
            res["measurements"] = ms[len(ms) - limit:]
    for r in status["metricResults"]:
        for key in ("count", "successful", "failed", "inconclusive", "error",
                    "consecutiveError", "consecutiveSuccess"):
            if key in r and not r[key]:
                del r[key]  # omitempty counters, as Argo writes them
    if status["phase"] not in COMPLETED:
        d.requeue_after = _next_due(run, status, metrics, now, scale)
    return d


def _assess_run(run: dict[str, Any], status: dict[str, Any], metrics: list[Metric],
                dry: set[str], now: float, d: RunDecision) -> tuple[str, str]:
    """``assessRunStatus``: per-metric phases, summaries, then the run's worst phase."""
    probe = {"spec": run.get("spec") or {}, "status": status}
    terminating = _terminating(probe)
    status.setdefault("startedAt", rfc3339(now))
    worst, worst_msg = "", ""
    if (run.get("spec") or {}).get("terminate"):
        worst_msg = "Run Terminated"
    everything = True
    summary, dry_summary = _summary(), _summary()
    for m in metrics:
        is_dry = m.name in dry
        (dry_summary if is_dry else summary)["count"] += 1
        res = _result(status, m.name)
        if res is None:
            everything = False
            continue
        mphase = _metric_phase(m, res, terminating)
        if res.get("phase") != mphase:
            if mphase in COMPLETED:
                kind = "Warning" if mphase in (ERROR, FAILED) else "Normal"
                d.events.append(Event(kind, f"Metric '{m.name}' Completed. Result: {mphase}",
                                      reason=f"Metric{mphase}"))
            last = (res.get("measurements") or [{}])[-1]
            if last.get("message"):
                res["message"] = last["message"]
            else:
                res.pop("message", None)
            res["phase"] = mphase
        if mphase not in COMPLETED:
            everything = False
            continue
        lphase, lmsg = _limits_breached(m, res)
        bucket = {ERROR: "error", FAILED: "failed", INCONCLUSIVE: "inconclusive"}.get(
            lphase, "successful")
        if not is_dry:
            if not worst or is_worse(worst, mphase):
                worst = mphase
                if lmsg:
                    worst_msg = f'Metric "{m.name}" assessed {mphase} due to {lmsg}'
                    if res.get("message"):
                        worst_msg += f': "Error Message: {res["message"]}"'
            summary[bucket] += 1
        else:
            if not worst:
                worst = SUCCESSFUL
            if lmsg:
                res["message"] = f"Metric assessed {mphase} due to {lmsg}"
            dry_summary[bucket] += 1
    status["runSummary"] = {k: v for k, v in summary.items() if v}
    status["dryRunSummary"] = {k: v for k, v in dry_summary.items() if v}
    worst_msg = worst_msg.strip()
    if terminating:
        return (worst or SUCCESSFUL), worst_msg
    if not everything or not worst:
        return RUNNING, ""
    return worst, worst_msg


def _next_due(run: dict[str, Any], status: dict[str, Any], metrics: list[Metric], now: float,
              scale: float) -> float | None:
    """``calculateNextReconcileTime`` in spec seconds from ``now``."""
    best: float | None = None
    started = parse_time(status.get("startedAt")) or now
    for m in metrics:
        res = _result(status, m.name)
        if res is not None and res.get("phase") in COMPLETED:
            continue
        ms = (res or {}).get("measurements") or []
        if not ms:
            if m.initial_delay:
                due = started + m.initial_delay * scale
            else:
                due = now
        else:
            if m.count is not None and int(res.get("count") or 0) >= m.count:
                continue
            last = ms[-1]
            interval = (ERROR_RETRY_INTERVAL if last.get("phase") == ERROR or m.interval is None
                        else m.interval)
            due = (parse_time(last.get("finishedAt")) or now) + interval * scale
        wait = max(0.0, (due - now) / scale)
        best = wait if best is None else min(best, wait)
    return best


def run_counts(run: dict[str, Any]) -> dict[str, int]:
    """Measurement counts over every metric (what ``kubectl argo rollouts get`` shows)."""
    out = {"successful": 0, "failed": 0, "inconclusive": 0, "error": 0}
    for r in (run.get("status") or {}).get("metricResults") or []:
        for k in out:
            out[k] += int(r.get(k) or 0)
    return out
