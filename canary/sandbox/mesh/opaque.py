"""Opaque TCP for connections that are not HTTP/1 (gRPC's HTTP/2 preface), as Linkerd's proxy
passes protocols it does not route: the connection goes to one ready endpoint of the Service
port and bytes are copied both ways. No HTTPRoute splitting and no request metrics for them.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence

from canary.sandbox.mesh.state import Endpoint

H2_PREFACE = b"PRI * HTTP/2.0"


def is_http2(sock: socket.socket, timeout: float = 5.0) -> bool:
    """Peek (without consuming) at the first bytes the client sends."""
    sock.settimeout(timeout)
    head = b""
    try:
        # a short read ("P") could still be POST: peek until it is decided
        while len(head) < 3 and b"PRI".startswith(head):
            more = sock.recv(3, socket.MSG_PEEK)
            if len(more) <= len(head):
                break
            head = more
    except OSError:
        return False
    finally:
        sock.settimeout(None)
    return head.startswith(b"PRI")


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def splice(client: socket.socket, endpoints: Sequence[Endpoint]) -> None:
    """Connect to the first endpoint that accepts and copy bytes until both sides close."""
    upstream = None
    for ep in endpoints:
        try:
            upstream = socket.create_connection((ep.ip, ep.port), timeout=5)
            upstream.settimeout(None)
            break
        except OSError:
            continue
    if upstream is None:
        client.close()
        return
    t = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    t.start()
    _pump(client, upstream)
    t.join()
    upstream.close()
    client.close()
