"""What every bundled app shares: a threaded HTTP server bound to the pod's IP, JSON answers,
clean exit on SIGTERM, and the sandbox time scale."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from canary.sandbox.layout import SandboxLayout


def pod_ip() -> str:
    """The address this pod binds to (env POD_IP; 127.0.0.1 outside the sandbox)."""
    return os.environ.get("POD_IP") or "127.0.0.1"


def time_scale() -> float:
    """Wall seconds per spec second: env CANARY_TIME_SCALE, else the sandbox config, else 1."""
    raw = os.environ.get("CANARY_TIME_SCALE")
    if raw:
        try:
            value = float(raw)
            if value > 0:
                return value
        except ValueError:
            pass
        print(f"ignoring CANARY_TIME_SCALE={raw!r}: expected a number > 0", file=sys.stderr)
        return 1.0
    if os.environ.get("CANARY_SANDBOX_DIR"):
        try:
            value = SandboxLayout.at().time_scale
            return value if value > 0 else 1.0
        except (TypeError, ValueError):
            return 1.0
    return 1.0


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Bursts of connections from load generators must not be refused.
    request_queue_size = 128


class Handler(BaseHTTPRequestHandler):
    """Base handler: HTTP/1.1 keep-alive, quiet logs, helpers for JSON and empty answers."""

    protocol_version = "HTTP/1.1"
    server_version = "canary-sandbox"
    sys_version = ""
    quiet = True

    def setup(self) -> None:
        super().setup()
        # headers and body are separate writes: on a kept-alive connection (the mesh pools
        # them) Nagle + the peer's delayed ACK would add 40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if not self.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length:
            try:
                return self.rfile.read(int(length))
            except ValueError:
                return b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        return b""

    def _read_chunked(self) -> bytes:
        out = bytearray()
        while True:
            line = self.rfile.readline()
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # trailers until a blank line
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out)
            out += self.rfile.read(size)
            self.rfile.readline()

    def send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data, indent=2).encode() + b"\n"
        self.send(status, body, "application/json; charset=utf-8", headers)

    def send_text(self, status: int, text: str) -> None:
        self.send(status, text.encode(), "text/plain; charset=utf-8")


def serve(
    handler: type[BaseHTTPRequestHandler],
    host: str,
    port: int,
    *,
    name: str,
    on_stop: Callable[[], None] | None = None,
    server_attrs: dict[str, Any] | None = None,
) -> int:
    """Serve until SIGTERM/SIGINT; return the process exit code.

    A port already in use is reported in one line (exit 1), never as a traceback.
    """
    try:
        server = Server((host, port), handler)
    except OSError as exc:
        print(f"{name}: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    for k, v in (server_attrs or {}).items():
        setattr(server, k, v)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name=f"{name}-http",
                              daemon=True)
    thread.start()
    print(f"{name}: listening on {host}:{server.server_address[1]}", file=sys.stderr, flush=True)
    while not stop.wait(0.2):
        if not thread.is_alive():
            break
    if on_stop:
        on_stop()
    server.shutdown()
    server.server_close()
    print(f"{name}: stopped", file=sys.stderr, flush=True)
    return 0


def parse_bool(text: str) -> bool:
    """Go's strconv.ParseBool: what `--flag=true` style arguments accept."""
    t = text.strip().lower()
    if t in ("1", "t", "true", "yes", "y", "on"):
        return True
    if t in ("0", "f", "false", "no", "n", "off", ""):
        return False
    raise ValueError(f"invalid boolean {text!r}")
