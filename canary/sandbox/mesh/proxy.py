"""The mesh data plane: one HTTP listener per Service ClusterIP:port, routing like Linkerd.

For each request the client pod is identified by its TCP source address (``status.podIP``).
A meshed client's request is split by the HTTPRoute attached to the Service (client-side, as in
Linkerd's outbound proxy); an unmeshed client goes to the Service's own endpoints. Metrics are
recorded on the client's outbound side (meshed clients) and on the destination pod's inbound
side (meshed destination pods).

Latency is recorded in spec time (docs/time-scale.md): an answer's declared deliberate wait
(``X-Canary-Spec-Wait-Ms``, canary.sandbox.spec_time) counts at its spec length, everything else
(real work, this proxy) as measured. The header is passed on to client pods, so chains add up,
and removed from answers to clients outside the sandbox's pods.
"""

from __future__ import annotations

import http.client
import logging
import random
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from canary.sandbox.mesh import labels as L
from canary.sandbox.mesh import opaque
from canary.sandbox.mesh.forward import HOP_BY_HOP, ConnectFailed, ConnectionPool, Upstream
from canary.sandbox.mesh.metrics import MeshMetrics
from canary.sandbox.mesh.routes import Backend, RouteError, route_request
from canary.sandbox.mesh.state import Endpoint, MeshState
from canary.sandbox.spec_time import WAIT_HEADER, spec_latency_ms, wait_from_headers

log = logging.getLogger("canary.mesh")


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _error_reply(status: int, message: str) -> Reply:
    body = (message + "\n").encode()
    return Reply(status, [("Content-Type", "text/plain; charset=utf-8"),
                          ("l5d-proxy-error", message)], body)


