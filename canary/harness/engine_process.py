"""The bundled engine as a separate process (``canary engine``), its log captured to a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def engine_command(kubeconfig: Path, time_scale: float, *, sandbox_dir: Path | None = None,
                   context: str | None = None, metrics_server: str | None = None,
                   python: str = sys.executable, wrapper: Path | None = None,
                   metrics_override: str | None = None,
                   extra: list[str] | None = None) -> list[str]:
    """The command line, as a user would type it (``python -m canary.cli engine ...``).

    ``wrapper``: a script run instead of ``-m canary.cli engine`` with the same arguments (to
    test the harness against an engine broken on purpose)."""
    head = [python, str(wrapper)] if wrapper else [python, "-m", "canary.cli", "engine"]
    cmd = [*head, "--kubeconfig", str(kubeconfig), "--time-scale", str(time_scale),
           "--log-format", "json"]
    if sandbox_dir is not None:
        cmd += ["--sandbox-dir", str(sandbox_dir)]
    if context:
        cmd += ["--context", context]
    if metrics_server:
        cmd += ["--metrics-server", metrics_server]
    if metrics_override:
        cmd += ["--metrics-address-override", metrics_override]
    return cmd + list(extra or [])


class EngineProcess:
    """Start/stop the engine; ``log_path`` is attached to failing scenarios."""

    def __init__(self, command: list[str], log_path: Path) -> None:
        self.command = command
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, settle: float = 0.3) -> EngineProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         env=dict(os.environ, PYTHONUNBUFFERED="1"))
        # Fail fast on a bad command line instead of letting every scenario time out.
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the engine exited at start (code {self.proc.returncode}); "
                                   f"log {self.log_path}:\n{self.tail()}")
            time.sleep(0.05)
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode
