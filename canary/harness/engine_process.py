"""The bundled engine as a separate process (``canary engine``), its log captured to a file."""

from __future__ import annotations

import json
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
    """Start/stop the engine; ``log_path`` is attached to failing scenarios.

    The running engine's pid and command are kept beside its log, so another pytest process
    sharing the environment (a pytest-xdist worker) can stop or restart it: :meth:`adopt`."""

    def __init__(self, command: list[str], log_path: Path) -> None:
        self.command = command
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None

    @property
    def state_file(self) -> Path:
        return self.log_path.with_suffix(".json")

    @classmethod
    def adopt(cls, log_path: Path) -> EngineProcess | None:
        """The engine another process started for this environment (None: none recorded)."""
        try:
            state = json.loads(log_path.with_suffix(".json").read_text())
        except (OSError, ValueError):
            return None
        engine = cls(list(state["command"]), log_path)
        engine.pid = int(state["pid"])
        return engine

    def start(self, settle: float = 0.3) -> EngineProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.pid = self.proc.pid
        self.state_file.write_text(json.dumps({"pid": self.pid, "command": self.command}))
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
        if self.proc is not None:
            return self.proc.poll() is None
        return self.pid is not None and _pid_alive(self.pid)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return self._stop_adopted(timeout)
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
        self._forget()
        return self.proc.returncode

    def _stop_adopted(self, timeout: float) -> int | None:
        """Stop an engine this process did not start (its own session: the process group)."""
        if self.pid is None:
            return None
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _pid_alive(self.pid):
                time.sleep(0.05)
            if not _pid_alive(self.pid):
                break
        self._forget()
        return None

    def _forget(self) -> None:
        try:
            state = json.loads(self.state_file.read_text())
            if state.get("pid") == self.pid:
                self.state_file.unlink()
        except (OSError, ValueError):
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of another process still answers kill(0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True
