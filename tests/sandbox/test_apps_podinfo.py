"""podinfo look-alike: what a client of the real podinfo would see."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from canary.sandbox.apps import podinfo
from canary.sandbox.apps.procs import AppProcess, loopback_ip
from canary.sandbox.resolver import http_request

PORT = 9898
KEYS_17 = ["hostname", "version", "revision", "color", "message", "goos", "goarch", "runtime",
           "num_goroutine", "num_cpu"]


def start(args: list[str], env: dict[str, str] | None = None,
          pod_name: str = "podinfo-1") -> AppProcess:
    ip = loopback_ip()
    return AppProcess("podinfo", ["--port", str(PORT), *args], pod_ip=ip, env=env,
                      pod_name=pod_name).wait_port(PORT)


def get(app: AppProcess, path: str, method: str = "GET",
        headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    status, _h, body = http_request(method, f"http://{app.pod_ip}:{PORT}{path}",
                                    source_ip="127.0.0.1", timeout=5, headers=headers)
    return status, body


@pytest.fixture(scope="module")
def v170() -> Iterator[AppProcess]:
    # The version comes from the image tag, as the image registry passes it.
    with start([], env={"CANARY_IMAGE_TAG": "1.7.0"}, pod_name="podinfo-7d9f-abcde") as app:
        yield app


@pytest.fixture(scope="module")
def v601() -> Iterator[AppProcess]:
    env = {"CANARY_IMAGE_TAG": "6.0.1", "PODINFO_UI_MESSAGE": "hi from env"}
    with start(["--ui-color", "#ff0000"], env=env) as app:
        yield app


def test_170_info_has_exactly_the_17_keys(v170: AppProcess) -> None:
    status, body = get(v170, "/")
    assert status == 200
    info = json.loads(body)
    assert list(info) == KEYS_17
    assert info["version"] == "1.7.0"
    assert info["hostname"] == "podinfo-7d9f-abcde"
    assert info["color"] == "blue"
    assert info["message"] == "greetings from podinfo v1.7.0"
    assert all(isinstance(v, str) for v in info.values())
    assert json.loads(get(v170, "/api/info")[1]).keys() == info.keys()


def test_170_version_endpoint(v170: AppProcess) -> None:
    status, body = get(v170, "/version")
    assert status == 200
    assert json.loads(body)["version"] == "1.7.0"


def test_browser_gets_html(v170: AppProcess) -> None:
    status, body = get(v170, "/", headers={"User-Agent": "Mozilla/5.0"})
    assert status == 200
    assert b"<html" in body and b"1.7.0" in body


def test_6x_has_logo_and_flag_and_env_settings(v601: AppProcess) -> None:
    info = json.loads(get(v601, "/")[1])
    assert list(info)[:5] == ["hostname", "version", "revision", "color", "logo"]
    assert info["version"] == "6.0.1"
    assert info["logo"].startswith("https://")
    assert info["color"] == "#ff0000"  # flag
    assert info["message"] == "hi from env"  # PODINFO_UI_MESSAGE


def test_health_and_readiness_toggle(v601: AppProcess) -> None:
    assert get(v601, "/healthz") == (200, b'{\n  "status": "OK"\n}\n')
    assert get(v601, "/readyz")[0] == 200
    assert get(v601, "/readyz/disable", "POST") == (202, b"")
    try:
        assert get(v601, "/readyz") == (503, b"")
        assert get(v601, "/healthz")[0] == 200  # liveness unaffected
    finally:
        assert get(v601, "/readyz/enable", "POST")[0] == 202
    assert get(v601, "/readyz")[0] == 200


def test_status_and_delay_and_misc_routes(v170: AppProcess) -> None:
    status, body = get(v170, "/status/500")
    assert status == 500 and json.loads(body) == {"status": 500}
    assert get(v170, "/status/404")[0] == 404
    assert get(v170, "/delay/0") == (200, b'{\n  "delay": 0\n}\n')
    assert any(e.startswith("POD_NAME=") for e in json.loads(get(v170, "/env")[1]))
    hdrs = json.loads(get(v170, "/headers", headers={"X-Test": "yes"})[1])
    assert hdrs["X-Test"] == ["yes"]
    assert get(v170, "/nope")[0] == 404
    status, body = get(v170, "/token", "POST")
    assert status == 200 and "token" in json.loads(body)


def test_metrics_count_requests_by_status(v170: AppProcess) -> None:
    get(v170, "/status/503")
    status, body = get(v170, "/metrics")
    assert status == 200
    text = body.decode()
    assert 'http_requests_total{status="503"}' in text
    assert "http_request_duration_seconds_bucket{" in text


def test_random_error_fails_one_in_three_with_400_409_500() -> None:
    with start(["--random-error", "--random-seed", "7"], env={"CANARY_IMAGE_TAG": "1.7.1"}) as app:
        codes = Counter(get(app, "/")[0] for _ in range(300))
    errors = {c: n for c, n in codes.items() if c != 200}
    assert set(errors) == {500, 400, 409}
    assert 70 <= sum(errors.values()) <= 130, codes  # expected 100 (1 in 3)
    assert codes[200] == 300 - sum(errors.values())


def test_random_error_draws_once_per_spec_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """podinfo re-seeds per second: all requests within one second share the outcome."""
    cfg = podinfo.Config(random_error=True, time_scale=0.05)
    state = podinfo.State(cfg)
    now = [1_700_000_000.0]
    monkeypatch.setattr(podinfo.time, "time", lambda: now[0])
    outcomes = []
    for _second in range(200):
        first = state.random_error()
        assert all(state.random_error() == first for _ in range(5))
        outcomes.append(first)
        now[0] += 0.05  # one spec second at scale 0.05
    failed = [o for o in outcomes if o is not None]
    assert 40 <= len(failed) <= 95
    assert set(failed) == {500, 400, 409}


def test_bad_flag_is_one_line_error() -> None:
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "canary.sandbox.apps.podinfo", "--port", "x"],
                         capture_output=True, timeout=20)
    assert res.returncode == 2
    assert b"--port" in res.stderr and b"Traceback" not in res.stderr


def test_sigterm_exits_cleanly() -> None:
    app = start([])
    assert app.stop() == 0


def test_service_link_env_does_not_break_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pods next to a Service named podinfo get PODINFO_PORT=tcp://...: keep port 9898."""
    monkeypatch.setenv("PODINFO_PORT", "tcp://127.100.0.5:9898")
    assert podinfo.config_from_args([]).port == 9898
    assert podinfo.config_from_args(["--port=9000"]).port == 9000
    monkeypatch.setenv("PODINFO_PORT", "9001")
    assert podinfo.config_from_args([]).port == 9001
