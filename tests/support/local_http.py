"""Real HTTP peers for tests: threaded servers on a free loopback port (fake webhooks, fake
Prometheus answers). A peer records every request and answers with what its function says."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# (method, path without query, query parameters, JSON body or None) -> (status, body)
Answer = Callable[[str, str, dict[str, list[str]], Any], tuple[int, Any]]


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """Start ``handler`` on 127.0.0.1 in a daemon thread; returns the server and its base URL.

    Stop it with ``httpd.shutdown(); httpd.server_close()``.
    """
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


class Peer:
    """``answer`` gives (status, body) per request; a dict or list body is sent as JSON, a str
    or bytes as is. ``calls`` holds (method, path, query, JSON body) of every request."""

    def __init__(self, answer: Answer) -> None:
        self.calls: list[tuple[str, str, dict[str, list[str]], Any]] = []
        self._open: set[socket.socket] = set()  # kept-alive connections, closed by stop()
        self._lock = threading.Lock()
        peer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Prometheus and webhook servers
            disable_nagle_algorithm = True  # as Go servers: no delayed-ACK wait per answer

            def _handle(self) -> None:
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                query = parse_qs(url.query)
                peer.calls.append((self.command, url.path, query, body))
                code, out = answer(self.command, url.path, query, body)
                data = json.dumps(out).encode() if isinstance(out, dict | list) else \
                    out.encode() if isinstance(out, str) else out
                self.send_response(code)
                if isinstance(out, dict | list):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle  # noqa: N815

            def setup(self) -> None:
                super().setup()
                with peer._lock:
                    peer._open.add(self.connection)

            def finish(self) -> None:
                with peer._lock:
                    peer._open.discard(self.connection)
                super().finish()

            def log_message(self, *a: object) -> None:
                pass

        self.httpd, self.url = serve(H)

    def stop(self) -> None:
        """Stop as a killed server does: no new connections, the open ones cut."""
        self.httpd.shutdown()
        self.httpd.server_close()
        with self._lock:
            for conn in list(self._open):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
