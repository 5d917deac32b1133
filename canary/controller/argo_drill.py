"""A test-only kill switch for restart-safety drills of the Argo loop.

With ``CANARY_ARGO_KILL_AFTER_WRITE=<regex>[#<k>]`` in its environment, the engine SIGKILLs
itself (no cleanup, exactly as ``kill -9`` from outside) right after the k-th API write (default
the first) whose one-line description matches ``regex``. Descriptions, one per write:

    route <ns>/<name> canary=<weight>
    service <ns>/<name> selects <pod-template-hash>
    status <ns>/<name> stableRS=<h> currentPodHash=<h> step=<i> phase=<p> aborted=<bool>
    replicaset <ns>/<name> replicas=<n>          (create, scale, deadline annotation)
    replicaset <ns>/<name> deleted

An external SIGKILL can only land "a few writes later" than the one it observed; this puts the
kill at an exact write boundary (tests/controller/test_argo_restart_safety.py). Unset, it costs
one dictionary lookup per write. ``CANARY_ARGO_WRITE_LOG=<path>`` appends each description to
a file, which the drills use to report what was written before the kill.
"""

from __future__ import annotations

import os
import re
import signal

KILL_ENV = "CANARY_ARGO_KILL_AFTER_WRITE"
LOG_ENV = "CANARY_ARGO_WRITE_LOG"


def split_spec(spec: str) -> tuple[str, int]:
    """``regex[#k]`` -> (regex, k)."""
    m = re.search(r"#(\d+)$", spec)
    return (spec[:m.start()], int(m[1])) if m else (spec, 1)


class WriteDrill:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        spec = env.get(KILL_ENV) or ""
        self.log_path = env.get(LOG_ENV) or None
        self.pattern: re.Pattern[str] | None = None
        self.nth = 1
        if spec:
            text, self.nth = split_spec(spec)
            self.pattern = re.compile(text)
        self.matches = 0

    def wrote(self, description: str) -> None:
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(description + "\n")
        if self.pattern is not None and self.pattern.search(description):
            self.matches += 1
            if self.matches == self.nth:
                os.kill(os.getpid(), signal.SIGKILL)
