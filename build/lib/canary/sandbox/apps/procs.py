"""Start a bundled app as a real process the way the node agent does (env POD_IP etc.), and wait
until it listens. Used by tests and benchmarks; the node agent has its own process management."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType


def loopback_ip() -> str:
    """A random 127.0.x.y address, so parallel test runs rarely share an address."""
    return f"127.0.{random.randint(2, 254)}.{random.randint(2, 254)}"


def free_port(ip: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def wait_listening(ip: str, port: int, timeout: float = 10.0,
                   proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection((ip, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {ip}:{port} after {timeout}s")


class AppProcess:
    """``python -m canary.sandbox.apps.<app> args`` with pod-like env; a context manager."""

    def __init__(self, app: str, args: list[str], *, pod_ip: str, env: dict[str, str] | None = None,
                 namespace: str = "test", pod_name: str | None = None,
                 log: Path | None = None) -> None:
        self.pod_ip = pod_ip
        full_env = dict(os.environ)
        full_env.update({
            "POD_IP": pod_ip,
            "POD_NAME": pod_name or f"{app}-0",
            "POD_NAMESPACE": namespace,
            "PYTHONUNBUFFERED": "1",
        })
        full_env.update(env or {})
        self._log = open(log, "wb") if log else None  # noqa: SIM115 - closed in stop()
        out = self._log if self._log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"canary.sandbox.apps.{app}", *args],
            env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_port(self, port: int, timeout: float = 10.0) -> AppProcess:
        wait_listening(self.pod_ip, port, timeout, self.proc)
        return self

    def stop(self, timeout: float = 5.0) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
        return self.proc.returncode

    def __enter__(self) -> AppProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
