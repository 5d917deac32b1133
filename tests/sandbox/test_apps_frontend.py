"""frontend (the demo's nginx): proxies to podinfo by in-cluster name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from canary.sandbox.apps.frontend import ConfigError, parse_nginx_conf, resolve_config
from canary.sandbox.apps.procs import AppProcess, loopback_ip
from canary.sandbox.resolver import http_request

DEMO_CONF = """events {}
http {
  server {
    listen 8080;  # the demo's ConfigMap
    location / {
      proxy_pass http://podinfo:9898;
    }
  }
}
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("sandbox")
    pod = AppProcess("podinfo", ["--port=9898"], pod_ip=loopback_ip(),
                     env={"CANARY_IMAGE_TAG": "1.7.0"}).wait_port(9898)
    ip = pod.pod_ip
    (d / "dns.json").write_text(json.dumps({"podinfo.test": ip, "podinfo.test.svc": ip,
                                            "podinfo.test.svc.cluster.local": ip}))
    yield d
    pod.stop()


def call(ip: str, port: int, path: str, method: str = "GET",
         body: bytes | None = None) -> tuple[int, bytes]:
    status, _h, data = http_request(method, f"http://{ip}:{port}{path}", source_ip="127.0.0.1",
                                    body=body, timeout=5)
    return status, data


def test_demo_defaults_proxy_to_podinfo(sandbox: Path) -> None:
    env = {"CANARY_SANDBOX_DIR": str(sandbox)}
    with AppProcess("frontend", ["-g", "daemon off;"], pod_ip=loopback_ip(), env=env) as fe:
        fe.wait_port(8080)
        status, body = call(fe.pod_ip, 8080, "/")
        assert status == 200
        assert json.loads(body)["version"] == "1.7.0"
        assert call(fe.pod_ip, 8080, "/status/503")[0] == 503
        status, body = call(fe.pod_ip, 8080, "/headers")
        assert json.loads(body)["Host"] == ["podinfo:9898"]  # nginx sends $proxy_host
        assert call(fe.pod_ip, 8080, "/echo", "POST", b"ping") == (202, b"ping")


def test_nginx_conf_file_sets_port_and_upstream(sandbox: Path, tmp_path: Path) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(DEMO_CONF.replace("8080", "8081").replace("podinfo:", "podinfo.test:"))
    env = {"CANARY_SANDBOX_DIR": str(sandbox)}
    with AppProcess("frontend", ["-c", str(conf)], pod_ip=loopback_ip(), env=env) as fe:
        fe.wait_port(8081)
        assert call(fe.pod_ip, 8081, "/version")[0] == 200


def test_unknown_upstream_is_502(tmp_path: Path) -> None:
    env = {"CANARY_SANDBOX_DIR": str(tmp_path), "FRONTEND_LISTEN": "8080"}
    with AppProcess("frontend", [], pod_ip=loopback_ip(), env=env) as fe:
        fe.wait_port(8080)
        status, body = call(fe.pod_ip, 8080, "/")
    assert status == 502 and b"Bad Gateway" in body


def test_config_precedence_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_nginx_conf(DEMO_CONF) == (8080, "http://podinfo:9898")
    monkeypatch.delenv("FRONTEND_UPSTREAM", raising=False)
    monkeypatch.delenv("FRONTEND_LISTEN", raising=False)
    monkeypatch.delenv("NGINX_CONF", raising=False)
    cfg = resolve_config([])
    assert (cfg.listen, cfg.upstream) == (8080, "http://podinfo:9898")
    monkeypatch.setenv("FRONTEND_UPSTREAM", "http://other:80")
    assert resolve_config([]).upstream == "http://other:80"
    assert resolve_config(["--upstream", "http://flag:1"]).upstream == "http://flag:1"
    with pytest.raises(ConfigError, match="no such file"):
        resolve_config(["-c", str(tmp_path / "missing.conf")])
    with pytest.raises(ConfigError, match="upstream"):
        resolve_config(["--upstream", "podinfo"])
    with pytest.raises(ConfigError, match="listen"):
        resolve_config(["--listen", "99999"])
