"""Container processes: start one in its own session, stop its process group, and remember them
in ``DIR/node/processes.json`` so a restarted agent can kill what a previous run left behind.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

log = logging.getLogger("canary.node")


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (guards against a recycled pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


class ProcessTable:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._procs: dict[int, dict[str, str]] = {}

    def kill_stale(self) -> int:
        """Kill the process groups a previous agent run recorded; returns how many were alive."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return 0
        killed = 0
        for pid_s, info in (data.get("processes") or {}).items():
            pid = int(pid_s)
            if _start_time(pid) is None or _start_time(pid) != info.get("start"):
                continue
            log.info("killing stale process %d of pod %s/%s container %s", pid,
                     info.get("namespace"), info.get("pod"), info.get("container"))
            _signal_group(pid, signal.SIGKILL)
            killed += 1
        self._save()
        return killed

    def add(self, proc: subprocess.Popen, namespace: str, pod: str, uid: str,
            container: str) -> None:
        with self._lock:
            self._procs[proc.pid] = {"namespace": namespace, "pod": pod, "uid": uid,
                                     "container": container,
                                     "start": _start_time(proc.pid) or ""}
            self._save()

    def remove(self, pid: int) -> None:
        with self._lock:
            if self._procs.pop(pid, None) is not None:
                self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"agent_pid": os.getpid(),
                                   "processes": {str(k): v for k, v in self._procs.items()}},
                                  indent=1))
        os.replace(tmp, self.path)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the container is a session leader: its pgid is its pid
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def stop_process(proc: subprocess.Popen, grace: float) -> int | None:
    """SIGTERM the container's process group, SIGKILL after ``grace`` seconds; the exit code."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=max(0.0, grace))
        except subprocess.TimeoutExpired:
            log.info("process %d ignored SIGTERM for %.1fs; killing", proc.pid, grace)
    _signal_group(proc.pid, signal.SIGKILL)  # leftovers in the group, if any
    try:
        return proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return None


def wait_port(host: str, port: int, timeout: float) -> bool:
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False
