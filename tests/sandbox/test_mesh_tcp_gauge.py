"""``tcp_open_connections``: the mesh counts each client proxy's open connections per endpoint,
as ``linkerd viz stat`` reads them for its TCP_CONN column."""

from __future__ import annotations

import random
import re

import pytest
from support.mesh_backends import Demo, call
from support.mesh_objects import httproute

from canary.sandbox.mesh.metrics import MeshMetrics
from canary.sandbox.mesh.proxy import Listeners, Mesh

SVC_PORT = 9898


@pytest.fixture
def demo():
    d = Demo()
    metrics = MeshMetrics()
    mesh = Mesh(d.state, metrics, rng=random.Random(7))
    listeners = Listeners(mesh)
    listeners.sync()
    yield d, metrics, mesh
    listeners.close()
    d.stop()


def gauge(text: str, *must: str) -> int:
    total = 0
    for line in text.splitlines():
        if line.startswith("tcp_open_connections{") and all(m in line for m in must):
            total += int(line.rsplit(" ", 1)[1])
    return total


def test_open_connections_per_destination_deployment(demo):
    d, metrics, mesh = demo
    d.state.apply("HTTPRoute", "MODIFIED", httproute(0, 100))
    for _ in range(5):
        assert call(d.apex, SVC_PORT, "/", source=d.load)[0] == 200
    text = metrics.render()
    out = ('direction="outbound"', 'deployment="load"', 'dst_deployment="podinfo"',
           'peer="dst"')
    # Sequential requests reuse one keep-alive connection: one open, on both of its ends.
    assert gauge(text, *out) == 1, text
    assert gauge(text, 'direction="inbound"', 'deployment="podinfo"', 'peer="src"') == 1
    assert gauge(text, 'dst_deployment="podinfo-primary"') == 0
    assert not re.search(r'tcp_open_connections\{[^}]*authority=', text)
    mesh.pool.close()
    assert gauge(metrics.render(), *out) == 0


def test_unmeshed_clients_have_no_outbound_gauge(demo):
    d, metrics, _ = demo
    call(d.apex, SVC_PORT, "/", source=d.outsider)
    text = metrics.render()
    assert gauge(text, 'direction="outbound"') == 0
    assert gauge(text, 'direction="inbound"', 'deployment="podinfo-primary"') == 1
