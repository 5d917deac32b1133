"""HTTP for the engine's hot path: pooled keep-alive connections over urllib3, nothing else.

Every progressing tick makes four requests (a Prometheus query, the route, the status, an
Event). Through ``requests`` each cost more than twice the CPU of the same urllib3 request
(session merging, proxy and netrc look-ups, a CA-bundle ``isdir`` per request), and a new
``requests.Session`` per query opened a new TCP connection each time. A :class:`Pool` is
thread-safe and keeps connections per host, as Go's ``http.Transport`` does for Flagger.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import urllib3
from urllib3.connectionpool import connection_from_url

MAX_CONNECTIONS = 64  # per host: the engine's workers plus one long watch per informer


class TransportError(Exception):
    """The server could not be reached or the connection broke; ``str`` is the root cause."""


class Response:
    """The answer: ``status_code``, ``reason``, ``content``/``text``/``json()``; a streamed one
    is read with :meth:`iter_lines` and must be closed."""

    def __init__(self, raw: urllib3.BaseHTTPResponse, streamed: bool) -> None:
        self.raw = raw
        self.status_code = raw.status
        self.reason = raw.reason or ""
        self.headers = raw.headers
        self._streamed = streamed

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def content(self) -> bytes:
        if self._streamed:
            self._streamed = False
            try:
                return self.raw.read()
            except urllib3.exceptions.HTTPError as e:
                raise TransportError(root_cause(e)) from e
        return self.raw.data

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def iter_lines(self) -> Iterator[bytes]:
        """Lines as they arrive (a watch: one event per line)."""
        pending = b""
        try:
            for chunk in self.raw.stream(512):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                yield from lines
        except urllib3.exceptions.HTTPError as e:
            raise TransportError(root_cause(e)) from e
        if pending:
            yield pending

    def close(self) -> None:
        """Drop the connection of an unfinished stream (its slot goes back to the pool)."""
        if self._streamed:
            self.raw.close()
        self.raw.release_conn()


def root_cause(e: BaseException) -> str:
    """The innermost reason in a few words (``Connection refused``), not urllib3's chain."""
    cause: BaseException = e
    while True:
        nxt = getattr(cause, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = cause.__cause__ or cause.__context__
        if nxt is None or nxt is cause:
            break
        cause = nxt
    text = " ".join(str(cause).split()) or type(cause).__name__
    if "[Errno" in text:
        text = text.split("] ", 1)[-1]
    return text[:160]


class Pool:
    """Connections to any number of hosts with one TLS setting: ``verify`` is True (the
    default CAs), False, or a CA bundle path; ``cert`` a client (certificate, key) pair."""

    def __init__(self, verify: bool | str = True, cert: tuple[str, str] | None = None) -> None:
        tls: dict[str, Any] = {}
        if verify is False:
            tls["cert_reqs"] = ssl.CERT_NONE
        else:
            tls["cert_reqs"] = ssl.CERT_REQUIRED
            tls["ca_certs"] = verify if isinstance(verify, str) else _default_cas()
        if cert:
            tls["cert_file"], tls["key_file"] = cert
        self._tls = tls
        self._hosts: dict[str, urllib3.HTTPConnectionPool] = {}
        self._lock = threading.Lock()

    def request(self, method: str, url: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
                timeout: float = 10.0, stream: bool = False) -> Response:
        if not url.startswith(("http://", "https://")):
            raise TransportError(f"unsupported URL {url!r}: the scheme must be http or https")
        scheme, _, host, *rest = url.split("/", 3)
        path = "/" + (rest[0] if rest else "")
        if params:
            path += ("&" if "?" in path else "?") + urlencode(
                {k: v for k, v in params.items() if v is not None})
        try:
            raw = self._host(f"{scheme}//{host}").urlopen(
                method, path, body=body, headers=headers,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                preload_content=not stream, redirect=False, assert_same_host=False)
        except (urllib3.exceptions.HTTPError, ValueError) as e:
            raise TransportError(root_cause(e)) from e
        return Response(raw, stream)

    def _host(self, base: str) -> urllib3.HTTPConnectionPool:
        """The connection pool of one scheme://host:port, made on first use."""
        pool = self._hosts.get(base)
        if pool is None:
            with self._lock:
                pool = self._hosts.get(base)
                if pool is None:
                    # no retries: a failure is the caller's answer, as with requests' defaults
                    pool = connection_from_url(
                        base, maxsize=MAX_CONNECTIONS, block=False,
                        retries=urllib3.Retry(0, read=False, redirect=False),
                        **(self._tls if base.startswith("https:") else {}))
                    self._hosts[base] = pool
        return pool


def _default_cas() -> str | None:
    """requests' CA bundle (certifi) when installed, else the system's."""
    try:
        import certifi
    except ImportError:  # pragma: no cover - requests depends on certifi
        return None
    return certifi.where()


SHARED = Pool()  # default TLS: the metric providers' queries
