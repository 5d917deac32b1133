"""Engine log setup: one line per record, JSON (like Flagger's zap output) or text."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "level": record.levelname.lower(),
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "logger": record.name,
            "msg": record.getMessage(),
        }
        extra = getattr(record, "canary", None)
        if extra:
            doc["canary"] = extra
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc)


def setup_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


class Outage:
    """One warning when the API server becomes unreachable and one info line when it answers
    again, instead of a warning from every tick of every canary for as long as it is down."""

    def __init__(self, logger: logging.Logger) -> None:
        self.log = logger
        self.since: float | None = None
        self._lock = threading.Lock()

    def failed(self, error: Exception) -> None:
        with self._lock:
            first, self.since = self.since is None, self.since or time.monotonic()
        if first:
            self.log.warning("API server unreachable (%s); retrying quietly until it answers",
                             error)

    def ok(self) -> None:
        with self._lock:
            since, self.since = self.since, None
        if since is not None:
            self.log.info("API server reachable again after %.0fs", time.monotonic() - since)
