"""gRPC health checking (grpc.health.v1.Health/Check) for the bundled podinfo, and the client
behind the ``grpc_health_probe`` shim the loadtester image ships.

Built on ``grpcio`` (real HTTP/2 and gRPC framing) with the two tiny protobuf messages encoded
by hand, so no generated code or ``protobuf`` package is needed:
``HealthCheckRequest {string service = 1}``, ``HealthCheckResponse {ServingStatus status = 1}``
(SERVING = 1). podinfo 6.x serves it on ``--grpc-port`` for the service ``""`` and for
``--grpc-service-name``; other names answer NOT_FOUND, as grpc-go's health server does.

``grpc_health_probe -addr=HOST:PORT [-connect-timeout=1s] [-rpc-timeout=1s] [-service=NAME]``
prints ``status: SERVING`` and exits 0, or exits 2 (connection failure), 3 (RPC failure) or
4 (not serving), as grpc-ecosystem/grpc-health-probe does. Names resolve through the sandbox
resolver (``podinfo-canary:9999`` in the pod's namespace) and the connection leaves from the
mesh's Service address (which passes HTTP/2 through as opaque TCP).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent import futures
from typing import Any

from canary.clock import parse_duration

METHOD = "/grpc.health.v1.Health/Check"
SERVING, NOT_SERVING = 1, 2
STATUS_NAMES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode_request(service: str) -> bytes:
    raw = service.encode()
    return b"\x0a" + _varint(len(raw)) + raw if raw else b""


def decode_request(data: bytes) -> str:
    """The ``service`` field (1, length-delimited) of a HealthCheckRequest."""
    i = 0
    while i < len(data):
        tag = data[i]
        i += 1
        n = shift = 0
        while True:  # a varint: a length for wire type 2, the value for wire type 0
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if tag & 7 == 2:
            if tag >> 3 == 1:
                return data[i:i + n].decode(errors="replace")
            i += n
    return ""


def encode_response(status: int) -> bytes:
    return b"\x08" + _varint(status)


def decode_response(data: bytes) -> int:
    return data[1] if len(data) >= 2 and data[0] == 0x08 else 0


def serve(host: str, port: int, service_name: str,
          healthy: Callable[[], bool] = lambda: True) -> Any:
    """Start the health server (background threads); returns the grpc.Server."""
    import grpc

    def check(request: bytes, context: grpc.ServicerContext) -> bytes:
        name = decode_request(request)
        if name not in ("", service_name):
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return encode_response(SERVING if healthy() else NOT_SERVING)

    handler = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(check)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"{host}:{port}")
    server.start()
    return server


def probe_main(argv: list[str]) -> int:
    opts = {"addr": "", "connect-timeout": "1s", "rpc-timeout": "1s", "service": ""}
    for a in argv:
        key, _, value = a.lstrip("-").partition("=")
        if key not in opts or not value:
            print(f"error: unknown or empty flag {a!r}", file=sys.stderr)
            return 1
        opts[key] = value
    if not opts["addr"]:
        print("error: -addr not specified", file=sys.stderr)
        return 1
    import grpc

    from canary.sandbox.resolver import resolve_host

    host, _, port = opts["addr"].rpartition(":")
    ip = resolve_host(host, os.environ.get("POD_NAMESPACE"))
    if ip is None:
        print(f"error: failed to connect service at {opts['addr']!r}: no such host",
              file=sys.stderr)
        return 2
    # timeouts are not time-scaled: they bound a connect and one RPC (latencies), not a schedule
    channel = grpc.insecure_channel(f"{ip}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=parse_duration(opts["connect-timeout"]))
    except grpc.FutureTimeoutError:
        print(f"timeout: failed to connect service {opts['addr']!r} within "
              f"{opts['connect-timeout']}", file=sys.stderr)
        return 2
    call = channel.unary_unary(METHOD)
    try:
        reply = call(encode_request(opts["service"]),
                     timeout=parse_duration(opts["rpc-timeout"]))
    except grpc.RpcError as e:
        print(f"error: health rpc failed: {e.code()}: {e.details()}", file=sys.stderr)
        return 3
    status = decode_response(reply)
    if status != SERVING:
        print(f"service unhealthy (responded with {STATUS_NAMES.get(status, status)!r})",
              file=sys.stderr)
        return 4
    print("status: SERVING")
    return 0


if __name__ == "__main__":
    sys.exit(probe_main(sys.argv[1:]))
