"""The stock `kubectl port-forward` through the sandbox API server to a local-process pod."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support.apiserver import ApiServer, read_lines_until

POD_IP = "127.77.0.1"  # a pod address: the node agent gives each pod its own 127.x.y.z
DEAD_IP = "127.77.0.2"  # a pod address where nothing listens
BIG = 3 * 1024 * 1024


class _Pod(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        body = json.dumps({"hostname": "web", "path": self.path}).encode()
        if self.path == "/big":  # far more than one SPDY flow-control window (64 KiB)
            body = json.dumps({"blob": "x" * BIG}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - an upload: answer how much arrived
        size = len(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"received": size}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def pod_server() -> Iterator[int]:
    server = ThreadingHTTPServer((POD_IP, 0), _Pod)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _running_pod(api: ApiServer, ns: str, name: str, ip: str, port: int) -> None:
    api.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
        "spec": {"containers": [{"name": "app", "image": "podinfo",
                                 "ports": [{"containerPort": port}]}]}}))
    # what the node agent writes once the pod's process listens
    api.kubectl("-n", ns, "patch", "pod", name, "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": {"phase": "Running", "podIP": ip,
                                             "podIPs": [{"ip": ip}]}}))


def _forward(api: ApiServer, ns: str, target: str, local: int,
             port: int) -> subprocess.Popen[str]:
    proc = api.kubectl_stream("-n", ns, "port-forward", target, f"{local}:{port}",
                              "--address", "127.0.0.1")
    lines = read_lines_until(proc, lambda ls: any("Forwarding from" in ln for ln in ls), 20)
    if not any("Forwarding from" in ln for ln in lines):
        proc.kill()
        proc.wait(10)
        raise AssertionError("kubectl port-forward did not start:\n" + "\n".join(lines))
    return proc


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.terminate()
    out, _ = proc.communicate(timeout=10)
    return out or ""


def _get(port: int, path: str, body: bytes | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET" if body is None else "POST", path, body)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def ns(apiserver: ApiServer) -> str:
    apiserver.kubectl("create", "ns", "pf")
    return "pf"


def test_port_forward_reaches_the_pod_process(apiserver: ApiServer, ns: str,
                                               pod_server: int) -> None:
    _running_pod(apiserver, ns, "web", POD_IP, pod_server)
    local = _free_port("127.0.0.1")
    proc = _forward(apiserver, ns, "pod/web", local, pod_server)
    try:
        assert _get(local, "/first") == (200, {"hostname": "web", "path": "/first"})
        # a second local connection is a new pair of streams on the same tunnel
        assert _get(local, "/second") == (200, {"hostname": "web", "path": "/second"})
        assert _get(local, "/big") == (200, {"blob": "x" * BIG})
        assert _get(local, "/upload", b"y" * BIG) == (200, {"received": BIG})
        assert proc.poll() is None
    finally:
        out = _stop(proc)
    assert "Handling connection for" in out


def test_port_forward_to_a_closed_port_reports_kubectls_error(
        apiserver: ApiServer, ns: str) -> None:
    port = _free_port(DEAD_IP)
    _running_pod(apiserver, ns, "dead", DEAD_IP, port)
    local = _free_port("127.0.0.1")
    proc = _forward(apiserver, ns, "pod/dead", local, port)
    lines: list[str] = []
    try:
        with socket.create_connection(("127.0.0.1", local), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert s.recv(100) == b""  # kubectl hangs up: the pod side refused
        lines = read_lines_until(proc, lambda ls: any("connection refused" in ln for ln in ls),
                                 10)
    finally:
        lines.append(_stop(proc))
    text = "\n".join(lines)
    assert f"an error occurred forwarding {local} -> {port}" in text
    assert "connection refused" in text
    # the API server is still serving (this test's own pod: under -n 2 the module's other
    # tests may run on the other worker)
    assert "dead" in apiserver.kubectl("-n", ns, "get", "pods").stdout


def test_port_forward_to_a_pending_pod_is_refused(apiserver: ApiServer, ns: str) -> None:
    apiserver.kubectl("-n", ns, "run", "waiting", "--image=nginx:alpine")
    res = apiserver.kubectl("-n", ns, "port-forward", "pod/waiting", "18099:80",
                            check=False, timeout=20)
    assert res.returncode != 0
    assert "pod is not running" in res.stderr


def test_malformed_frames_close_only_that_connection(apiserver: ApiServer, ns: str,
                                                     pod_server: int) -> None:
    _running_pod(apiserver, ns, "web2", POD_IP, pod_server)
    with socket.create_connection(("127.0.0.1", apiserver.port), timeout=10) as s:
        s.sendall((f"POST /api/v1/namespaces/{ns}/pods/web2/portforward HTTP/1.1\r\n"
                   f"Host: 127.0.0.1\r\nAuthorization: Bearer {apiserver.token}\r\n"
                   "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                   "X-Stream-Protocol-Version: portforward.k8s.io\r\n"
                   "Content-Length: 0\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1000)
        assert head.startswith(b"HTTP/1.1 101")
        # a SYN_STREAM whose header block is not zlib data
        s.sendall(b"\x80\x03\x00\x01\x00\x00\x00\x0e" + b"\x00\x00\x00\x01" + b"\x00" * 6
                  + b"junk")
        assert s.recv(100) == b""  # the server hung up on this connection only
    assert "web2" in apiserver.kubectl("-n", ns, "get", "pods").stdout
