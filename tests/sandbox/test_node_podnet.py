"""The per-pod loopback library: real processes, real sockets, no sandbox."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from canary.sandbox.node import podnet

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="the per-pod loopback library needs a C compiler")

CLIENT = ("import socket, sys\n"
          "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)\n"
          "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); print(s.recv(12).decode())\n")


def _free(ip: str) -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


@pytest.fixture
def pods(tmp_path: Path) -> Iterator[tuple[dict[str, str], dict[str, str], int]]:
    """Two pod environments and a port pod A's server bound with ``--bind 0.0.0.0``."""
    base = f"127.1.{random.randint(200, 250)}.{random.randint(2, 250)}"
    other = base.rsplit(".", 1)[0] + "." + str(int(base.rsplit(".", 1)[1]) % 250 + 1)
    a = podnet.preload_env(tmp_path, {**os.environ, "POD_IP": base})
    b = podnet.preload_env(tmp_path, {**os.environ, "POD_IP": other})
    port = _free(base)
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                             "0.0.0.0"], env=a, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((base, port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield a, b, port
    finally:
        proc.terminate()
        proc.wait(5)


def _get(env: dict[str, str], host: str, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLIENT, host, str(port)], env=env,
                          capture_output=True, text=True, timeout=10)


def test_localhost_in_a_pod_is_that_pod(pods: tuple[dict[str, str], dict[str, str], int]
                                        ) -> None:
    a, b, port = pods
    assert "LD_PRELOAD" in a
    for host in ("127.0.0.1", "localhost"):
        assert _get(a, host, port).stdout.startswith("HTTP/1.0 200")
    # another pod's loopback is its own: nothing listens there
    assert _get(b, "127.0.0.1", port).returncode != 0
    # the host's loopback is not the pod's either: 0.0.0.0 was bound as the pod's address
    assert _get(dict(os.environ), "127.0.0.1", port).returncode != 0
    assert _get(dict(os.environ), a["POD_IP"], port).stdout.startswith("HTTP/1.0 200")


def test_without_a_compiler_the_environment_is_unchanged(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(podnet.shutil, "which", lambda _name: None)
    env = {"POD_IP": "127.1.0.9", "LD_PRELOAD": "/x.so"}
    assert podnet.preload_env(tmp_path / "nocc", env) == env