class Mesh:
    """Routing + forwarding + metrics, independent of how requests arrive."""

    def __init__(self, state: MeshState, metrics: MeshMetrics | None = None,
                 rng: random.Random | None = None, timeout: float = 300.0,
                 time_scale: float = 1.0) -> None:
        self.state = state
        self.time_scale = time_scale
        self.metrics = metrics or MeshMetrics()
        self.rng = rng or random.Random()
        self.pool = ConnectionPool(timeout=timeout)
        self.metrics.tcp_source = self.pool.open_connections
        self._rr: dict[Backend, int] = {}
        self._rr_lock = threading.Lock()

    def _pick(self, backend: Backend, eps: list[Endpoint]) -> Endpoint:
        with self._rr_lock:
            n = self._rr.get(backend, 0)
            self._rr[backend] = n + 1
        return eps[n % len(eps)]

    def _ready(self, backend: Backend) -> bool:
        return bool(self.state.endpoints(backend.namespace, backend.name, backend.port))

    def handle(self, parent: Backend, client_ip: str, method: str, path: str,
               headers: list[tuple[str, str]], body: bytes) -> Reply:
        state = self.state
        client_pod = state.pod_by_ip(client_ip)
        meshed = state.is_meshed(client_pod)
        backend = parent
        if meshed:
            try:
                client_ns = (client_pod or {}).get("metadata", {}).get("namespace")
                routes = state.routes(parent.namespace)
                if client_ns and client_ns != parent.namespace:
                    routes += state.routes(client_ns)
                backend = route_request(routes, parent, path, state.service, self.rng,
                                        self._ready, client_ns, method, dict(headers))
            except RouteError as e:
                return _error_reply(e.status, e.message)
        eps = state.endpoints(backend.namespace, backend.name, backend.port)
        if not eps:
            return _error_reply(503, f"no ready endpoints for Service "
                                     f"{backend.namespace}/{backend.name}:{backend.port}")
        fwd = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP
               and k.lower() != "content-length"]
        first = self._pick(backend, eps)
        # Endpoints in round-robin order from the pick: a pod whose process is down (refused
        # connect, nothing sent) is skipped, as Linkerd's balancer avoids failing endpoints.
        order = eps[eps.index(first):] + eps[:eps.index(first)]
        for attempt, ep in enumerate(order):
            last = attempt == len(order) - 1
            result = self._forward(ep, backend, client_pod, meshed, method, path, fwd, body,
                                   last)
            if result is not None:
                return result
        raise AssertionError("unreachable: the last attempt always answers")

    def _forward(self, ep: Endpoint, backend: Backend, client_pod: dict | None, meshed: bool,
                 method: str, path: str, fwd: list[tuple[str, str]], body: bytes,
                 last: bool) -> Reply | None:
        """Send to one endpoint; None when it refused the connection and others remain."""
        state = self.state
        dst_pod = state.pod(ep.pod_namespace or "", ep.pod_name) if ep.pod_name else None
        dst_meshed = state.is_meshed(dst_pod)
        series = []
        if meshed and client_pod is not None:
            series.append(L.outbound_labels(client_pod, backend.namespace, backend.name,
                                            backend.port, ep.ip, ep.port, dst_pod, dst_meshed))
        if dst_meshed and dst_pod is not None:
            series.append(L.inbound_labels(dst_pod, ep.ip, ep.port, client_pod, meshed))
        if meshed and dst_meshed and client_pod is not None:
            fwd = [*fwd, ("l5d-client-id", L.identity(client_pod))]
        def started() -> None:  # request_total moves when the request stream begins
            for s in series:
                self.metrics.request(s)

        start = time.monotonic()
        try:
            up: Upstream = self.pool.send(ep.ip, ep.port, method, path, fwd, body,
                                          time.monotonic, started,
                                          owner=tuple(series) or None)
        except ConnectFailed as e:
            if not last:
                return None
            started()  # the last endpoint's failure is what the client sees
            err: Exception = e
        except (OSError, http.client.HTTPException) as e:
            err = e
        else:
            latency_ms = spec_latency_ms(up.first_byte_s * 1000, wait_from_headers(up.headers),
                                         self.time_scale)
            for s in series:
                self.metrics.response(s, up.status, latency_ms)
            drop = set(HOP_BY_HOP) if client_pod is not None else {*HOP_BY_HOP,
                                                                     WAIT_HEADER.lower()}
            out = [(k, v) for k, v in up.headers if k.lower() not in drop
                   and (k.lower() != "content-length" or method == "HEAD")]
            return Reply(up.status, out, up.body)
        # Transport failure: a proxy-level error (no status_code) and 502 to the client.
        elapsed_ms = (time.monotonic() - start) * 1000
        for s in series:
            self.metrics.response(s, None, elapsed_ms, "unexpected")
        return _error_reply(502, f"connection to {ep.ip}:{ep.port} failed: {err}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Listener

    def setup(self) -> None:
        super().setup()
        # Headers and body are separate writes: without NODELAY, Nagle + delayed ACK add 40ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s %s", self.client_address[0], format % args)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _proxy(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "bad request body")
            return
        parent = self.server.parent
        if parent is None:
            reply = _error_reply(503, "Service is gone")
        else:
            reply = self.server.mesh.handle(parent, self.client_address[0], self.command,
                                            self.path, list(self.headers.items()), body)
        self.send_response(reply.status)
        for k, v in reply.headers:
            self.send_header(k, v)
        if not any(k.lower() == "content-length" for k, _ in reply.headers):
            self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _proxy


class _Listener(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], mesh: Mesh, parent: Backend) -> None:
        self.mesh = mesh
        self.parent: Backend | None = parent
        super().__init__(addr, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        parent = self.parent
        if parent is not None and opaque.is_http2(request):
            eps = self.mesh.state.endpoints(parent.namespace, parent.name, parent.port)
            opaque.splice(request, eps)
            return
        super().finish_request(request, client_address)


class Listeners:
    """Keeps one listener per Service ClusterIP:port, following the Service cache."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self._servers: dict[tuple[str, int], _Listener] = {}
        self._lock = threading.Lock()

    def desired(self) -> dict[tuple[str, int], Backend]:
        want: dict[tuple[str, int], Backend] = {}
        for svc in self.mesh.state.services():
            md, spec = svc.get("metadata") or {}, svc.get("spec") or {}
            ip = spec.get("clusterIP")
            if not ip or ip == "None" or md.get("deletionTimestamp"):
                continue
            for p in spec.get("ports") or []:
                if (p.get("protocol") or "TCP") != "TCP" or p.get("port") is None:
                    continue
                want[(ip, int(p["port"]))] = Backend(md.get("namespace") or "default",
                                                     md.get("name") or "", int(p["port"]))
        return want

    def sync(self) -> None:
        """Open listeners for new Service ports and close those of removed ones."""
        with self._lock:
            want = self.desired()
            for addr in [a for a in self._servers if a not in want]:
                srv = self._servers.pop(addr)
                srv.parent = None
                threading.Thread(target=_stop, args=(srv,), daemon=True).start()
                log.info("stopped listener %s:%d", *addr)
            for addr, parent in want.items():
                srv = self._servers.get(addr)
                if srv is not None:
                    srv.parent = parent
                    continue
                try:
                    srv = _Listener(addr, self.mesh, parent)
                except OSError as e:
                    log.warning("cannot listen on %s:%d for %s/%s: %s (will retry)",
                                addr[0], addr[1], parent.namespace, parent.name, e)
                    continue
                self._servers[addr] = srv
                threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.25},
                                 daemon=True, name=f"listen-{addr[0]}:{addr[1]}").start()
                log.info("listening on %s:%d for %s/%s", addr[0], addr[1],
                         parent.namespace, parent.name)

    def addresses(self) -> list[tuple[str, int]]:
        with self._lock:
            return sorted(self._servers)

    def close(self) -> None:
        with self._lock:
            servers = list(self._servers.values())
            self._servers.clear()
        threads = [threading.Thread(target=_stop, args=(srv,)) for srv in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def _stop(srv: _Listener) -> None:
    srv.shutdown()
    srv.server_close()
