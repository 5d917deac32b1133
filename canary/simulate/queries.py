"""Which of the modelled query shapes a rendered PromQL query is.

The simulator does not evaluate arbitrary PromQL: it knows the seed's success-rate template and
Flagger's two builtin Linkerd queries (canary/metrics/observers.py LINKERD_QUERIES), whose inputs
(``response_total`` and ``response_latency_ms_bucket`` of the target's pods) the traffic model
produces. Anything else is refused with a message naming the metric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from canary.clock import parse_duration

_SEL = r"\{([^{}]*)\}\[([0-9a-z.]+)\]"
_SUCCESS = re.compile(r"^sum\(rate\(response_total" + _SEL + r"\)\)/sum\(rate\(response_total"
                      + _SEL + r"\)\)\*100$")
_LATENCY = re.compile(r"^histogram_quantile\(([0-9.]+),sum\(rate\(response_latency_ms_bucket"
                      + _SEL + r"\)\)by\(le\)\)$")
_MATCHER = re.compile(r'^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"([^"]*)"$')


class UnsupportedQuery(ValueError):
    pass


@dataclass(frozen=True)
class QueryShape:
    kind: str  # "success-rate" | "latency"
    window: float  # spec seconds of the range selector
    quantile: float = 0.0


def _matchers(text: str) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for part in (p for p in text.split(",") if p):
        m = _MATCHER.match(part)
        if not m:
            raise UnsupportedQuery(f"cannot read label matcher {part!r}")
        out[m.group(1)] = (m.group(2), m.group(3))
    return out


def _selects(matchers: dict[str, tuple[str, str]], namespace: str, target: str) -> None:
    """The matchers must pick the target's inbound series, and not the primary's."""
    def ok(label: str, value: str) -> bool:
        op, want = matchers.get(label, ("", ""))
        if op == "=":
            return want == value
        if op == "=~":
            return re.fullmatch(want, value) is not None
        return False

    if not ok("namespace", namespace):
        raise UnsupportedQuery(f'it must select namespace="{namespace}"')
    if not ok("deployment", target):
        raise UnsupportedQuery(f'it must select deployment "{target}"')
    if ok("deployment", f"{target}-primary"):
        raise UnsupportedQuery("it also selects the primary's series")
    if matchers.get("direction") != ("=", "inbound"):
        raise UnsupportedQuery('it must select direction="inbound"')
    extra = set(matchers) - {"namespace", "deployment", "direction", "classification"}
    if extra:
        raise UnsupportedQuery(f"labels {', '.join(sorted(extra))} are not modelled")


def classify(query: str, namespace: str, target: str) -> QueryShape:
    """The shape of ``query`` (already rendered); raises :class:`UnsupportedQuery`."""
    q = re.sub(r"\s+", "", query)
    m = _SUCCESS.match(q)
    if m:
        num, nwin, den, dwin = m.groups()
        if nwin != dwin:
            raise UnsupportedQuery("numerator and denominator windows differ")
        nm, dm = _matchers(num), _matchers(den)
        if nm.pop("classification", None) != ("!=", "failure") or "classification" in dm:
            raise UnsupportedQuery('only classification!="failure" over all responses is modelled')
        if nm != dm:
            raise UnsupportedQuery("numerator and denominator select different series")
        _selects(nm, namespace, target)
        return QueryShape("success-rate", parse_duration(nwin))
    m = _LATENCY.match(q)
    if m:
        quant, sel, win = m.groups()
        lm = _matchers(sel)
        if "classification" in lm:
            raise UnsupportedQuery("classification matchers on latency are not modelled")
        _selects(lm, namespace, target)
        return QueryShape("latency", parse_duration(win), float(quant))
    raise UnsupportedQuery("only the success-rate ratio of response_total and "
                           "histogram_quantile over response_latency_ms_bucket are modelled")
