"""Judging metric and webhook results into Flagger's Halt messages (scheduler_metrics.go).

Pure: the controller runs the queries/webhooks and passes each outcome here; the first
failure ends the analysis for that tick.
"""

from __future__ import annotations

from dataclasses import dataclass

from canary.engine.types import WARNING, Event
from canary.spec.canary import BUILTIN_METRICS, CanarySpec, MetricSpec


@dataclass(frozen=True)
class MetricOutcome:
    """A metric query's answer: ``value`` or an error of kind ``error_kind``.

    Kinds: "no-values", "query", "template" (template missing / invalid), "render",
    "unconfigured" (no template, no query, not builtin).
    """

    value: float | None = None
    error_kind: str = ""
    error: str = ""
    template: str = ""  # "<name>.<namespace>" of the template, for messages


def go_float(v: float) -> str:
    """Go's %v for a float64 (99 -> "99", 99.5 -> "99.5")."""
    return f"{v:.15g}" if v != int(v) or abs(v) >= 1e21 else str(int(v))


def go_duration_ms(ms: float) -> str:
    """Go's time.Duration String() for a number of milliseconds."""
    if ms == 0:
        return "0s"
    if ms < 1:
        return f"{go_float(round(ms * 1000, 3))}µs"
    if ms < 1000:
        return f"{go_float(round(ms, 6))}ms"
    s = ms / 1000
    if s < 60:
        return f"{go_float(round(s, 9))}s"
    m, rest = divmod(s, 60)
    if m < 60:
        return f"{int(m)}m{go_float(round(rest, 9))}s"
    h, m = divmod(m, 60)
    return f"{int(h)}h{int(m)}m{go_float(round(rest, 9))}s"


def judge_metric(c: CanarySpec, m: MetricSpec, o: MetricOutcome,
                 observer: str = "linkerd") -> Event | None:
    """None when the metric passes, else the Warning event Flagger records."""
    cn = f"{c.name}.{c.namespace}"
    builtin = m.name in BUILTIN_METRICS and m.template_ref is None and not m.query
    if o.error_kind:
        if o.error_kind == "unconfigured":
            return Event(WARNING, "Metric query failed for no usable metrics template and "
                                  "query were configured")
        if o.error_kind == "template":
            return Event(WARNING, f"Metric template {o.template} error: {o.error}")
        if o.error_kind == "render":
            return Event(WARNING, f"Metric template {o.template} query render error: {o.error}")
        if builtin:
            if o.error_kind == "no-values":
                # request-duration's message has no error suffix (scheduler_metrics.go)
                tail = f": {o.error}" if m.name == "request-success-rate" else ""
                return Event(WARNING, f"Halt advancement no values found for {observer} metric "
                                      f"{m.name} probably {c.target_name}.{c.namespace} is not "
                                      f"receiving traffic{tail}")
            return Event(WARNING, f"Prometheus query failed: {o.error}")
        if m.template_ref is None:  # deprecated inline query
            if o.error_kind == "no-values":
                return Event(WARNING, f"Halt advancement no values found for metric: {m.name}")
            return Event(WARNING, f"Prometheus query failed for {m.name}: {o.error}")
        if o.error_kind == "no-values":
            return Event(WARNING, f"Halt advancement no values found for custom metric: "
                                  f"{m.name}: {o.error}")
        return Event(WARNING, f"Metric query failed for {m.name}: {o.error}")

    val = float(o.value if o.value is not None else 0.0)
    if builtin and m.name == "request-success-rate":
        if m.min is not None and val < m.min:
            return Event(WARNING, f"Halt {cn} advancement success rate {val:.2f}% < "
                                  f"{go_float(m.min)}%")
        if m.max is not None and val > m.max:
            return Event(WARNING, f"Halt {cn} advancement success rate {val:.2f}% > "
                                  f"{go_float(m.max)}%")
        if m.min is None and m.max is None and m.threshold is not None and m.threshold > val:
            return Event(WARNING, f"Halt {cn} advancement success rate {val:.2f}% < "
                                  f"{go_float(m.threshold)}%")
        return None
    if builtin and m.name == "request-duration":
        if m.min is not None and val < m.min:
            return Event(WARNING, f"Halt {cn} advancement request duration "
                                  f"{go_duration_ms(val)} < {go_duration_ms(m.min)}")
        bound = m.max if m.max is not None else (m.threshold if m.min is None else None)
        if bound is not None and val > bound:
            return Event(WARNING, f"Halt {cn} advancement request duration "
                                  f"{go_duration_ms(val)} > {go_duration_ms(bound)}")
        return None
    if m.min is not None and val < m.min:
        return Event(WARNING, f"Halt {cn} advancement {m.name} {val:.2f} < {go_float(m.min)}")
    if m.max is not None and val > m.max:
        return Event(WARNING, f"Halt {cn} advancement {m.name} {val:.2f} > {go_float(m.max)}")
    if m.min is None and m.max is None and m.threshold is not None and val > m.threshold:
        return Event(WARNING, f"Halt {cn} advancement {m.name} {val:.2f} > "
                              f"{go_float(m.threshold)}")
    return None


def external_check_failed(c: CanarySpec, hook: str, error: str) -> Event:
    return Event(WARNING, f"Halt {c.name}.{c.namespace} advancement external check {hook} "
                          f"failed {error}")

