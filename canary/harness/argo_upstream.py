"""Harness functions the ported Argo Rollouts e2e scenarios need (features/upstream/argo/):
pod counts per canary/stable and per revision, spec updates, scale and patch of a Rollout, the
ordered event reasons of a Rollout, phase waits that accept an earlier Degraded, and
chainsaw-style object assertions (the Gateway API plugin's ``assertions/*.yaml`` verbatim).

The pod checks follow argoproj/argo-rollouts test/fixtures/then.go:121-195 (pods counted by
``rollouts-pod-template-hash``, terminating pods ignored); the event check is its
``ExpectRolloutEvents`` (then.go:503: every reason the Rollout got, in order, compared whole).
"""

from __future__ import annotations

import re
import time
from typing import Any

import yaml

from canary.harness import assertions as A
from canary.harness import rollout_checks as R
from canary.harness.argo import ROLLOUT_API, rollout_state
from canary.harness.context import ScenarioContext
from canary.harness.wait import wait_for
from canary.spec.rollout import HASH_LABEL, REVISION_ANNOTATION

KINDS = {"rollout": (ROLLOUT_API, "Rollout"), "httproute": ("gateway.networking.k8s.io/v1",
                                                            "HTTPRoute"),
         "service": ("v1", "Service"), "analysisrun": (ROLLOUT_API, "AnalysisRun"),
         "replicaset": ("apps/v1", "ReplicaSet")}
_LENGTH = re.compile(r"length\((\w+)\)")
POD_WAIT = 10.0  # spec seconds for pod counts to settle (pods start and stop in real time)


def kind_of(word: str) -> tuple[str, str]:
    try:
        return KINDS[word.lower()]
    except KeyError:
        raise AssertionError(f"unknown kind {word!r} (one of {', '.join(KINDS)})") from None


# -- chainsaw-style assertions ------------------------------------------------------------------


def _evaluate(expr: str, node: Any) -> Any:
    """The two projections the plugin's assertion files use: ``(length(x))`` and ``(x)``."""
    m = _LENGTH.fullmatch(expr)
    if m:
        value = node.get(m.group(1)) if isinstance(node, dict) else None
        return len(value) if isinstance(value, list | dict | str) else 0
    if re.fullmatch(r"\w+", expr):
        return node.get(expr) if isinstance(node, dict) else None
    raise AssertionError(f"assertion expression ({expr}) is not supported: only (field) and "
                         "(length(field)) are")


def mismatches(want: Any, got: Any, path: str = "") -> list[str]:
    """Where ``got`` differs from the assertion tree ``want`` (chainsaw semantics for the
    subset the plugin's tests use: maps are subsets, list items compared by position, a key in
    parentheses is an expression over the node)."""
    where = path or "<root>"
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{where}: expected an object, found {got!r}"]
        out: list[str] = []
        for key, value in want.items():
            if key.startswith("(") and key.endswith(")"):
                out += mismatches(value, _evaluate(key[1:-1], got), f"{path}{key}")
            elif key not in got:
                out.append(f"{path}.{key}: missing" if path else f"{key}: missing")
            else:
                out += mismatches(value, got[key], f"{path}.{key}" if path else key)
        return out
    if isinstance(want, list):
        if not isinstance(got, list):
            return [f"{where}: expected a list, found {got!r}"]
        out = []
        for i, item in enumerate(want):
            if i >= len(got):
                out.append(f"{where}[{i}]: missing (the list has {len(got)} items)")
            else:
                out += mismatches(item, got[i], f"{path}[{i}]")
        return out
    return [] if want == got else [f"{where}: expected {want!r}, found {got!r}"]


def wait_matches(ctx: ScenarioContext, kind: str, name: str, ns: str, text: str,
                 spec_seconds: float) -> None:
    api, k = kind_of(kind)
    want = yaml.safe_load(text) or {}
    for key in ("apiVersion", "kind"):
        want.pop(key, None)  # the version the test names is served either way
    md = want.get("metadata") or {}
    md.pop("name", None)
    md.pop("namespace", None)
    if not md:
        want.pop("metadata", None)
    client = ctx.env.client()
    last: list[str] = []

    def matches() -> bool | None:
        obj = client.get_or_none(api, k, name, ns)
        last[:] = ["object not found"] if obj is None else mismatches(want, obj)
        return True if not last else None

    wait_for(matches, ctx.wall(spec_seconds),
             story=lambda why: f"{k} {name} in namespace {ns} did not match within "
                               f"{spec_seconds:g}s (spec)\n" + "\n".join(f"  {m}" for m in last))


# -- Rollout actions ----------------------------------------------------------------------------


