"""Where the sandbox keeps things: every path under the sandbox directory, in one place."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_DIR = ".sandbox"


@dataclass(frozen=True)
class SandboxLayout:
    root: Path

    @classmethod
    def at(cls, directory: str | os.PathLike[str] | None = None) -> SandboxLayout:
        d = directory or os.environ.get("CANARY_SANDBOX_DIR") or DEFAULT_DIR
        return cls(Path(d).resolve())

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def config_file(self) -> Path:
        return self.root / "config.json"

    @property
    def pids_file(self) -> Path:
        return self.root / "pids.json"

    @property
    def store(self) -> Path:
        return self.root / "store"

    @property
    def dns_file(self) -> Path:
        return self.root / "dns.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pod_logs(self) -> Path:
        return self.logs / "pods"

    @property
    def prometheus(self) -> Path:
        return self.root / "prometheus"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def pod_log(self, namespace: str, pod: str, container: str) -> Path:
        return self.pod_logs / f"{namespace}_{pod}_{container}.log"

    def read_config(self) -> dict[str, Any]:
        return _read_json(self.config_file)

    def update_config(self, **values: Any) -> dict[str, Any]:
        cfg = self.read_config()
        cfg.update(values)
        _write_json(self.config_file, cfg)
        return cfg

    def read_pids(self) -> dict[str, int]:
        return _read_json(self.pids_file)

    def write_pids(self, pids: dict[str, int]) -> None:
        _write_json(self.pids_file, pids)

    @property
    def time_scale(self) -> float:
        return float(self.read_config().get("time_scale", 1.0))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically so concurrent readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)
