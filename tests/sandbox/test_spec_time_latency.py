"""Latency a threshold judges is the same at every time scale (docs/time-scale.md).

A real podinfo process behind the real mesh data plane: its waits sleep ``spec x scale`` of wall
time, yet the mesh's Linkerd histogram holds the spec latency, and the mesh's own overhead is not
inflated by ``1 / scale``.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator

import pytest
from support.mesh_backends import random_net
from support.mesh_objects import endpoints, namespace, pod, service

from canary.sandbox.apps.procs import AppProcess
from canary.sandbox.mesh.metrics import MeshMetrics
from canary.sandbox.mesh.proxy import Mesh
from canary.sandbox.mesh.routes import Backend
from canary.sandbox.mesh.state import MeshState
from canary.sandbox.spec_time import WAIT_HEADER, request_timeout, spec_latency_ms

PORT = 9898


def test_spec_latency_keeps_real_work_and_restores_the_wait() -> None:
    # 2 s spec wait slept as 100 ms at scale 0.05, plus 3 ms of real work
    assert spec_latency_ms(103.0, 2000.0, 0.05) == pytest.approx(2003.0)
    assert spec_latency_ms(3.0, 0.0, 0.05) == 3.0  # no wait: nothing is inflated
    assert spec_latency_ms(2003.0, 2000.0, 1.0) == pytest.approx(2003.0)


def test_request_timeouts_scale_but_keep_room_for_real_work() -> None:
    assert request_timeout(60.0, 0.05) == pytest.approx(3.0)
    assert request_timeout(10.0, 0.05) == 1.0  # 0.5 s would cut off real work
    assert request_timeout(0.2, 0.05) == pytest.approx(0.2)  # never longer than the spec
    assert request_timeout(10.0, 1.0) == 10.0


class _Stack:
    """podinfo at one time scale, its Service and a meshed client pod in a MeshState."""

    def __init__(self, scale: float, args: list[str]) -> None:
        pods_net, svc_net = random_net()
        self.client_ip = pods_net + "3"
        self.app = AppProcess("podinfo", ["--port", str(PORT), *args], pod_ip=pods_net + "2",
                              env={"CANARY_TIME_SCALE": str(scale)},
                              pod_name="podinfo-6d9f8b7c4d-bbbbb").wait_port(PORT)
        target = pod("podinfo-6d9f8b7c4d-bbbbb", self.app.pod_ip, "podinfo", port=PORT)
        state = MeshState()
        state.replace("Namespace", [namespace("test")])
        state.replace("Pod", [target, pod("load-7f5d4c9b8-ccccc", self.client_ip, "load",
                                          hash_="7f5d4c9b8")])
        state.replace("Service", [service("podinfo", svc_net + "1", PORT, PORT)])
        state.replace("Endpoints", [endpoints("podinfo", [target], PORT)])
        self.metrics = MeshMetrics()
        self.mesh = Mesh(state, self.metrics, time_scale=scale)
        self.parent = Backend("test", "podinfo", PORT)

    def get(self, path: str, client_ip: str | None = None) -> tuple[int, dict[str, str], float]:
        start = time.monotonic()
        reply = self.mesh.handle(self.parent, client_ip or self.client_ip, "GET", path,
                                 [("Host", "podinfo.test:9898")], b"")
        return reply.status, {k.lower(): v for k, v in reply.headers}, time.monotonic() - start

    def inbound_buckets(self) -> dict[str, int]:
        """le -> count of the podinfo pod's inbound response_latency_ms histogram."""
        out: dict[str, int] = {}
        for line in self.metrics.render().splitlines():
            if line.startswith("response_latency_ms_bucket") and 'direction="inbound"' in line:
                m = re.search(r'le="([^"]+)"\} (\d+)$', line)
                assert m, line
                out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
        return out

    def stop(self) -> None:
        self.mesh.pool.close()
        self.app.stop()


@pytest.fixture
def stack(request: pytest.FixtureRequest) -> Iterator[_Stack]:
    scale, args = request.param
    s = _Stack(scale, args)
    yield s
    s.stop()


@pytest.mark.parametrize("stack", [(0.05, []), (0.25, [])], indirect=True,
                         ids=["scale-0.05", "scale-0.25"])
def test_a_two_second_delay_is_two_seconds_for_linkerd_at_every_scale(stack: _Stack) -> None:
    status, headers, wall = stack.get("/delay/2")
    assert status == 200
    assert wall < 2 * stack.mesh.time_scale + 0.9  # the wait itself was compressed
    assert headers[WAIT_HEADER.lower()] == "2000"  # passed on to client pods (chains add up)
    b = stack.inbound_buckets()
    assert (b["2000"], b["3000"]) == (0, 1), b  # 2000 ms < latency <= 3000 ms


@pytest.mark.parametrize("stack", [(0.05, [])], indirect=True, ids=["scale-0.05"])
def test_the_proxy_overhead_is_not_inflated_and_outsiders_see_no_header(stack: _Stack) -> None:
    for _ in range(20):
        status, headers, _wall = stack.get("/")
        assert status == 200 and WAIT_HEADER.lower() not in headers
    b = stack.inbound_buckets()
    # wall/scale would put a few ms of real work at 20x: at or above 40 ms for most answers
    assert b["50"] >= 18, b
    _, headers, _ = stack.get("/delay/1", client_ip="127.0.0.1")  # not a pod: header removed
    assert WAIT_HEADER.lower() not in headers


@pytest.mark.parametrize("stack", [(0.05, ["--random-delay", "--random-seed", "7"])],
                         indirect=True, ids=["scale-0.05"])
def test_random_delay_lands_in_whole_second_buckets(stack: _Stack) -> None:
    for _ in range(15):
        assert stack.get("/")[0] == 200
    b = stack.inbound_buckets()
    # podinfo's default range is 0..4 whole seconds; the seeded draws say which were slow
    rng = random.Random(7)
    draws = [rng.randrange(5) for _ in range(15)]
    assert b["+Inf"] == 15
    for le in ("1000", "2000", "3000", "4000", "5000"):
        assert b[le] == sum(1 for d in draws if d * 1000 < int(le)), (le, b, draws)