def patch_rollout(ctx: ScenarioContext, name: str, ns: str, patch: dict[str, Any],
                  label: str) -> None:
    ctx.mark(label)
    ctx.env.client().patch(ROLLOUT_API, "Rollout", name, patch, ns)


def update_spec(ctx: ScenarioContext, name: str, ns: str) -> None:
    """test/fixtures/when.go:130 UpdateSpec: a new pod-template annotation, a new revision."""
    stamp = f"{time.time():.6f}"
    patch_rollout(ctx, name, ns, {"spec": {"template": {"metadata": {"annotations": {
        "update": stamp}}}}}, f"update spec of rollout {name}")


def patch_with(ctx: ScenarioContext, name: str, ns: str, text: str) -> None:
    try:
        patch = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise AssertionError(f"the patch for rollout {name} is not YAML: {e}") from None
    if not isinstance(patch, dict):
        raise AssertionError(f"the patch for rollout {name} must be a YAML object")
    patch_rollout(ctx, name, ns, patch, f"patch rollout {name}")


def scale(ctx: ScenarioContext, name: str, ns: str, replicas: int) -> None:
    patch_rollout(ctx, name, ns, {"spec": {"replicas": replicas}},
                  f"scale rollout {name} to {replicas}")


# -- pod counts ---------------------------------------------------------------------------------


