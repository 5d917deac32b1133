"""The resolver: in-cluster name forms from dns.json, and HTTP from a pod's own source IP."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from canary.sandbox.apps.httpserver import Handler, Server
from canary.sandbox.apps.procs import loopback_ip
from canary.sandbox.resolver import (
    ResolveError,
    http_request,
    load_dns,
    resolve_host,
    resolve_url,
)


def write_dns(d: Path, mapping: dict[str, str]) -> None:
    full: dict[str, str] = {}
    for svc_ns, ip in mapping.items():
        full[f"{svc_ns}.svc.cluster.local"] = ip
        full[f"{svc_ns}.svc"] = ip
        full[svc_ns] = ip
    (d / "dns.json").write_text(json.dumps(full))


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    write_dns(tmp_path, {"podinfo.test": "127.100.0.5", "prometheus.linkerd-viz": "127.100.0.2"})
    return tmp_path


@pytest.mark.parametrize(
    ("host", "namespace", "expected"),
    [
        ("podinfo", "test", "127.100.0.5"),
        ("podinfo.test", None, "127.100.0.5"),
        ("podinfo.test.svc", None, "127.100.0.5"),
        ("podinfo.test.svc.cluster.local", None, "127.100.0.5"),
        ("PODINFO.test.svc.cluster.local.", None, "127.100.0.5"),
        ("prometheus.linkerd-viz", "test", "127.100.0.2"),
        ("podinfo", None, None),  # short names need a namespace
        ("podinfo", "other", None),
        ("missing.test", None, None),
        ("127.1.0.9", None, "127.1.0.9"),
        ("localhost", None, "localhost"),
    ],
)
def test_name_forms(sandbox: Path, host: str, namespace: str | None, expected: str | None) -> None:
    assert resolve_host(host, namespace, sandbox) == expected


def test_resolve_url_keeps_port_path_and_query(sandbox: Path) -> None:
    url = resolve_url("http://prometheus.linkerd-viz:9090/api/v1/query?query=up", None, sandbox)
    assert url == "http://127.100.0.2:9090/api/v1/query?query=up"
    assert resolve_url("http://podinfo:9898", "test", sandbox) == "http://127.100.0.5:9898"


def test_unknown_host_error_names_the_host(sandbox: Path) -> None:
    with pytest.raises(ResolveError, match="nosuch.test"):
        resolve_url("http://nosuch.test:80/", None, sandbox)
    with pytest.raises(ResolveError, match="http://"):
        resolve_url("ftp://podinfo.test/", None, sandbox)


def test_rereads_dns_when_file_changes(sandbox: Path) -> None:
    assert resolve_host("canary.test", None, sandbox) is None
    write_dns(sandbox, {"podinfo.test": "127.100.0.5", "podinfo-canary.test": "127.100.0.7"})
    st = (sandbox / "dns.json").stat()
    # Make the change visible even on filesystems with coarse timestamps.
    os.utime(sandbox / "dns.json", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert resolve_host("podinfo-canary.test", None, sandbox) == "127.100.0.7"
    assert load_dns(sandbox)["podinfo-canary.test.svc"] == "127.100.0.7"


def test_missing_dns_file_means_nothing_resolves(tmp_path: Path) -> None:
    assert load_dns(tmp_path) == {}
    assert resolve_host("podinfo.test", None, tmp_path) is None


class _WhoAmI(Handler):
    def do_POST(self) -> None:
        body = self.read_body()
        self.send_json(200, {"client": self.client_address[0], "host": self.headers["Host"],
                             "body": body.decode(), "method": self.command})

    do_GET = do_POST


@pytest.fixture
def whoami(tmp_path: Path) -> Iterator[tuple[Path, str, int]]:
    ip = loopback_ip()
    server = Server((ip, 0), _WhoAmI)
    port = server.server_address[1]
    write_dns(tmp_path, {"whoami.test": ip})
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield tmp_path, ip, port
    server.shutdown()
    server.server_close()


def test_http_request_from_pod_source_ip(whoami: tuple[Path, str, int]) -> None:
    sandbox, _ip, port = whoami
    client_ip = loopback_ip()
    status, headers, body = http_request(
        "POST", f"http://whoami:{port}/x", source_ip=client_ip, namespace="test",
        body=b"hello", sandbox_dir=sandbox, timeout=5,
    )
    assert status == 200
    assert headers.get("content-type", "").startswith("application/json")
    seen = json.loads(body)
    assert seen == {"client": client_ip, "host": f"whoami:{port}", "body": "hello",
                    "method": "POST"}


def test_http_request_uses_pod_env(whoami: tuple[Path, str, int],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox, _ip, port = whoami
    client_ip = loopback_ip()
    monkeypatch.setenv("POD_IP", client_ip)
    monkeypatch.setenv("POD_NAMESPACE", "test")
    monkeypatch.setenv("CANARY_SANDBOX_DIR", str(sandbox))
    status, _h, body = http_request("GET", f"http://whoami.test.svc.cluster.local:{port}/")
    assert status == 200
    assert json.loads(body)["client"] == client_ip
