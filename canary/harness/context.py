"""Per-scenario state shared by the steps: the environment, what the scenario created (so it
can be removed and checked), the rollout recorder and the timeline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from canary.harness.environments import Environment
from canary.harness.namespaces import SHARED, NamespaceMap
from canary.harness.recorder import TimelineRecorder
from canary.harness.timeline import Timeline, TimelineBuffer
from canary.harness.traffic import loadgen_sources
from canary.kube.client import NotFound

NAMESPACE_GONE_TIMEOUT = 60.0
WALL_SLACK = 45.0  # seconds added to every time-scaled wait: process start-up, 2-core CI


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    name: str
    namespace: str | None

    def __str__(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.kind} {self.name}{where}"


def objects_in(manifest_text: str, default_ns: str | None = None) -> list[ObjectRef]:
    """The objects a YAML stream declares (what ``kubectl apply -f`` will create)."""
    out = []
    try:
        docs = list(yaml.safe_load_all(manifest_text))
    except yaml.YAMLError as e:
        raise AssertionError(f"the manifest is not valid YAML: {e}") from None
    for doc in docs:
        if not isinstance(doc, dict) or "kind" not in doc:
            continue
        if doc["kind"].endswith("List"):
            for item in doc.get("items") or []:
                out.extend(objects_in(yaml.safe_dump(item), default_ns))
            continue
        md = doc.get("metadata") or {}
        out.append(ObjectRef(doc.get("apiVersion", ""), doc["kind"], md.get("name", ""),
                             md.get("namespace") or default_ns))
    return out


@dataclass
class ScenarioContext:
    env: Environment
    nodeid: str
    name: str
    feature_dir: Path
    time_scale: float
    namespaces_before: set[str] = field(default_factory=set)
    applied: list[ObjectRef] = field(default_factory=list)
    # applied but already there before the scenario: updated, never deleted by its cleanup
    preexisting: set[ObjectRef] = field(default_factory=set)
    markers: list[tuple[float, str]] = field(default_factory=list)
    diagnostics: dict[str, str] = field(default_factory=dict)
    cleaned: bool = False
    last_output: str = ""  # stdout of the last command an `I run` step ran
    recorder: TimelineRecorder | None = None
    buffer: TimelineBuffer | None = None
    started: float = field(default_factory=time.time)
    # run once after cleanup (e.g. put back what a scenario took from the shared environment)
    teardowns: list[Callable[[], None]] = field(default_factory=list)
    # the feature's namespaces -> this scenario's (disabled: as written)
    names: NamespaceMap = field(default_factory=lambda: NamespaceMap(enabled=False))
    lock: Any = None  # its ScenarioLock on the environment (scenarios at once: pytest-xdist)

    def take_environment(self, why: str) -> None:
        """This scenario changes what every scenario uses (the engine, the CRDs): it runs alone
        from here to its end."""
        if self.lock is not None and not self.lock.exclusive_held:
            self.lock.exclusive()
            self.mark(f"running alone: {why}")

    # -- recording --------------------------------------------------------------------------

    def begin(self) -> None:
        self.timeline_obj = Timeline(scenario=self.name, started=self.started,
                                     time_scale=self.time_scale)
        self.buffer = TimelineBuffer(self.timeline_obj, time.time)
        try:
            self.namespaces_before = {n["metadata"]["name"]
                                      for n in self.env.client().items("v1", "Namespace")}
        except Exception:  # noqa: BLE001 - the first step will report the broken cluster
            self.namespaces_before = set()

    def record(self, namespace: str) -> None:
        """Watch the namespace's rollouts from now on (idempotent)."""
        if self.recorder is None:
            assert self.buffer is not None
            client = self.env.client()
            self.recorder = TimelineRecorder(
                client, self.buffer, prometheus_url=self.env.prometheus_url,
                stats_sources=loadgen_sources(client, self.env.pod_url),
                time_scale=self.time_scale)
        self.recorder.watch_namespace(namespace)

    def mark(self, label: str) -> float:
        t = time.time()
        self.markers.append((t, label))
        if self.buffer is not None:
            self.buffer.add("marker", t=t, label=label)
        return t

    def wall(self, spec_seconds: float) -> float:
        """Wall seconds a step may wait for something that takes ``spec_seconds``."""
        return spec_seconds * self.time_scale + WALL_SLACK

    @property
    def last_action(self) -> float:
        return self.markers[-1][0] if self.markers else self.started

    def timeline(self) -> Timeline:
        assert self.buffer is not None
        return self.buffer.snapshot()

    def set_meta(self, **values: Any) -> None:
        assert self.buffer is not None
        self.buffer.timeline.meta.update(values)

    # -- cleanup ----------------------------------------------------------------------------

    def created_namespaces(self) -> list[str]:
        try:
            now = {n["metadata"]["name"] for n in self.env.client().items("v1", "Namespace")}
        except Exception:  # noqa: BLE001
            now = set()
        # only namespaces the scenario names: others (another scenario's, a colleague's on a
        # shared cluster) may appear meanwhile; a shared one (linkerd, an install's) only when
        # the scenario ran alone or nothing runs beside it
        mine = self.names.own()
        if self.names.enabled and not (self.lock is not None and self.lock.exclusive_held):
            mine -= SHARED
        new = (now - self.namespaces_before) & mine
        return sorted(new)

    def cleanup(self, timeout: float = NAMESPACE_GONE_TIMEOUT) -> list[str]:
        """Delete everything the scenario created; return what is still there afterwards."""
        try:
            return self._cleanup(timeout)
        finally:
            while self.teardowns:
                try:
                    self.teardowns.pop(0)()
                except Exception as e:  # noqa: BLE001 - one failing must not skip the rest
                    self.diagnostics[f"teardown {len(self.teardowns)}"] = str(e)

    def _cleanup(self, timeout: float) -> list[str]:
        if self.cleaned:
            return self.leftovers()
        self.cleaned = True
        client = self.env.client()
        created = self.created_namespaces()
        for ns in created:
            self.env.kubectl(["delete", "namespace", ns, "--wait=false", "--ignore-not-found"],
                             check=False, timeout=30)
            self.env.namespace_deleted(ns)
        for ref in reversed(self.applied):
            if ref.namespace in created or ref in self.preexisting:
                continue
            try:
                client.delete(ref.api_version, ref.kind, ref.name, ref.namespace,
                              propagation="Background")
            except Exception:  # noqa: BLE001 - reported by leftovers() below
                pass
        self._created_for_check = created
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            left = self.leftovers()
            if not left:
                return []
            time.sleep(0.2)
        return self.leftovers()

    def leftovers(self) -> list[str]:
        client = self.env.client()
        left = []
        for ns in getattr(self, "_created_for_check", []):
            if client.get_or_none("v1", "Namespace", ns) is not None:
                left.append(f"namespace {ns}")
        for ref in self.applied:
            if ref in self.preexisting:
                continue
            try:
                if client.get_or_none(ref.api_version, ref.kind, ref.name, ref.namespace):
                    left.append(str(ref))
            except NotFound:
                continue
            except Exception:  # noqa: BLE001 - a kind no longer served is gone too
                continue
        return left

    def stop_recording(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()
