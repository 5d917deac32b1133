"""podinfo's gRPC health service and grpc_health_probe, over real HTTP/2 on loopback, and the
mesh passing HTTP/2 through as opaque TCP."""

from __future__ import annotations

import socket
import threading

from canary.sandbox.apps import grpc_health as G
from canary.sandbox.mesh import opaque
from canary.sandbox.mesh.state import Endpoint


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_messages_round_trip() -> None:
    assert G.decode_request(G.encode_request("podinfo")) == "podinfo"
    assert G.decode_request(b"") == ""
    assert G.decode_response(G.encode_response(G.SERVING)) == G.SERVING


def test_probe_against_the_health_server(capsys) -> None:
    port = _free_port()
    server = G.serve("127.0.0.1", port, "podinfo")
    try:
        assert G.probe_main([f"-addr=127.0.0.1:{port}", "-connect-timeout=2s"]) == 0
        assert "status: SERVING" in capsys.readouterr().out
        assert G.probe_main([f"-addr=127.0.0.1:{port}", "-service=podinfo"]) == 0
        assert G.probe_main([f"-addr=127.0.0.1:{port}", "-service=other"]) == 3
    finally:
        server.stop(0)
    # nothing listens any more: a connection failure, exit 2 (grpc-health-probe's code)
    assert G.probe_main([f"-addr=127.0.0.1:{port}", "-connect-timeout=1s"]) == 2
    assert G.probe_main(["-connect-timeout=1s"]) == 1


def test_unhealthy_server_is_exit_4() -> None:
    port = _free_port()
    server = G.serve("127.0.0.1", port, "podinfo", healthy=lambda: False)
    try:
        assert G.probe_main([f"-addr=127.0.0.1:{port}"]) == 4
    finally:
        server.stop(0)


def test_mesh_passes_http2_through_as_opaque_tcp() -> None:
    backend_port, front_port = _free_port(), _free_port()
    server = G.serve("127.0.0.1", backend_port, "podinfo")
    front = socket.create_server(("127.0.0.1", front_port))

    def accept() -> None:
        while True:
            try:
                conn, _ = front.accept()
            except OSError:
                return
            assert opaque.is_http2(conn)
            threading.Thread(target=opaque.splice,
                             args=(conn, [Endpoint("127.0.0.1", backend_port)]),
                             daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        assert G.probe_main([f"-addr=127.0.0.1:{front_port}", "-connect-timeout=2s"]) == 0
    finally:
        front.close()
        server.stop(0)
