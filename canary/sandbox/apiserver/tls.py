"""A self-signed serving certificate, and TLS detection per connection.

kubectl (client-go) never sends a bearer token over plain http, so the server speaks TLS too:
on the same port, a connection that starts with a TLS handshake is wrapped, anything else is
served as plain HTTP (for clients that do send tokens over http, and for health checks).
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import ssl
import subprocess
from pathlib import Path

log = logging.getLogger("apiserver.tls")

_TLS_HANDSHAKE = 0x16


def ensure_certificate(directory: Path) -> tuple[Path, Path]:
    """(cert, key) under ``directory``, created once with the ``openssl`` binary.

    The certificate is its own CA (use it as the kubeconfig's certificate-authority) and is
    valid for 127.0.0.1 and localhost. It is kept across restarts so kubeconfigs stay valid.
    """
    cert, key = directory / "apiserver.crt", directory / "apiserver.key"
    if cert.exists() and key.exists() and _names_pod_address(cert):
        return cert, key
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "apiserver.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the CLI and the server may both get here
        if not (cert.exists() and key.exists() and _names_pod_address(cert)):
            _generate(cert, key)
    return cert, key


# Pods reach the API at canary.sandbox.incluster.API_HOST (their own loopback is the pod), and
# a real apiserver's certificate names the kubernetes Service too.
SUBJECT_ALT_NAMES = ("IP:127.0.0.1,DNS:localhost,IP:127.99.0.1,DNS:kubernetes,"
                     "DNS:kubernetes.default,DNS:kubernetes.default.svc,"
                     "DNS:kubernetes.default.svc.cluster.local")


def _names_pod_address(cert: Path) -> bool:
    """Certificates made before pods had an API address are made again (same path)."""
    try:
        decoded = ssl._ssl._test_decode_cert(str(cert))  # type: ignore[attr-defined]
    except (OSError, ssl.SSLError, AttributeError):
        return True  # cannot tell: keep it
    return ("IP Address", "127.99.0.1") in decoded.get("subjectAltName", ())


def _generate(cert: Path, key: Path) -> None:
    tmp_cert, tmp_key = cert.with_suffix(".crt.tmp"), key.with_suffix(".key.tmp")
    cmd = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
           "-nodes", "-days", "3650", "-subj", "/CN=canary-sandbox-apiserver",
           "-keyout", str(tmp_key), "-out", str(tmp_cert),
           "-addext", f"subjectAltName={SUBJECT_ALT_NAMES}",
           "-addext", "basicConstraints=critical,CA:TRUE",
           "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
           "-addext", "extendedKeyUsage=serverAuth"]
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)
    os.chmod(tmp_key, 0o600)
    os.replace(tmp_key, key)
    os.replace(tmp_cert, cert)


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def maybe_wrap(sock: socket.socket, ctx: ssl.SSLContext | None,
               timeout: float = 10.0) -> socket.socket:
    """Wrap ``sock`` in TLS when the client opens with a handshake."""
    if ctx is None:
        return sock
    sock.settimeout(timeout)
    try:
        first = sock.recv(1, socket.MSG_PEEK)
    finally:
        sock.settimeout(None)
    if first and first[0] == _TLS_HANDSHAKE:
        sock.settimeout(timeout)
        wrapped = ctx.wrap_socket(sock, server_side=True)
        wrapped.settimeout(None)
        return wrapped
    return sock


