"""Prometheus provider with Flagger's query templating and error rules.

Templating (pkg/metrics/observers/render.go): ``{{ name }}``, ``{{ namespace }}``,
``{{ target }}``, ``{{ service }}``, ``{{ ingress }}``, ``{{ route }}``, ``{{ interval }}`` and
``{{ variables.<key> }}``; anything else is a render error, as Go's text/template with
missingkey=error reports it. Results (pkg/metrics/providers/prometheus.go): HTTP >= 400 is an
error, no series or NaN is "no values found", several series: the last one wins.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from canary import transport

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class QueryError(Exception):
    """A query could not be answered (HTTP error, bad JSON, unreachable server)."""


class NoValuesFound(QueryError):
    def __init__(self) -> None:
        super().__init__("no values found")


class RenderError(Exception):
    pass


@dataclass
class TemplateModel:
    name: str
    namespace: str
    target: str
    service: str
    interval: str
    variables: dict[str, str] = field(default_factory=dict)

    def lookup(self, expr: str, template: str) -> str:
        expr = expr.strip()
        simple = {"name": self.name, "namespace": self.namespace, "target": self.target,
                  "service": self.service, "ingress": self.target, "route": self.target,
                  "interval": self.interval}
        if expr in simple:
            return simple[expr]
        if expr.startswith("variables."):
            key = expr[len("variables."):]
            if key in self.variables:
                return self.variables[key]
            raise RenderError(f'template: {template}: executing "{template}" at '
                              f'<variables.{key}>: map has no entry for key "{key}"')
        word = _IDENT.match(expr)
        fn = word.group(0) if word else expr
        raise RenderError(f'template: {template}: function "{fn}" not defined')


def render(query: str, model: TemplateModel, template: str = "query") -> str:
    """Render a MetricTemplate query; raises :class:`RenderError` like Go's text/template."""
    if query.count("{{") != query.count("}}"):
        raise RenderError(f"template: {template}: unclosed action")
    return _ACTION.sub(lambda m: model.lookup(m.group(1), template), query)


class PrometheusProvider:
    def __init__(self, address: str, headers: dict[str, list[str]] | None = None,
                 timeout: float = 5.0, pool: transport.Pool | None = None,
                 token: str | None = None) -> None:
        self.address = address.rstrip("/")
        self.timeout = timeout
        self.pool = pool or transport.SHARED  # kept-alive connections across ticks
        self.headers = {k: ", ".join(v) for k, v in (headers or {}).items()}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def _get(self, query: str) -> transport.Response:
        """The instant query; each caller words the errors as its upstream does."""
        try:
            return self.pool.request("GET", f"{self.address}/api/v1/query",
                                     params={"query": query}, headers=self.headers,
                                     timeout=self.timeout)
        except transport.TransportError as e:
            raise QueryError(f"request to {self.address} failed: {e}") from e

    def run_query(self, query: str) -> float:
        resp = self._get(re.sub(r"\s+", " ", query).strip())
        if resp.status_code >= 400:
            raise QueryError(f"error response: Status {resp.status_code} {resp.reason}: "
                             f"{resp.text.strip()[:300]}")
        try:
            data = resp.json()["data"]
            results = data["result"]
        except (ValueError, KeyError, TypeError) as e:
            raise QueryError(f"error unmarshaling result: {e}") from e
        if data.get("resultType") == "scalar" or not isinstance(results, list):
            raise QueryError("error unmarshaling result: json: cannot unmarshal array into "
                             "Go struct field")
        value: float | None = None
        for series in results:
            if "values" in series:
                raise QueryError("query returned multiple values")
            try:
                value = float(series["value"][1])  # each series overwrites: the last one wins
            except (KeyError, IndexError, TypeError, ValueError) as e:
                raise QueryError(f"error parsing result value: {e}") from e
        if value is None or math.isnan(value):
            raise NoValuesFound()
        return value

    def query_samples(self, query: str) -> tuple[Any, list[float] | float]:
        """An instant query answered the way Argo Rollouts' Prometheus provider reads it
        (metricproviders/prometheus/prometheus.go ``processResponse``): a vector (or matrix)
        becomes the list of its sample values, a scalar one float. Returns (raw data, value)."""
        resp = self._get(query)
        if resp.status_code >= 400:
            raise QueryError(f"{resp.reason.lower() if resp.reason else 'error'}: "
                             f"{_api_error(resp)}")
        try:
            data = resp.json()["data"]
            kind, results = data["resultType"], data["result"]
        except (ValueError, KeyError, TypeError) as e:
            raise QueryError(f"error unmarshaling result: {e}") from e
        try:
            if kind == "scalar":
                return data, float(results[1])
            if kind == "vector":
                return data, [float(r["value"][1]) for r in results]
            if kind == "matrix":
                return data, [float(v[1]) for r in results for v in r["values"]]
        except (KeyError, IndexError, TypeError, ValueError) as e:
            raise QueryError(f"error parsing result value: {e}") from e
        raise QueryError("Prometheus metric type not supported")

    def is_online(self) -> bool:
        try:
            return self.run_query("vector(1)") == 1.0
        except QueryError:
            return False


def _api_error(resp: transport.Response) -> str:
    try:
        return str(resp.json().get("error") or resp.text.strip()[:300])
    except ValueError:
        return resp.text.strip()[:300]

