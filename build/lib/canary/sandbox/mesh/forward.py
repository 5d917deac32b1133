"""HTTP/1.1 forwarding to endpoints over a small keep-alive connection pool."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from dataclasses import dataclass

# Headers that belong to one hop and must not be forwarded (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer",
                        "transfer-encoding", "upgrade", "proxy-authenticate",
                        "proxy-authorization"})


class ConnectFailed(OSError):
    """The endpoint refused or never answered the TCP connect: nothing was sent to it."""


@dataclass
class Upstream:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    first_byte_s: float  # seconds from sending to response headers


class ConnectionPool:
    def __init__(self, timeout: float = 300.0, max_idle: int = 16) -> None:
        self.timeout = timeout
        self.max_idle = max_idle
        self._idle: dict[tuple[str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def _take(self, ip: str, port: int) -> http.client.HTTPConnection | None:
        with self._lock:
            conns = self._idle.get((ip, port))
            return conns.pop() if conns else None

    def _give(self, ip: str, port: int, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            conns = self._idle.setdefault((ip, port), [])
            if len(conns) < self.max_idle:
                conns.append(conn)
                return
        conn.close()

    def send(self, ip: str, port: int, method: str, path: str,
             headers: list[tuple[str, str]], body: bytes, clock: Callable[[], float],
             on_start: Callable[[], None] = lambda: None) -> Upstream:
        """Send one request; raises OSError/HTTPException when the endpoint fails.

        ``on_start`` runs once, when a connection is up and the request is about to go out
        (ConnectFailed means it never ran).
        """
        conn = self._take(ip, port)
        reused = conn is not None
        started = False
        while True:
            if conn is None:
                conn = http.client.HTTPConnection(ip, port, timeout=self.timeout)
                try:
                    conn.connect()
                except OSError as e:
                    conn.close()
                    raise ConnectFailed(f"connect to {ip}:{port}: {e}") from e
            if not started:
                on_start()
                started = True
            start = clock()
            try:
                conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                if body or method in ("POST", "PUT", "PATCH"):
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body or None)
                resp = conn.getresponse()
                first = clock() - start
                data = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                if reused:
                    # A pooled connection the server had already closed: try once afresh.
                    conn, reused = None, False
                    continue
                raise
            out = Upstream(resp.status, resp.reason, resp.getheaders(), data, first)
            if resp.will_close:
                conn.close()
            else:
                self._give(ip, port, conn)
            return out

    def close(self) -> None:
        with self._lock:
            conns = [c for cs in self._idle.values() for c in cs]
            self._idle.clear()
        for c in conns:
            c.close()
