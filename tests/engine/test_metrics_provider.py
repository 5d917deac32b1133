"""Prometheus provider: Flagger's templating and result rules against a real HTTP peer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from support.local_http import serve

from canary.metrics.prometheus import (
    NoValuesFound,
    PrometheusProvider,
    QueryError,
    RenderError,
    TemplateModel,
    render,
)

MODEL = TemplateModel("podinfo", "test", "podinfo", "podinfo", "3s", {"code": "404"})


class Prom:
    def __init__(self) -> None:
        self.status, self.body, self.last = 200, {}, ""
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                from urllib.parse import parse_qs, urlsplit
                outer.last = parse_qs(urlsplit(self.path).query)["query"][0]
                data = json.dumps(outer.body).encode()
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a: object) -> None:
                pass

        self.httpd, self.url = serve(H)


@pytest.fixture
def prom() -> Iterator[Prom]:
    p = Prom()
    yield p
    p.httpd.shutdown()
    p.httpd.server_close()


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
