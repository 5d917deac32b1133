"""loadtester (Flagger's): webhooks run hey/curl against in-cluster names; gates."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest

from canary.sandbox.apps.procs import AppProcess, loopback_ip
from canary.sandbox.resolver import http_request

PORT = 8080


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppProcess, AppProcess]]:
    d = tmp_path_factory.mktemp("sandbox")
    pod = AppProcess("podinfo", ["--port=9898"], pod_ip=loopback_ip(),
                     env={"CANARY_IMAGE_TAG": "1.7.1"}).wait_port(9898)
    ip = pod.pod_ip
    (d / "dns.json").write_text(json.dumps({"podinfo-canary.test": ip,
                                            "podinfo-canary.test.svc": ip}))
    lt = AppProcess("loadtester", [f"-port={PORT}", "-timeout=1h"], pod_ip=loopback_ip(),
                    env={"CANARY_SANDBOX_DIR": str(d), "CANARY_TIME_SCALE": "0.01"})
    lt.wait_port(PORT)
    yield lt, pod
    lt.stop()
    pod.stop()


def hook(lt: AppProcess, path: str, payload: object) -> tuple[int, str]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    status, _h, data = http_request("POST", f"http://{lt.pod_ip}:{PORT}{path}", body=body,
                                    source_ip="127.0.0.1", timeout=30,
                                    headers={"Content-Type": "application/json"})
    return status, data.decode()


def payload(**metadata: str) -> dict:
    return {"name": "podinfo", "namespace": "test", "phase": "Progressing", "checksum": "x",
            "metadata": metadata}


def served(pod: AppProcess) -> int:
    text = http_request("GET", f"http://{pod.pod_ip}:9898/metrics", source_ip="127.0.0.1")[2]
    return int(sum(float(m) for m in re.findall(
        r'^http_requests_total\{status="200"\} (\S+)$', text.decode(), re.M)))


def test_healthz(env: tuple[AppProcess, AppProcess]) -> None:
    lt, _ = env
    status, _h, body = http_request("GET", f"http://{lt.pod_ip}:{PORT}/healthz",
                                    source_ip="127.0.0.1")
    assert (status, body) == (200, b"OK")


def test_cmd_hook_runs_hey_in_background(env: tuple[AppProcess, AppProcess]) -> None:
    lt, pod = env
    before = served(pod)
    # -z 1m at time scale 0.01 lasts 0.6 s; 2 workers x 10 req/s.
    cmd = "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/"
    assert hook(lt, "/", payload(type="cmd", cmd=cmd)) == (202, "")
    deadline = time.monotonic() + 15
    while served(pod) - before < 8 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert served(pod) - before >= 8


def test_bash_hook_with_curl_returns_output(env: tuple[AppProcess, AppProcess]) -> None:
    lt, _ = env
    cmd = "curl -sd 'test' http://podinfo-canary.test:9898/token | grep token"
    status, out = hook(lt, "/", payload(type="bash", cmd=cmd, returnCmdOutput="true"))
    assert status == 200 and '"token"' in out
    status, out = hook(lt, "/", payload(type="bash", cmd="curl -sf http://nosuch.test/"))
    assert status == 500 and "failed" in out


def test_bad_payloads(env: tuple[AppProcess, AppProcess]) -> None:
    lt, _ = env
    assert hook(lt, "/", b"not json")[0] == 400
    no_meta = {"name": "podinfo", "namespace": "test"}
    assert hook(lt, "/", no_meta) == (400, "metadata not found in payload")
    assert hook(lt, "/", payload(type="ngrinder-x", cmd="x"))[0] == 400


def test_gates_start_closed_and_toggle(env: tuple[AppProcess, AppProcess]) -> None:
    lt, _ = env
    p = payload()
    assert hook(lt, "/gate/check", p) == (403, "Forbidden")
    assert hook(lt, "/gate/open", p)[0] == 202
    assert hook(lt, "/gate/check", p) == (200, "Approved")
    other = dict(p, name="other")
    assert hook(lt, "/gate/check", other)[0] == 403  # keyed by name.namespace
    assert hook(lt, "/gate/close", p)[0] == 202
    assert hook(lt, "/gate/check", p)[0] == 403
    assert hook(lt, "/gate/approve", p) == (200, "Approved")
    assert hook(lt, "/gate/halt", p) == (403, "Forbidden")
    assert hook(lt, "/rollback/check", p)[0] == 403
    assert hook(lt, "/rollback/open", p)[0] == 202
    assert hook(lt, "/rollback/check", p)[0] == 200


def test_shims_are_on_path(env: tuple[AppProcess, AppProcess]) -> None:
    lt, _ = env
    status, out = hook(lt, "/", payload(type="bash", cmd="command -v hey curl",
                                        returnCmdOutput="true"))
    assert status == 200
    assert all(line.endswith(("/bin/hey", "/bin/curl")) for line in out.split())
