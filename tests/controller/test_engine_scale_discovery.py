"""The engine learns the sandbox's time scale from the API (issue 10, acceptance 2).

`canary engine --kubeconfig .sandbox/kubeconfig` with no scale flag runs at the scale the sandbox
publishes (ConfigMap kube-system/canary-sandbox) and promotes the seed's Canary; an explicit
`--time-scale` that differs is refused with one message naming both values.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_engine_e2e import SCALE, Stack, _prometheus_missing, _set_new_image

from canary.controller.scale_discovery import ScaleMismatch, settle_scale
from canary.kube.client import ApiUnavailable

# -- the decision, without a cluster -----------------------------------------------------------


def test_published_scale_is_used_and_a_real_cluster_is_scale_one() -> None:
    assert settle_scale(None, lambda: 0.05) == 0.05
    assert settle_scale(0.05, lambda: 0.05) == 0.05
    assert settle_scale(None, lambda: None) == 1.0
    assert settle_scale(0.2, lambda: None) == 0.2  # nothing published: the flag decides


def test_an_explicit_scale_that_differs_is_refused_naming_both() -> None:
    with pytest.raises(ScaleMismatch, match=r"--time-scale 1 differs from the cluster's time "
                                            r"scale 0\.05 \(ConfigMap kube-system/canary-sandbox"):
        settle_scale(1.0, lambda: 0.05)


def test_an_unreachable_api_is_retried_then_needs_the_flag() -> None:
    calls: list[float] = []

    def down() -> float | None:
        raise ApiUnavailable("API server http://127.0.0.1:9 unreachable")

    with pytest.raises(ScaleMismatch, match="pass --time-scale"):
        settle_scale(None, down, wait_s=0.0, sleep=calls.append)
    assert settle_scale(0.05, down, wait_s=0.0) == 0.05


# -- on the sandbox --------------------------------------------------------------------------


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    if _prometheus_missing():
        pytest.skip(f"needs the prometheus binary: {_prometheus_missing()}")
    s = Stack(tmp_path)
    try:
        yield s
    finally:
        s.close()


def _engine(stack: Stack, *extra: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "canary.cli", "engine", "--kubeconfig",
                           str(stack.sb.kubeconfig), *extra], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.timeout(150)
def test_engine_without_flag_uses_the_sandbox_scale_and_refuses_another(stack: Stack) -> None:
    # what a user can read with the stock kubectl
    assert stack.kubectl("-n", "kube-system", "get", "configmap", "canary-sandbox", "-o",
                         "jsonpath={.data.timeScale}") == f"{SCALE:g}"
    refused = _engine(stack, "--time-scale", "1")
    assert refused.returncode != 0
    lines = [ln for ln in refused.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--time-scale 1 differs" in lines[0], refused.stderr
    assert f"time scale {SCALE:g}" in lines[0]

    # no flag: the seed's Canary runs at the sandbox's scale and is promoted
    log = open(stack.dir / "engine-noflag.log", "wb")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([sys.executable, "-m", "canary.cli", "engine", "--kubeconfig",
                             str(stack.sb.kubeconfig), "--log-format", "json"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, cwd=str(stack.dir))
    log.close()
    stack.engines.append(proc)  # killed by the fixture
    stack.apply_seed()
    stack.ready_for_a_release()
    _set_new_image(stack)
    done = stack.wait_phase("Succeeded", 90)
    assert stack.image("podinfo-primary").endswith(":1.7.1"), done.get("status")
    assert f"time-scale={SCALE:g}" in (stack.dir / "engine-noflag.log").read_text()


def test_a_malformed_published_scale_is_named_not_a_traceback(tmp_path: Path) -> None:
    from support.apiserver import ApiServer

    api = ApiServer(tmp_path)  # a bare API server publishes no scale
    api.start()
    client = api.kube()
    try:
        assert client.get_or_none("v1", "ConfigMap", "canary-sandbox", "kube-system") is None
        client.create({"apiVersion": "v1", "kind": "ConfigMap",
                           "metadata": {"name": "canary-sandbox", "namespace": "kube-system"},
                           "data": {"timeScale": "fast"}})
        p = subprocess.run([sys.executable, "-m", "canary.cli", "engine", "--kubeconfig",
                            str(api.kubeconfig)], capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 2
        assert p.stderr.strip() == ("canary engine: ConfigMap kube-system/canary-sandbox "
                                    "data.timeScale is 'fast', not a number"), p.stderr
    finally:
        api.stop()
