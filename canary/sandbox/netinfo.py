"""Facts about this machine's loopback network that several sandbox parts need."""

from __future__ import annotations

import ipaddress
import socket
import threading
import zlib
from pathlib import Path


def listening_addresses() -> set[str]:
    """IPv4 addresses that have a listening TCP socket on this machine (Linux /proc)."""
    out: set[str] = set()
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        parts = line.split()
        if len(parts) > 3 and parts[3] == "0A":  # TCP_LISTEN
            hex_ip = parts[1].split(":")[0]
            out.add(str(ipaddress.IPv4Address(bytes.fromhex(hex_ip)[::-1])))
    return out


def sandbox_offset(path: Path, size: int = 60000) -> int:
    """A stable per-sandbox starting offset so two sandboxes on one machine rarely meet."""
    return zlib.crc32(str(path.resolve()).encode()) % size


def pipe_connection(conn: socket.socket, remote: tuple[str, int]) -> None:
    """Copy bytes both ways between ``conn`` and a new connection to ``remote`` until either
    side closes (port-forwards and relays)."""
    try:
        upstream = socket.create_connection(remote, timeout=5)
    except OSError:
        conn.close()
        return
    upstream.settimeout(None)

    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    t = threading.Thread(target=pump, args=(upstream, conn), daemon=True)
    t.start()
    pump(conn, upstream)
    t.join()
    conn.close()
    upstream.close()