def _pods_by_hash(ctx: ScenarioContext, ns: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for pod in ctx.env.client().items("v1", "Pod", ns):
        md = pod.get("metadata") or {}
        h = (md.get("labels") or {}).get(HASH_LABEL)
        if h and not md.get("deletionTimestamp"):
            out[h] = out.get(h, 0) + 1
    return out


def _revision_hashes(ctx: ScenarioContext, name: str, ns: str) -> dict[str, str]:
    """revision -> pod-template hash of the Rollout's ReplicaSets."""
    ro = R.get_rollout(ctx, name, ns)
    uid = ro["metadata"].get("uid")
    out: dict[str, str] = {}
    for rs in ctx.env.client().items("apps/v1", "ReplicaSet", ns):
        md = rs.get("metadata") or {}
        if not any(o.get("uid") == uid for o in md.get("ownerReferences") or []):
            continue
        rev = (md.get("annotations") or {}).get(REVISION_ANNOTATION)
        h = (md.get("labels") or {}).get(HASH_LABEL)
        if rev and h:
            out[rev] = h
    return out


def _wait_counts(ctx: ScenarioContext, what: str, observe: Any) -> None:
    seen: list[str] = []

    def settled() -> bool | None:
        ok, text = observe()
        if not seen or seen[-1] != text:
            seen.append(text)
        return True if ok else None

    wait_for(settled, ctx.wall(POD_WAIT),
             story=lambda why: f"{what}: not reached within {POD_WAIT:g}s (spec)\n"
                               f"  counts seen: {seen}")


def check_canary_stable_pods(ctx: ScenarioContext, name: str, ns: str, canary: int,
                             stable: int) -> None:
    def observe() -> tuple[bool, str]:
        st = R.get_rollout(ctx, name, ns).get("status") or {}
        pods = _pods_by_hash(ctx, ns)
        c = pods.get(st.get("currentPodHash") or "", 0)
        s = pods.get(st.get("stableRS") or "", 0)
        return (c, s) == (canary, stable), f"canary {c}, stable {s}"

    _wait_counts(ctx, f"rollout {name}.{ns}: expected canary {canary}, stable {stable} pods",
                 observe)


def check_revision_pods(ctx: ScenarioContext, name: str, ns: str, revision: int,
                        count: int) -> None:
    def observe() -> tuple[bool, str]:
        h = _revision_hashes(ctx, name, ns).get(str(revision))
        if h is None:
            return False, f"no ReplicaSet of revision {revision}"
        n = _pods_by_hash(ctx, ns).get(h, 0)
        return n == count, f"revision {revision}: {n}"

    _wait_counts(ctx, f"rollout {name}.{ns}: expected {count} pods of revision {revision}",
                 observe)


def check_status_replicas(ctx: ScenarioContext, name: str, ns: str, field: str,
                          want: int) -> None:
    def observe() -> tuple[bool, str]:
        st = R.get_rollout(ctx, name, ns).get("status") or {}
        got = int(st.get(field) or 0)
        return got == want, f"status.{field} {got}"

    _wait_counts(ctx, f"rollout {name}.{ns}: expected status.{field} {want}", observe)


# -- events and phases --------------------------------------------------------------------------


def event_reasons(ctx: ScenarioContext, name: str, ns: str) -> list[str]:
    return [e.get("reason", "") for e in ctx.timeline().of("event", namespace=ns)
            if e.get("object") == f"Rollout/{name}"]


def check_event_reasons(ctx: ScenarioContext, name: str, ns: str, text: str) -> None:
    want = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    want = [w for w in want if w]
    try:
        # events reach the recorder through a watch: give the last one a moment
        wait_for(lambda: True if event_reasons(ctx, name, ns) == want else None,
                 ctx.wall(2) + 1, story=str)
    except A.RolloutAssertion:
        pass
    got = event_reasons(ctx, name, ns)
    if got != want:
        first = next((i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b),
                     min(len(want), len(got)))
        raise A.RolloutAssertion(f"rollout {name}.{ns}: event reasons differ from #{first + 1}\n"
                                 f"  expected: {want}\n  observed: {got}")


def wait_phase_any_path(ctx: ScenarioContext, name: str, ns: str, phase: str) -> None:
    """Until the Rollout shows ``phase``, whatever it went through (Degraded included): the
    e2e fixtures' ``WaitForRolloutStatus`` (test/fixtures/when.go)."""
    ctx.record(ns)

    def reached() -> bool | None:
        return True if rollout_state(R.get_rollout(ctx, name, ns)).phase == phase else None

    wait_for(reached, R.rollout_budget(ctx, name, ns),
             story=lambda why: R.rollout_story(ctx, name, ns, f"expected phase {phase}; {why}"))


# -- AnalysisRuns (test/fixtures/then.go ExpectAnalysisRunCount, when.go WaitFor*AnalysisRun*) ---

RUN_KINDS = {"background": "Background", "inline": "Step"}


def _runs(ctx: ScenarioContext, name: str, ns: str) -> list[dict[str, Any]]:
    uid = R.get_rollout(ctx, name, ns)["metadata"].get("uid")
    return [r for r in ctx.env.client().items(ROLLOUT_API, "AnalysisRun", ns)
            if any(o.get("uid") == uid for o in (r.get("metadata") or {}).get(
                "ownerReferences") or [])]


def check_run_count(ctx: ScenarioContext, name: str, ns: str, n: int) -> None:
    def observe() -> tuple[bool, str]:
        got = len(_runs(ctx, name, ns))
        return got == n, f"{got} AnalysisRuns"

    _wait_counts(ctx, f"rollout {name}.{ns}: expected {n} AnalysisRuns", observe)


def wait_run_phase(ctx: ScenarioContext, kind: str, name: str, ns: str, phase: str) -> None:
    """The newest AnalysisRun of that kind (label rollout-type) reaches ``phase``."""
    label = RUN_KINDS[kind]
    seen: list[str] = []

    def reached() -> bool | None:
        runs = [r for r in _runs(ctx, name, ns)
                if ((r.get("metadata") or {}).get("labels") or {}).get("rollout-type") == label]
        runs.sort(key=lambda r: (r["metadata"].get("creationTimestamp") or "",
                                 r["metadata"].get("name", "")))
        got = ((runs[-1].get("status") or {}).get("phase") or "<none>") if runs else "<no run>"
        if not seen or seen[-1] != got:
            seen.append(got)
        return True if got == phase else None

    wait_for(reached, R.rollout_budget(ctx, name, ns),
             story=lambda why: f"rollout {name}.{ns}: the {kind} AnalysisRun never became "
                               f"{phase} ({why})\n  phases seen: {seen}")


def check_revision_pods_after(ctx: ScenarioContext, name: str, ns: str, revision: int,
                              count: int, spec_seconds: float) -> None:
    """The count still holds ``spec_seconds`` later (upstream: Sleep, then the count)."""
    time.sleep(spec_seconds * ctx.time_scale)
    check_revision_pods(ctx, name, ns, revision, count)


def check_selects_stable(ctx: ScenarioContext, service: str, name: str, ns: str) -> None:
    """The Service selects the Rollout's stable pods (its selector's hash is status.stableRS)."""
    def observe() -> tuple[bool, str]:
        stable = (R.get_rollout(ctx, name, ns).get("status") or {}).get("stableRS")
        svc = ctx.env.client().get_or_none("v1", "Service", service, ns) or {}
        got = ((svc.get("spec") or {}).get("selector") or {}).get(HASH_LABEL)
        return bool(stable) and got == stable, f"selector hash {got}, stable {stable}"

    _wait_counts(ctx, f"Service {service}.{ns}: expected to select the stable pods of {name}",
                 observe)


def wait_message(ctx: ScenarioContext, name: str, ns: str, text: str) -> None:
    """Until ``status.message`` contains ``text`` (upstream's WaitForRolloutMessage)."""
    def reached() -> bool | None:
        return True if text in rollout_state(R.get_rollout(ctx, name, ns)).message else None

    wait_for(reached, R.rollout_budget(ctx, name, ns),
             story=lambda why: R.rollout_story(ctx, name, ns,
                                               f"status.message never said {text!r}; {why}"))
