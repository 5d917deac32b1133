"""Tiny HTTP servers standing in for pods, and a client that calls from a pod's address."""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Backend

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        status = 200
        if self.path.startswith("/status/"):
            status = int(self.path.rsplit("/", 1)[1])
        elif self.server.error_every and next(self.server.counter) % self.server.error_every == 0:
            status = 500
        body = json.dumps({"name": self.server.name, "path": self.path,
                           "client_id": self.headers.get("l5d-client-id")}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Backend(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, ip: str, error_every: int = 0) -> None:
        import itertools
        self.name = name
        self.error_every = error_every
        self.counter = itertools.count(1)
        super().__init__((ip, 0), _Handler)
        self.ip = ip
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def call(ip: str, port: int, path: str = "/", source: str | None = None,
         conn: http.client.HTTPConnection | None = None) -> tuple[int, dict | str]:
    """GET from ``source`` (a pod IP); returns (status, JSON body or text)."""
    c = conn or http.client.HTTPConnection(ip, port, timeout=10,
                                           source_address=(source, 0) if source else None)
    try:
        c.request("GET", path)
        r = c.getresponse()
        data = r.read().decode()
    finally:
        if conn is None:
            c.close()
    try:
        return r.status, json.loads(data)
    except ValueError:
        return r.status, data


def random_net(rng: random.Random | None = None) -> tuple[str, str]:
    """(pod prefix, service prefix): /24s unlikely to collide with a running sandbox."""
    rng = rng or random.Random()
    a = rng.randrange(160, 250)
    return f"127.1.{a}.", f"127.100.{a}."


class Demo:
    """The demo's shape in a MeshState: podinfo (apex), -primary and -canary, a meshed load
    pod and an unmeshed pod, with an HTTPRoute 70/30; backends are real HTTP servers."""

    def __init__(self, canary_error_every: int = 0) -> None:
        from canary.sandbox.mesh.state import MeshState
        from support.mesh_objects import endpoints, httproute, namespace, pod, service

        pods_net, self.svc_net = random_net()
        self.primary = Backend("primary", pods_net + "1")
        self.canary = Backend("canary", pods_net + "2", error_every=canary_error_every)
        p_pod = pod("podinfo-primary-5c7f9d8b6-aaaaa", self.primary.ip, "podinfo-primary",
                    hash_="5c7f9d8b6", port=self.primary.port)
        c_pod = pod("podinfo-6d9f8b7c4d-bbbbb", self.canary.ip, "podinfo",
                    port=self.canary.port)
        self.load = pods_net + "3"
        self.outsider = pods_net + "4"
        self.apex = self.svc_net + "1"
        self.state = MeshState()
        self.state.replace("Namespace", [namespace("test")])
        self.state.replace("Pod", [
            p_pod, c_pod, pod("load-7f5d4c9b8-ccccc", self.load, "load", hash_="7f5d4c9b8"),
            pod("curl", self.outsider, meshed=False)])
        self.state.replace("Service", [
            service("podinfo", self.svc_net + "1", 9898, self.primary.port),
            service("podinfo-primary", self.svc_net + "2", 9898, self.primary.port),
            service("podinfo-canary", self.svc_net + "3", 9898, self.canary.port)])
        self.state.replace("Endpoints", [
            endpoints("podinfo", [p_pod], self.primary.port),
            endpoints("podinfo-primary", [p_pod], self.primary.port),
            endpoints("podinfo-canary", [c_pod], self.canary.port)])
        self.state.replace("HTTPRoute", [httproute(70, 30)])

    def stop(self) -> None:
        self.primary.stop()
        self.canary.stop()
