"""HTTP/1.1 forwarding to endpoints over a small keep-alive connection pool."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Hashable
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


Key = tuple[Hashable, str, int]  # (owner, endpoint ip, endpoint port)


class ConnectionPool:
    """Keep-alive connections per (owner, endpoint). The owner is the client's proxy: in
    Linkerd each pod's proxy holds its own connections, which ``tcp_open_connections`` counts,
    so connections are not shared between clients here either."""

    def __init__(self, timeout: float = 300.0, max_idle: int = 16) -> None:
        self.timeout = timeout
        self.max_idle = max_idle
        self._idle: dict[Key, list[http.client.HTTPConnection]] = {}
        self._open: dict[Key, int] = {}
        self._lock = threading.Lock()

    def _take(self, key: Key) -> http.client.HTTPConnection | None:
        with self._lock:
            conns = self._idle.get(key)
            return conns.pop() if conns else None

    def _give(self, key: Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            conns = self._idle.setdefault(key, [])
            if len(conns) < self.max_idle:
                conns.append(conn)
                return
        self._close(key, conn)

    def _opened(self, key: Key) -> None:
        with self._lock:
            self._open[key] = self._open.get(key, 0) + 1

    def _close(self, key: Key, conn: http.client.HTTPConnection) -> None:
        conn.close()
        with self._lock:
            n = self._open.get(key, 0) - 1
            if n > 0:
                self._open[key] = n
            else:
                self._open.pop(key, None)

    def open_connections(self) -> dict[Hashable, int]:
        """Open connections (in use or idle) per owner."""
        out: dict[Hashable, int] = {}
        with self._lock:
            for (owner, _, _), n in self._open.items():
                out[owner] = out.get(owner, 0) + n
        return out

    def send(self, ip: str, port: int, method: str, path: str,
             headers: list[tuple[str, str]], body: bytes, clock: Callable[[], float],
             on_start: Callable[[], None] = lambda: None, owner: Hashable = None) -> Upstream:
        """Send one request; raises OSError/HTTPException when the endpoint fails.

        ``on_start`` runs once, when a connection is up and the request is about to go out
        (ConnectFailed means it never ran). ``owner`` names whose connections these are.
        """
        key: Key = (owner, ip, port)
        conn = self._take(key)
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
                self._opened(key)
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
                self._close(key, conn)
                if reused:
                    # A pooled connection the server had already closed: try once afresh.
                    conn, reused = None, False
                    continue
                raise
            out = Upstream(resp.status, resp.reason, resp.getheaders(), data, first)
            if resp.will_close:
                self._close(key, conn)
            else:
                self._give(key, conn)
            return out

    def close(self) -> None:
        with self._lock:
            conns = [(k, c) for k, cs in self._idle.items() for c in cs]
            self._idle.clear()
        for k, c in conns:
            self._close(k, c)
