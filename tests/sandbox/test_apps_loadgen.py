"""loadgen (slow_cooker look-alike): steady rate, in-cluster names, stats for the harness."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.poll import wait_for

from canary.sandbox.apps.loadgen import parse_args
from canary.sandbox.apps.procs import AppProcess, free_port, loopback_ip
from canary.sandbox.resolver import http_request

STATS_PORT = 9999


def write_dns(d: Path, services: dict[str, str]) -> None:
    dns = {}
    for svc_ns, ip in services.items():
        dns.update({svc_ns: ip, f"{svc_ns}.svc": ip, f"{svc_ns}.svc.cluster.local": ip})
    (d / "dns.json").write_text(json.dumps(dns))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, AppProcess]]:
    """A podinfo 1.7.0 pod behind the name podinfo.test (port 9898, as in the demo)."""
    d = tmp_path_factory.mktemp("sandbox")
    pod = AppProcess("podinfo", ["--port=9898"], pod_ip=loopback_ip(),
                     env={"CANARY_IMAGE_TAG": "1.7.0"}).wait_port(9898)
    write_dns(d, {"podinfo.test": pod.pod_ip})
    yield d, pod
    pod.stop()


def stats(ip: str) -> dict[str, Any]:
    status, _h, body = http_request("GET", f"http://{ip}:{STATS_PORT}/stats",
                                    source_ip="127.0.0.1", timeout=5)
    assert status == 200
    return json.loads(body)





def start_loadgen(sandbox: Path, args: list[str]) -> AppProcess:
    return AppProcess("loadgen", args, pod_ip=loopback_ip(), namespace="test",
                      env={"CANARY_SANDBOX_DIR": str(sandbox)}).wait_port(STATS_PORT)


def test_total_rate_is_qps_times_concurrency(cluster: tuple[Path, AppProcess]) -> None:
    sandbox, _pod = cluster
    with start_loadgen(sandbox, ["-qps", "25", "-concurrency", "2", "http://podinfo:9898"]) as lg:
        first = wait_for("the condition", lambda: (s := stats(lg.pod_ip))["requests"] > 0 and s)
        t0 = time.monotonic()
        n0 = first["requests"]
        last = wait_for("the condition",
                        lambda: (s := stats(lg.pod_ip))["requests"] >= n0 + 50 and s)
        elapsed = time.monotonic() - t0
    rate = (last["requests"] - n0) / elapsed
    assert 35 <= rate <= 65, rate  # 50/s expected
    assert last["failures"] == 0
    assert last["by_status"] == {"200": last["requests"]}
    assert last["by_version"] == {"1.7.0": last["requests"]}
    window = last["window"]
    assert sum(b["requests"] for b in window) == last["requests"]
    assert all(b["by_version"].keys() <= {"1.7.0"} for b in window)
    assert window == sorted(window, key=lambda b: b["t"])


def test_failures_count_5xx_and_connection_errors(cluster: tuple[Path, AppProcess]) -> None:
    sandbox, pod = cluster
    dead = f"http://{loopback_ip()}:{free_port()}/"
    args = ["-qps=20", "http://podinfo.test:9898/status/500", dead]  # round-robin
    with start_loadgen(sandbox, args) as lg:
        s = wait_for("the condition", lambda: (s := stats(lg.pod_ip))["requests"] >= 10 and s)
    assert s["failures"] == s["requests"]
    assert s["errors"] >= 4
    assert s["by_status"].get("500", 0) >= 4


def test_unknown_service_counts_as_failed_and_keeps_going(tmp_path: Path) -> None:
    write_dns(tmp_path, {})
    with start_loadgen(tmp_path, ["-qps", "50", "http://podinfo:9898"]) as lg:
        s = wait_for("the condition", lambda: (s := stats(lg.pod_ip))["requests"] >= 5 and s)
    assert s["failures"] == s["requests"] and s["errors"] == s["requests"]


def test_prints_slow_cooker_lines(cluster: tuple[Path, AppProcess], tmp_path: Path) -> None:
    sandbox, _pod = cluster
    log = tmp_path / "out.log"
    args = ["-qps", "50", "-interval", "200ms", "-totalRequests", "20", "http://podinfo:9898"]
    lg = AppProcess("loadgen", args, pod_ip=loopback_ip(), env={"CANARY_SANDBOX_DIR": str(sandbox)},
                    log=log)
    assert lg.proc.wait(timeout=10) == 0
    lg.stop()
    out = log.read_text()
    assert "# sending 50 GET req/s with concurrency=1 to http://podinfo:9898" in out
    assert "good/b/f" in out
    assert "# total requests=20 failures=0" in out


def test_flags_go_syntax_and_errors() -> None:
    o = parse_args(["-qps=10", "--concurrency", "3", "-interval", "1s", "-method", "post",
                    "-header", "X-A: b", "http://podinfo:9898"])
    assert (o.qps, o.concurrency, o.interval, o.method) == (10, 3, 1.0, "POST")
    assert o.headers == [("X-A", "b")]
    res = subprocess.run([sys.executable, "-m", "canary.sandbox.apps.loadgen", "-qps", "0",
                          "http://x"], capture_output=True, timeout=20)
    assert res.returncode == 2 and b"-qps must be > 0" in res.stderr
    assert b"Traceback" not in res.stderr
