"""Leader election through a Lease: two replicas never both act, a released or expired Lease is
taken over, and ``canary engine`` in-cluster reads its service account as a pod would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from support.apiserver import ApiServer
from support.poll import wait_for

from canary.clock import FakeClock
from canary.controller.leader import LEASE, LeaderElector, LeaseTimes, lease_free
from canary.kube.client import KubeClient

pytestmark = pytest.mark.timeout(90)


def test_a_lease_held_and_renewed_by_another_is_not_free():
    clock = FakeClock()
    held = {"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                     "renewTime": "2023-11-14T22:13:20.000000Z"}}  # FakeClock's start
    assert not lease_free(held, "b", clock.now() + 10, clock)
    assert lease_free(held, "b", clock.now() + 16, clock)
    assert lease_free(held, "a", clock.now(), clock)
    assert lease_free({"spec": {"holderIdentity": ""}}, "b", clock.now(), clock)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    server = ApiServer(tmp_path_factory.mktemp("leader"))
    server.start()
    yield server
    server.stop()


def _client(api: ApiServer) -> KubeClient:
    return KubeClient.from_kubeconfig(str(api.kubeconfig))


def test_only_one_candidate_leads_until_it_releases_or_its_lease_expires(api):
    clock = FakeClock(start=time.time())
    times = LeaseTimes(lease=15, renew_deadline=10, retry=2)
    a = LeaderElector(_client(api), "default", "race", clock, times, me="a")
    b = LeaderElector(_client(api), "default", "race", clock, times, me="b")
    assert a.try_acquire_or_renew() and not b.try_acquire_or_renew()
    a.leading = True
    a.release()
    assert b.try_acquire_or_renew() and not a.try_acquire_or_renew()
    clock.advance(16)  # b stopped renewing: its lease expired
    assert a.try_acquire_or_renew()
    lease = _client(api).get(*LEASE, "race", "default")
    assert lease["spec"]["holderIdentity"] == "a"
    assert lease["spec"]["leaseTransitions"] == 2


def test_racing_candidates_never_both_win(api):
    clock = FakeClock(start=time.time())
    wins: list[str] = []
    barrier = threading.Barrier(4)

    def run(me: str) -> None:
        e = LeaderElector(_client(api), "default", "stampede", clock, me=me)
        barrier.wait()
        if e.try_acquire_or_renew():
            wins.append(me)

    threads = [threading.Thread(target=run, args=(f"c{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1, wins


def _engine(api: ApiServer, name: str, extra_env: dict[str, str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env.update(extra_env, POD_NAME=name, HOME=str(api.dir))
    return subprocess.Popen([sys.executable, "-m", "canary.cli", "engine", "--mode", "flagger",
                             "-enable-leader-election", "--leader-election-namespace",
                             "default", "--time-scale", "0.05"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)


def test_two_in_cluster_engines_take_turns_through_the_lease(api, tmp_path):
    # a pod's service account as the sandbox node agent mounts it (canary.sandbox.incluster)
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "token").write_text(api.token)
    (sa / "ca.crt").write_bytes((api.dir / "store" / "apiserver.crt").read_bytes())
    (sa / "namespace").write_text("default")
    pod_env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(api.port),
               "CANARY_SERVICEACCOUNT_DIR": str(sa)}
    client = _client(api)
    first = _engine(api, "engine-a", pod_env)
    try:
        lease = wait_for("engine-a leads", lambda: (client.get_or_none(
            *LEASE, "flagger-leader-election", "default") or {}).get("spec", {}).get(
            "holderIdentity", "").startswith("engine-a_") or None, 30)
        assert lease
        second = _engine(api, "engine-b", pod_env)
        try:
            time.sleep(1.5)  # several retry periods (5s x 0.05): b must keep waiting
            holder = client.get(*LEASE, "flagger-leader-election", "default")["spec"]
            assert holder["holderIdentity"].startswith("engine-a_")
            first.send_signal(signal.SIGTERM)
            first.wait(20)
            wait_for("engine-b leads after engine-a released", lambda: client.get(
                *LEASE, "flagger-leader-election", "default")["spec"].get(
                "holderIdentity", "").startswith("engine-b_") or None, 10)
        finally:
            second.send_signal(signal.SIGTERM)
            out_b = second.communicate(timeout=20)[0]
        assert "another instance holds lease default/flagger-leader-election" in out_b
        assert "successfully acquired lease default/flagger-leader-election" in out_b
        assert "Traceback" not in out_b
    finally:
        if first.poll() is None:
            first.kill()
        out_a = first.communicate(timeout=20)[0]
    assert "released lease default/flagger-leader-election" in out_a, out_a
