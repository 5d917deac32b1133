"""Scenarios at once on one environment (pytest-xdist): every scenario holds a shared lock on
the environment; a scenario that takes something every scenario uses (the engine, the CRDs)
holds it exclusively, so it runs alone. ``@serial`` on a feature or scenario asks for that from
its first step; the harness steps that stop or restart the engine ask for it themselves."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

SERIAL_TAG = "serial"


class ScenarioLock:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "scenarios.lock"
        self._fd: int | None = None
        self.exclusive_held = False

    def shared(self) -> ScenarioLock:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_SH)
        return self

    def exclusive(self) -> None:
        """Wait until no other scenario runs, and keep every other one waiting until this one
        ends (flock's conversion is not atomic: others may finish first, never start)."""
        if self._fd is None:
            self.shared()
        if not self.exclusive_held:
            assert self._fd is not None
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            self.exclusive_held = True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
            self.exclusive_held = False
