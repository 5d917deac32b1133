"""Argo Rollouts helpers for the step library: the kubectl plugin shim, the Rollout's state as a
user reads it, and what the recorded timeline says about one update of a Rollout.

Pure functions here (no cluster access) are unit-tested in tests/test_harness_argo.py.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canary.harness.timeline import Timeline, compress, phase_changes, route_canary_weights

ROLLOUT_API = "argoproj.io/v1alpha1"
PLUGIN_EXECUTABLE = "kubectl-argo-rollouts"
# Argo's phases; Degraded is where an aborted or failed update ends.
PHASES = ("Healthy", "Progressing", "Paused", "Degraded")


def write_shim(bin_dir: Path, name: str, module: str, python: str = sys.executable) -> Path:
    """An executable ``bin_dir/name`` running ``python -m module "$@"``: how the harness puts
    its look-alikes of CLI tools (kubectl-argo-rollouts, linkerd) on a command's PATH."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / name
    exe.write_text(f"#!/bin/sh\nexec {shlex.quote(python)} -m {module} \"$@\"\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return exe


def install_kubectl_plugin(bin_dir: Path, python: str = sys.executable) -> Path:
    """Write ``kubectl-argo-rollouts`` into ``bin_dir``: stock kubectl finds plugins on PATH by
    that name, so the seed's ``kubectl argo rollouts ...`` lines run our ``canary rollouts``."""
    return write_shim(bin_dir, PLUGIN_EXECUTABLE, "canary.cli.rollouts", python)


def path_with(bin_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """``env`` with ``bin_dir`` first on PATH."""
    out = dict(env)
    out["PATH"] = os.pathsep.join([str(bin_dir), out.get("PATH", "")])
    return out


def is_plugin_command(command: str) -> bool:
    """Whether a command line starts with ``kubectl argo rollouts`` (after line joining)."""
    return re.match(r"\s*kubectl\s+argo\s+rollouts\b", join_lines(command)) is not None


def join_lines(command: str) -> str:
    """Join shell line continuations (``\\`` + newline), as the seed writes long commands."""
    return re.sub(r"\s*\\\n\s*", " ", command).strip()


@dataclass(frozen=True)
class RolloutState:
    """What ``kubectl argo rollouts get`` shows: phase, message, step and canary weight."""

    phase: str
    message: str
    step: int | None
    weight: int
    aborted: bool

    def describe(self) -> str:
        step = "-" if self.step is None else str(self.step)
        msg = f" ({self.message})" if self.message else ""
        return f"phase {self.phase or '<none>'}{msg}, step {step}, canary weight {self.weight}"


def rollout_state(ro: dict[str, Any]) -> RolloutState:
    st = ro.get("status") or {}
    weights = ((st.get("canary") or {}).get("weights") or {}).get("canary") or {}
    step = st.get("currentStepIndex")
    return RolloutState(phase=str(st.get("phase") or ""), message=str(st.get("message") or ""),
                        step=step if isinstance(step, int) else None,
                        weight=int(weights.get("weight") or 0), aborted=bool(st.get("abort")))


def condition(ro: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    for c in (ro.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def pause_budget(ro: dict[str, Any]) -> float:
    """Spec seconds the timed pauses of a Rollout add up to (an update's minimum duration)."""
    from canary.spec.rollout import parse_rollout

    return float(sum(s.duration or 0 for s in parse_rollout(ro).steps if s.kind == "pause"))


def update_start(tl: Timeline, name: str, namespace: str | None = None,
                 since: float | None = None) -> float | None:
    """When the Rollout's last update began: the last time its phase left Healthy (after
    ``since`` if given). None if it never did."""
    changes = phase_changes(tl, name, namespace)
    start = None
    for i, (t, p) in enumerate(changes):
        if i > 0 and changes[i - 1][1] == "Healthy" and p not in ("Healthy", "Deleted"):
            if since is None or t >= since:
                start = t
    return start


def route_trajectory(tl: Timeline, route: str, since: float, until: float | None = None,
                     namespace: str | None = None, canary: str | None = None) -> list[int]:
    """Canary backend weights of ``route`` from the value in force at ``since`` until ``until``,
    consecutive repeats dropped (what ``kubectl get httproute -w`` would have shown);
    ``canary`` is the Rollout's ``canaryService``."""
    pts = route_canary_weights(tl, route, namespace, canary=canary)
    before = [w for t, w in pts if t < since]
    within = [w for t, w in pts if t >= since and (until is None or t <= until)]
    return compress(before[-1:] + within)


def services_of(rollout: dict[str, Any]) -> tuple[str | None, str | None]:
    """The Rollout's ``(canaryService, stableService)``."""
    canary = (((rollout.get("spec") or {}).get("strategy") or {}).get("canary") or {})
    return canary.get("canaryService") or None, canary.get("stableService") or None


def port_mismatches(route: dict[str, Any],
                    services: dict[str, dict[str, Any]]) -> list[tuple[str, Any, list[Any]]]:
    """(backend name, backendRef port, ports its Service exposes) for every Service backend of
    ``route`` whose port the Service does not expose; computed independently of the engine's
    ``check_route_backends`` so the two can be checked against each other."""
    rns = (route.get("metadata") or {}).get("namespace") or "default"
    out = []
    for rule in (route.get("spec") or {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            if (ref.get("kind") or "Service") != "Service":
                continue
            ns = ref.get("namespace") or rns
            svc = services.get(f"{ns}/{ref.get('name')}") or services.get(str(ref.get("name")))
            if svc is None:
                continue
            ports = [p.get("port") for p in (svc.get("spec") or {}).get("ports") or []]
            if ref.get("port") not in ports:
                out.append((str(ref.get("name")), ref.get("port"), ports))
    return out


def missing_mentions(message: str, route: str,
                     mismatches: list[tuple[str, Any, list[Any]]]) -> list[str]:
    """What a port-mismatch report fails to name: the route, each backend, its port and the
    ports its Service does expose."""
    missing = []
    if route not in message:
        missing.append(f"the route {route}")
    for backend, port, ports in mismatches:
        for what in [backend, str(port), *[str(p) for p in ports]]:
            if what not in message:
                missing.append(f"{what!r} (backend {backend}:{port}, Service ports "
                               f"{', '.join(map(str, ports)) or 'none'})")
    return list(dict.fromkeys(missing))


def timed_pauses(ro: dict[str, Any]) -> list[tuple[int, int]]:
    """(canary weight in force, pause seconds) for each timed pause of the Rollout's steps."""
    from canary.spec.rollout import parse_rollout

    out, weight = [], 0
    for s in parse_rollout(ro).steps:
        if s.kind == "setWeight" and s.weight is not None:
            weight = s.weight
        elif s.kind == "pause" and s.duration:
            out.append((weight, s.duration))
    return out


def weight_holds(points: list[tuple[float, int]]) -> dict[int, float]:
    """How long (seconds) the route held each weight, from timestamped canary weights; the
    last weight (still in force) is left out."""
    out: dict[int, float] = {}
    for (t, w), (t2, _) in zip(points, points[1:], strict=False):
        out[w] = out.get(w, 0.0) + (t2 - t)
    return out
