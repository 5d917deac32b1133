"""Prometheus provider: Flagger's templating and result rules against a real HTTP peer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.local_http import Peer

from canary.metrics.prometheus import (
    NoValuesFound,
    PrometheusProvider,
    QueryError,
    RenderError,
    TemplateModel,
    render,
)

MODEL = TemplateModel("podinfo", "test", "podinfo", "podinfo", "3s", {"code": "404"})


class Prom(Peer):
    """Prometheus' query API answering ``body`` with ``status``; ``last`` is the last query."""

    def __init__(self) -> None:
        self.status, self.body = 200, {}
        super().__init__(lambda _m, _p, _q, _b: (self.status, self.body))

    @property
    def last(self) -> str:
        return self.calls[-1][2]["query"][0] if self.calls else ""


@pytest.fixture
def prom() -> Iterator[Prom]:
    p = Prom()
    yield p
    p.stop()


def vector(*values: str) -> dict:
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"i": str(i)}, "value": [1.0, v]} for i, v in enumerate(values)]}}


def test_render_all_variables() -> None:
    q = ('{{ name }}/{{namespace}}/{{ target }}/{{ service }}/{{ interval }}/'
         '{{ variables.code }}')
    assert render(q, MODEL) == "podinfo/test/podinfo/podinfo/3s/404"


@pytest.mark.parametrize("query,message", [
    ("{{ bogus }}", 'template: t: function "bogus" not defined'),
    ("{{ variables.nope }}", 'map has no entry for key "nope"'),
    ("{{ name ", "template: t: unclosed action"),
])
def test_render_errors(query: str, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render(query, MODEL, "t")


def test_last_series_wins_and_whitespace_collapsed(prom: Prom) -> None:
    prom.body = vector("1", "99.5")
    assert PrometheusProvider(prom.url).run_query("sum(\n  up\n)") == 99.5
    assert prom.last == "sum( up )"


@pytest.mark.parametrize("body", [vector(), vector("NaN")])
def test_no_values(prom: Prom, body: dict) -> None:
    prom.body = body
    with pytest.raises(NoValuesFound, match="no values found"):
        PrometheusProvider(prom.url).run_query("q")


def test_http_error(prom: Prom) -> None:
    prom.status, prom.body = 400, {"status": "error", "error": "parse error"}
    with pytest.raises(QueryError, match=r"error response: Status 400 Bad Request: .*parse error"):
        PrometheusProvider(prom.url).run_query("rate(x[])")


def test_range_result_is_an_error(prom: Prom) -> None:
    prom.body = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {}, "values": [[1, "1"], [2, "2"]]}]}}
    with pytest.raises(QueryError, match="query returned multiple values"):
        PrometheusProvider(prom.url).run_query("q")


def test_unreachable() -> None:
    p = PrometheusProvider("http://127.0.0.1:9", timeout=1)
    with pytest.raises(QueryError, match="request to http://127.0.0.1:9 failed"):
        p.run_query("q")
    assert not p.is_online()
