"""The demo's nginx frontend: a reverse proxy from ``POD_IP:8080`` to ``http://podinfo:9898``.

Run: ``python -m canary.sandbox.apps.frontend [-c nginx.conf] [--listen PORT] [--upstream URL]``
(the image registry also installs it as ``nginx``; nginx's own ``-g 'daemon off;'`` is accepted
and ignored).

Where the listen port and upstream come from, first match wins:

1. ``--listen`` / ``--upstream`` flags;
2. env ``FRONTEND_LISTEN`` / ``FRONTEND_UPSTREAM``;
3. an nginx config file: ``-c FILE``, else env ``NGINX_CONF`` (a path); only the first
   ``listen N;`` and ``proxy_pass URL;`` directives are read;
4. the demo's ConfigMap: ``listen 8080;`` and ``proxy_pass http://podinfo:9898;``.

So the demo runs unchanged even when the ConfigMap volume is not mounted. The upstream name
resolves through the sandbox resolver with ``POD_NAMESPACE`` on every request (Services may appear
later), and the request leaves from ``POD_IP`` so the mesh sees this pod as the client. Like nginx,
the upstream's Host is sent (``$proxy_host``) and an unreachable upstream answers 502.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from canary.sandbox.apps.httpserver import Handler, pod_ip, serve, time_scale
from canary.sandbox.resolver import ResolveError, http_request
from canary.sandbox.spec_time import request_timeout

DEMO_LISTEN = 8080
DEMO_UPSTREAM = "http://podinfo:9898"
PROXY_TIMEOUT = 60.0  # nginx proxy_read_timeout default
_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", "host", "server", "date",
}


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class FrontendConfig:
    listen: int
    upstream: str


def parse_nginx_conf(text: str, source: str = "nginx.conf") -> tuple[int | None, str | None]:
    """The first ``listen`` port and ``proxy_pass`` URL in an nginx config (None when absent)."""
    text = re.sub(r"#[^\n]*", "", text)
    listen = None
    m = re.search(r"\blisten\s+([^;]+);", text)
    if m:
        first = m.group(1).split()[0]
        port = first.rsplit(":", 1)[-1]
        if not port.isdigit():
            raise ConfigError(f"{source}: cannot read a port from 'listen {m.group(1)};'")
        listen = int(port)
    upstream = None
    m = re.search(r"\bproxy_pass\s+([^;\s]+)\s*;", text)
    if m:
        upstream = m.group(1)
    return listen, upstream


def _check_port(value: str | int, what: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: {value!r} is not a port number") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{what}: port {port} out of range 1-65535")
    return port


def resolve_config(argv: list[str]) -> FrontendConfig:
    p = argparse.ArgumentParser(prog="nginx", allow_abbrev=False,
                                description="reverse proxy standing in for the demo's nginx")
    p.add_argument("-c", dest="conf", default=None, help="nginx config file")
    p.add_argument("-g", dest="directives", default=None, help="ignored (nginx directives)")
    p.add_argument("--listen", default=None, help="port to listen on")
    p.add_argument("--upstream", default=None, help="URL to proxy to")
    a = p.parse_args(argv)

    conf_listen: int | None = None
    conf_upstream: str | None = None
    conf_path = a.conf or os.environ.get("NGINX_CONF")
    if conf_path:
        path = Path(conf_path)
        if path.is_file():
            try:
                conf_listen, conf_upstream = parse_nginx_conf(path.read_text(), str(path))
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        elif a.conf:
            raise ConfigError(f"-c {a.conf}: no such file")
    listen_raw = a.listen or os.environ.get("FRONTEND_LISTEN") or conf_listen or DEMO_LISTEN
    upstream = a.upstream or os.environ.get("FRONTEND_UPSTREAM") or conf_upstream or DEMO_UPSTREAM
    listen = _check_port(listen_raw, "listen")
    parts = urllib.parse.urlsplit(upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"upstream {upstream!r} must be an http:// URL with a host")
    return FrontendConfig(listen=listen, upstream=upstream)


class ProxyHandler(Handler):
    server_version = "nginx"

    def _proxy(self) -> None:
        upstream: str = self.server.upstream  # type: ignore[attr-defined]
        parts = urllib.parse.urlsplit(upstream)
        base = parts.path.rstrip("/")
        url = f"{parts.scheme}://{parts.netloc}{base}{self.path}"
        body = self.read_body()
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP]
        headers.append(("Host", parts.netloc))
        try:
            status, resp_headers, payload = http_request(
                self.command, url, headers=headers,
                body=body if body or self.command in ("POST", "PUT", "PATCH") else None,
                timeout=request_timeout(PROXY_TIMEOUT, time_scale()),
            )
        except ResolveError as exc:
            print(f"frontend: {exc}", file=sys.stderr, flush=True)
            self._bad_gateway()
            return
        except OSError as exc:
            print(f"frontend: upstream {upstream} failed: {exc}", file=sys.stderr, flush=True)
            self._bad_gateway()
            return
        out = {k: v for k, v in resp_headers.items()
               if k.lower() not in _HOP_BY_HOP and k.lower() != "content-type"}
        self.send(status, payload, resp_headers.get("Content-Type"), out)

    def _bad_gateway(self) -> None:
        page = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
                b"</body>\r\n</html>\r\n")
        self.send(502, page, "text/html")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _proxy


def main(argv: list[str] | None = None) -> int:
    try:
        cfg = resolve_config(sys.argv[1:] if argv is None else argv)
    except ConfigError as exc:
        print(f"nginx: {exc}", file=sys.stderr)
        return 1
    print(f"frontend: proxying to {cfg.upstream}", file=sys.stderr, flush=True)
    return serve(ProxyHandler, pod_ip(), cfg.listen, name="frontend",
                 server_attrs={"upstream": cfg.upstream})


if __name__ == "__main__":
    sys.exit(main())
