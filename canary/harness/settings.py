"""The plugin's settings as one object, and the keys under which the plugin, the fixtures and
the report hooks share per-session and per-item state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ENVIRONMENTS = ("sandbox", "kind", "existing")
IMPLEMENTATIONS = ("bundled", "flagger", "argo-rollouts")
IMPLEMENTATION_TAGS = ("flagger", "argo", "implementation-specific")
# Which tagged features each implementation claims; untagged features are claimed by all.
CLAIMS = {"bundled": {"flagger", "argo", "implementation-specific"}, "flagger": {"flagger"},
          "argo-rollouts": {"argo"}}
DEFAULT_SCALE = {"sandbox": 0.05, "kind": 1.0, "existing": 1.0}

INFO = pytest.StashKey[dict[str, Any]]()  # item: feature, scenario, tags, phases
CONTEXT = pytest.StashKey[Any]()  # item: its ScenarioContext
KEPT = pytest.StashKey[str]()  # item: how to look at what --canary-keep-on-failure kept
STATE = pytest.StashKey[dict[str, Any]]()  # config: settings, records, cleanups, holder


class Settings:
    def __init__(self, config: pytest.Config) -> None:
        opt = config.getoption
        self.env: str = opt("env")
        scale = opt("time_scale")
        self.time_scale: float = scale if scale is not None else DEFAULT_SCALE[self.env]
        self.implementation: str = opt("implementation")
        self.report_dir = Path(opt("report_dir")).resolve()
        self.kubeconfig: str | None = opt("kubeconfig_file", None) or opt("kubeconfig", None)
        self.context: str | None = opt("context")
        self.allow_existing: bool = opt("allow_existing_cluster")
        self.keep: bool = opt("keep_sandbox")
        self.keep_on_failure: bool = opt("keep_on_failure")
        self.sandbox_dir: str | None = opt("sandbox_dir")
        self.no_engine: bool = opt("no_engine")
        self.offline_manifests: bool = opt("offline_manifests")
        self.skip_unavailable: bool = opt("canary_skip_unavailable")
        wrapper = opt("engine_wrapper")
        self.engine_wrapper = Path(wrapper).resolve() if wrapper else None
        self.rootdir = Path(config.rootpath)
        self.cluster_name: str = opt("cluster_name", None) or "canary-harness"  # pytest-kind's
        # a namespace per scenario: asked for, or needed (scenarios at once with pytest-xdist;
        # a real cluster may have its own `test`)
        # a pytest-xdist worker uses the environment its controller started (attach_info)
        self.shared_env: dict[str, Any] | None = getattr(config, "workerinput", {}).get(
            "canary_env")
        mode = opt("namespaces", "auto")
        distributed = hasattr(config, "workerinput") or bool(opt("numprocesses", None))
        self.namespace_per_scenario: bool = (mode == "per-scenario" or (
            mode == "auto" and (distributed or self.env != "sandbox")))

    def context_dict(self) -> dict[str, str]:
        return {"environment": self.env, "implementation": self.implementation,
                "time scale": f"{self.time_scale:g}"}
