"""Scenarios that install the controller as the tutorial does (``kubectl apply -k ...``): the
engine then runs as that Deployment's pod, so the harness's own engine process stands down for
the scenario, and what the install and its cleanup touch is checked object by object."""

from __future__ import annotations

from pathlib import Path

import yaml

from canary.harness.context import ScenarioContext
from canary.harness.environments import apply_crds
from canary.harness.manifests import argo_install_files, flagger_install_files
from canary.harness.wait import wait_for

INSTALLS = {"Flagger": flagger_install_files, "Argo Rollouts": argo_install_files}
# where the tutorial applies each install's namespaced objects that name no namespace
INSTALL_NAMESPACE = {"Flagger": "flagger-system", "Argo Rollouts": "argo-rollouts"}
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}


def install_objects(files: list[Path], namespace: str | None = None
                    ) -> list[tuple[str, str, str, str | None]]:
    """(apiVersion, kind, name, namespace) of every object the packaged install holds."""
    out = []
    for f in files:
        for doc in yaml.safe_load_all(f.read_text()):
            if doc:
                md = doc.get("metadata") or {}
                ns = None if doc["kind"] in CLUSTER_SCOPED else md.get("namespace") or namespace
                out.append((doc["apiVersion"], doc["kind"], md["name"], ns))
    return out


def stand_down_engine(ctx: ScenarioContext) -> None:
    """Stop the harness's engine process for this scenario; after it, remove what the install
    left (a failed scenario's), put the CRDs back and start the engine again."""
    env = ctx.env
    ctx.take_environment("the engine runs in the cluster for this scenario")
    running = env.engine
    had_engine = running is not None
    if running is not None:
        running.stop()
        env.engine = None
    ctx.mark("the harness's engine process stopped")

    def restore() -> None:
        for which, files in INSTALLS.items():
            for f in files():
                if f.parent.name == "install":  # the CRDs are put back below
                    env.kubectl(["delete", "--ignore-not-found", "--wait=false", "-n",
                                 INSTALL_NAMESPACE[which], "-f", str(f)], check=False, timeout=60)
        apply_crds(env, getattr(env, "rootdir", None))
        if had_engine:
            env.start_engine()

    ctx.teardowns.append(restore)


def pod_uids(ctx: ScenarioContext, ns: str, selector: str) -> set[str]:
    pods = ctx.env.client().items("v1", "Pod", ns, label_selector=selector)
    return {p["metadata"]["uid"] for p in pods if not p["metadata"].get("deletionTimestamp")}


def remember_pods(ctx: ScenarioContext, ns: str, selector: str) -> None:
    uids = pod_uids(ctx, ns, selector)
    if not uids:
        raise AssertionError(f"no pod with label {selector} in namespace {ns} to remember")
    ctx.diagnostics[f"pods {ns}/{selector}"] = " ".join(sorted(uids))
    ctx.remembered_pods = {**getattr(ctx, "remembered_pods", {}), (ns, selector): uids}


def _ready(pod: dict) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def wait_pods_replaced(ctx: ScenarioContext, ns: str, selector: str) -> None:
    """Every pod remembered is gone and a new one is Ready in its place."""
    old = getattr(ctx, "remembered_pods", {}).get((ns, selector))
    if old is None:
        raise AssertionError(f"the pods with label {selector} in namespace {ns} were not "
                             f"remembered first")
    client = ctx.env.client()

    def replaced() -> bool | None:
        pods = client.items("v1", "Pod", ns, label_selector=selector)
        uids = {p["metadata"]["uid"] for p in pods}
        new_ready = [p for p in pods if p["metadata"]["uid"] not in old and _ready(p)]
        return True if not (uids & old) and new_ready else None

    wait_for(replaced, ctx.wall(120),
             story=lambda why: f"pods with label {selector} in namespace {ns} were not "
                               f"replaced by a new Ready pod: {why}")


def wait_install_gone(ctx: ScenarioContext, which: str, extra_namespaces: list[str],
                      namespaced_only: bool = False, keep_crds: bool = False) -> None:
    """Nothing the packaged install holds (cluster-scoped CRDs and RBAC included, unless
    ``namespaced_only``) remains, nor the named namespaces."""
    client = ctx.env.client()
    objects = [o for o in install_objects(INSTALLS[which](), INSTALL_NAMESPACE[which])
               if (not namespaced_only or o[3] is not None)
               and not (keep_crds and o[1] == "CustomResourceDefinition")]

    def left() -> list[str]:
        out = []
        for av, kind, name, ns in objects:
            try:
                if client.get_or_none(av, kind, name, ns) is not None:
                    out.append(f"{kind} {ns + '/' if ns else ''}{name}")
            except Exception:  # noqa: BLE001 - a kind no longer served (its CRD gone) is gone
                continue
        for ns in extra_namespaces:
            if client.get_or_none("v1", "Namespace", ns) is not None:
                out.append(f"namespace {ns}")
        return out

    wait_for(lambda: True if not left() else None, ctx.wall(120),
             story=lambda why: f"after the cleanup these remain: {', '.join(left())} ({why})")
