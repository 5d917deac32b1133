"""The Prometheus side of Argo analysis: what a measurement records for each kind of answer
from a real HTTP peer, and the time-scaled windows it sends."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import pytest
from support.local_http import serve

from canary.clock import FakeClock
from canary.controller.argo_analysis import AnalysisRuns, scale_promql
from canary.spec.analysis import parse_metric

ANSWERS: dict[str, tuple[int, dict]] = {
    "vector": (200, {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1.0, "0.975"]}, {"metric": {}, "value": [1.0, "1"]}]}}),
    "scalar": (200, {"status": "success", "data": {"resultType": "scalar",
                                                   "result": [1.0, "42"]}}),
    "empty": (200, {"status": "success", "data": {"resultType": "vector", "result": []}}),
    "nan": (200, {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [1.0, "NaN"]}]}}),
    "bad": (400, {"status": "error", "errorType": "bad_data",
                  "error": "1:5: parse error: unexpected end of input"}),
}
SEEN: list[str] = []


class Prom(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        q = parse_qs(urlparse(self.path).query)["query"][0]
        SEEN.append(q)
        code, body = ANSWERS[q.split("#")[0].strip()]
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def prom() -> Iterator[str]:
    httpd, url = serve(Prom)
    yield url
    httpd.shutdown()
    httpd.server_close()


def measure(url: str, query: str, scale: float = 1.0) -> object:
    problems: list[str] = []
    m = parse_metric({"name": "m", "provider": {"prometheus": {"address": url,
                                                               "query": query}}}, "m", problems)
    assert not problems
    runs = AnalysisRuns(None, FakeClock(scale=scale), None, logging.getLogger("t"))  # type: ignore[arg-type]
    return runs._measure(m, "test")


def test_a_vector_is_the_list_of_its_samples(prom: str) -> None:
    out = measure(prom, "vector")
    assert out.value == [0.975, 1.0] and out.value_text == "[0.975,1]" and out.error is None


def test_a_scalar_is_one_float(prom: str) -> None:
    out = measure(prom, "scalar")
    assert out.value == 42.0 and out.value_text == "42"


def test_no_series_is_an_empty_list_and_nan_stays_nan(prom: str) -> None:
    assert measure(prom, "empty").value == []
    assert measure(prom, "nan").value_text == "[NaN]"


def test_an_http_error_is_an_error_measurement_with_prometheus_message(prom: str) -> None:
    out = measure(prom, "bad")
    assert out.error is not None and "parse error: unexpected end of input" in out.error


def test_an_unreachable_prometheus_is_an_error_not_a_crash() -> None:
    out = measure("http://127.0.0.1:9", "vector")
    assert out.error is not None and "failed" in out.error


def test_the_query_windows_are_time_scaled(prom: str) -> None:
    SEEN.clear()
    measure(prom, "vector # rate(x[1m]) [5m:30s] offset 10m", scale=0.05)
    assert SEEN[-1] == "vector # rate(x[3s]) [15s:1500ms] offset 30s"


def test_scale_one_leaves_the_query_alone() -> None:
    q = 'sum(rate(response_total{a="[1m]"}[1m]))'
    assert scale_promql(q, 1.0) == q
