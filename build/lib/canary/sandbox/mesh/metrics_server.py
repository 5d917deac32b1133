"""The mesh's admin endpoint: /metrics (scraped by Prometheus), /ready, /healthz, /listeners."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from canary.sandbox.mesh.metrics import MeshMetrics
from canary.sandbox.mesh.proxy import Listeners
from canary.sandbox.mesh.state import MeshState


class _AdminHandler(BaseHTTPRequestHandler):
    server: MetricsServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _send(self, status: int, body: str, ctype: str = "text/plain; charset=utf-8") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        srv = self.server
        if path == "/metrics":
            self._send(200, srv.metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
        elif path == "/healthz":
            self._send(200, "ok\n")
        elif path == "/ready":
            # Ready once every watched kind was listed and listeners follow the Services.
            ok = srv.state.synced() and len(srv.listeners.addresses()) >= len(
                srv.listeners.desired())
            self._send(200 if ok else 503, "ready\n" if ok else "syncing\n")
        elif path == "/listeners":
            addrs = [f"{ip}:{port}" for ip, port in srv.listeners.addresses()]
            self._send(200, json.dumps(addrs), "application/json")
        else:
            self._send(404, "not found\n")


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr: tuple[str, int], metrics: MeshMetrics, state: MeshState,
                 listeners: Listeners) -> None:
        self.metrics = metrics
        self.state = state
        self.listeners = listeners
        super().__init__(addr, _AdminHandler)
