"""Readiness and liveness probes as the kubelet runs them, against the pod's own IP."""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
from dataclasses import dataclass
from typing import Any

from .objects import Obj

MIN_PERIOD = 0.05  # seconds of wall time: a scaled probe period never spins faster than this


@dataclass
class ProbeTiming:
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int


def probe_timing(probe: Obj, scale: float) -> ProbeTiming:
    """The probe's schedule in wall seconds (Kubernetes defaults, scaled by the time scale).

    Timeouts are scaled too but never below 0.5s (nor above the spec's own timeout): a
    loaded Python server must get a fair chance to answer.
    """
    timeout_spec = float(probe.get("timeoutSeconds") or 1)
    return ProbeTiming(
        initial_delay=max(0.0, float(probe.get("initialDelaySeconds") or 0) * scale),
        period=max(MIN_PERIOD, float(probe.get("periodSeconds") or 10) * scale),
        timeout=min(timeout_spec, max(0.5, timeout_spec * scale)),
        success_threshold=max(1, int(probe.get("successThreshold") or 1)),
        failure_threshold=max(1, int(probe.get("failureThreshold") or 3)),
    )


def resolve_port(port: Any, container: Obj) -> int | None:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    s = str(port)
    if s.isdigit():
        return int(s)
    for p in container.get("ports") or []:
        if p.get("name") == s:
            return int(p["containerPort"])
    return None


def run_probe(probe: Obj, container: Obj, pod_ip: str, timeout: float,
              env: dict[str, str] | None = None) -> tuple[bool, str]:
    """Run one probe: (success, failure message as the kubelet words it)."""
    if "httpGet" in probe:
        return _http(probe["httpGet"], container, pod_ip, timeout)
    if "tcpSocket" in probe:
        return _tcp(probe["tcpSocket"], container, pod_ip, timeout)
    if "exec" in probe:
        return _exec(probe["exec"], timeout, env)
    return False, "probe has no supported handler (httpGet, tcpSocket, exec)"


def _http(spec: Obj, container: Obj, pod_ip: str, timeout: float) -> tuple[bool, str]:
    port = resolve_port(spec.get("port"), container)
    if port is None:
        return False, f"httpGet port {spec.get('port')!r} is not a number or a named container port"
    host = spec.get("host") or pod_ip
    path = spec.get("path") or "/"
    if not path.startswith("/"):
        path = "/" + path
    scheme = (spec.get("scheme") or "HTTP").upper()
    headers = {"User-Agent": "kube-probe/1.32", "Accept": "*/*"}
    for h in spec.get("httpHeaders") or []:
        headers[h.get("name", "")] = h.get("value", "")
    conn: http.client.HTTPConnection
    if scheme == "HTTPS":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the kubelet does not verify probe certificates either
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    url = f"{scheme.lower()}://{host}:{port}{path}"
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read(10240)
        if 200 <= resp.status < 400:
            return True, ""
        return False, f"HTTP probe failed with statuscode: {resp.status}"
    except (OSError, http.client.HTTPException) as e:
        return False, f'Get "{url}": {_describe(e)}'
    finally:
        conn.close()


def _tcp(spec: Obj, container: Obj, pod_ip: str, timeout: float) -> tuple[bool, str]:
    port = resolve_port(spec.get("port"), container)
    if port is None:
        return False, f"tcpSocket port {spec.get('port')!r} is not a number or a named port"
    host = spec.get("host") or pod_ip
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, ""
    except OSError as e:
        return False, f"dial tcp {host}:{port}: {_describe(e)}"


def _exec(spec: Obj, timeout: float, env: dict[str, str] | None) -> tuple[bool, str]:
    cmd = [str(c) for c in spec.get("command") or []]
    if not cmd:
        return False, "exec probe has no command"
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"exec probe failed: {e}"
    if r.returncode == 0:
        return True, ""
    return False, (r.stdout + r.stderr).decode(errors="replace").strip()[:200] or \
        f"command exited with {r.returncode}"


def _describe(e: BaseException) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "connect: connection refused"
    if isinstance(e, TimeoutError | socket.timeout):
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    return str(e) or type(e).__name__
