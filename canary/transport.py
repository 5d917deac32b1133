"""HTTP for the engine's hot path: kept-alive ``http.client`` connections, pooled per host.

Every progressing tick makes four requests (a Prometheus query, the route, the status, an
Event). Through ``requests`` each cost more than twice the CPU of a bare urllib3 request (session
merging, proxy and netrc look-ups, a CA-bundle ``isdir`` per request), urllib3 twice that of
``http.client`` on a kept-alive connection, and a new ``requests.Session`` per query had opened a
new TCP connection each time. A :class:`Pool` is thread-safe and keeps idle connections per
host, as Go's ``http.Transport`` does for Flagger. Requests go straight to the server, no
proxy: the API client ignored proxy settings before too, and the Prometheus addresses it
queries are in-cluster names resolved to loopback or port-forwards.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

IDLE_PER_HOST = 32  # idle connections kept per host; more are closed when returned


class TransportError(Exception):
    """The server could not be reached or the connection broke; ``str`` is the root cause."""


class Response:
    """The answer: ``status_code``, ``reason``, ``content``/``text``/``json()``; a streamed one
    is read with :meth:`iter_lines` and must be closed."""

    def __init__(self, raw: http.client.HTTPResponse, content: bytes | None,
                 conn: http.client.HTTPConnection | None = None) -> None:
        self.raw = raw
        self.status_code = raw.status
        self.reason = raw.reason or ""
        self.headers = raw.headers
        self._content = content
        self._conn = conn  # a streamed answer's own connection, closed with it

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def content(self) -> bytes:
        if self._content is None:
            try:
                self._content = self.raw.read()
            except (OSError, http.client.HTTPException) as e:
                raise TransportError(root_cause(e)) from e
            finally:
                self.close()
        return self._content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def iter_lines(self) -> Iterator[bytes]:
        """Lines as they arrive (a watch: one event per line)."""
        pending = b""
        try:
            while chunk := self.raw.read1(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                yield from lines
        except (OSError, http.client.HTTPException) as e:
            raise TransportError(root_cause(e)) from e
        if pending:
            yield pending

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def root_cause(e: BaseException) -> str:
    """The innermost reason in a few words (``Connection refused``), not a chain."""
    cause: BaseException = e
    while (nxt := cause.__cause__ or cause.__context__) is not None and nxt is not cause:
        cause = nxt
    if isinstance(cause, socket.timeout | TimeoutError):
        return "timed out"
    text = " ".join(str(cause).split()) or type(cause).__name__
    if "[Errno" in text:
        text = text.split("] ", 1)[-1]
    return text[:160]


class Pool:
    """Connections to any number of hosts with one TLS setting: ``verify`` is True (the
    default CAs), False, or a CA bundle path; ``cert`` a client (certificate, key) pair."""

    def __init__(self, verify: bool | str = True, cert: tuple[str, str] | None = None) -> None:
        self._verify = verify
        self._cert = cert
        self._tls: ssl.SSLContext | None = None
        self._idle: dict[str, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def request(self, method: str, url: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
                timeout: float = 10.0, stream: bool = False) -> Response:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TransportError(f"unsupported URL {url!r}: the scheme must be http or https")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if "?" in target else "?") + urlencode(
                {k: v for k, v in params.items() if v is not None})
        base = f"{parts.scheme}://{parts.netloc}"
        conn = None
        try:
            conn = self._take(base, parts, timeout)
            conn.request(method, target, body=body, headers=headers or {})
            raw = conn.getresponse()
            if stream:
                return Response(raw, None, conn)
            content = raw.read()
        except (OSError, http.client.HTTPException, ValueError) as e:
            if conn is not None:
                conn.close()
            raise TransportError(root_cause(e)) from e
        if raw.will_close:
            conn.close()
        else:
            self._give(base, conn)
        return Response(raw, content)

    # -- connections ---------------------------------------------------------------------

    def _take(self, base: str, parts: Any, timeout: float) -> http.client.HTTPConnection:
        """An idle connection to ``base`` the server has not closed, else a new one."""
        with self._lock:
            idle = self._idle.get(base) or []
            while idle:
                conn = idle.pop()
                if not _dropped(conn):
                    conn.sock.settimeout(timeout)  # type: ignore[union-attr]
                    return conn
                conn.close()
        port = parts.port  # ValueError for a bad port: the caller's TransportError
        if parts.scheme == "https":
            return http.client.HTTPSConnection(parts.hostname, port, timeout=timeout,
                                               context=self._context())
        return http.client.HTTPConnection(parts.hostname, port, timeout=timeout)

    def _give(self, base: str, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(base, [])
            if len(idle) < IDLE_PER_HOST:
                idle.append(conn)
                return
        conn.close()

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            if self._verify is False:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            else:
                ctx = ssl.create_default_context(
                    cafile=self._verify if isinstance(self._verify, str) else _default_cas())
            if self._cert:
                ctx.load_cert_chain(*self._cert)
            self._tls = ctx
        return self._tls


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle connection is unusable when its socket is gone or readable (the server closed
    it, or sent something unasked)."""
    if conn.sock is None:
        return True
    poller = select.poll()  # not select(): any file descriptor number
    try:
        poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _default_cas() -> str | None:
    """requests' CA bundle (certifi) when installed, else the system's."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - requests depends on certifi
        return None
    return certifi.where()


SHARED = Pool()  # default TLS: the metric providers' queries
