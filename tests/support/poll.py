"""The one poll helper of the tests: wait until a function returns something truthy."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any


def wait_for(what: str, fn: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, *,
             ignore: tuple[type[BaseException], ...] = (),
             procs: Sequence[subprocess.Popen] = ()) -> Any:
    """Return ``fn()``'s first truthy value. Exceptions of the ``ignore`` types count as "not
    yet"; a process in ``procs`` that exits ends the wait at once. On timeout the assertion
    names ``what`` and the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"{what}: process {p.args!r} exited with {p.returncode}")
        try:
            last = fn()
        except ignore as e:
            last = e
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what} "
                                 f"(last: {last!r})")
        time.sleep(interval)
