"""Scenarios that install the controller as the tutorial does (``kubectl apply -k ...``): the
engine then runs as that Deployment's pod, so the harness's own engine process stands down for
the scenario, and what the install and its cleanup touch is checked object by object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    # kind: the bundled engine runs in-cluster; its namespaces are deleted meanwhile
    in_cluster = getattr(env, "engine_installs", None)
    if in_cluster:
        from canary.harness.environments import run_pipeline

        for pipeline in env.engine_stand_down_plan():
            run_pipeline(pipeline, env.env_vars())
    ctx.mark("the harness's engine stopped")

    def restore() -> None:
        for which, files in INSTALLS.items():
            for f in files():
                if f.parent.name == "install":  # the CRDs are put back below
                    env.kubectl(["delete", "--ignore-not-found", "--wait=false", "-n",
                                 INSTALL_NAMESPACE[which], "-f", str(f)], check=False, timeout=60)
        apply_crds(env, getattr(env, "rootdir", None))
        if in_cluster:
            from canary.harness.environments import run_pipeline

            for pipeline in env.engine_restore_plan():
                run_pipeline(pipeline, env.env_vars())
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


def wait_lease_held_by_new_pod(ctx: ScenarioContext, lease: str, ns: str) -> None:
    """The Lease's holder is a pod that was not among those remembered (client-go's identity
    is ``<hostname>_<uuid>``, the hostname being the pod's name)."""
    client = ctx.env.client()
    old = {uid for (_ns, _sel), uids in getattr(ctx, "remembered_pods", {}).items()
           if _ns == ns for uid in uids}
    if not old:
        raise AssertionError(f"no pods in namespace {ns} were remembered first")

    def holder() -> str | None:
        obj = client.get_or_none("coordination.k8s.io/v1", "Lease", lease, ns)
        who = ((obj or {}).get("spec") or {}).get("holderIdentity") or ""
        pod = client.get_or_none("v1", "Pod", who.split("_", 1)[0], ns) if who else None
        return who if pod is not None and pod["metadata"]["uid"] not in old else None

    def story(why: str) -> str:
        obj = client.get_or_none("coordination.k8s.io/v1", "Lease", lease, ns)
        who = ((obj or {}).get("spec") or {}).get("holderIdentity")
        return f"Lease {ns}/{lease} is not held by a new pod (holder: {who!r}): {why}"

    ctx.mark(f"Lease {lease} held by {wait_for(holder, ctx.wall(120), story=story)}")


def assert_requests_allowed(ctx: ScenarioContext, ns: str, selector: str) -> None:
    """Every API request the selected pods' engine made (its own counters, on the port named
    ``metrics`` or else the first) is allowed by the ClusterRoles bound to the pod's
    ServiceAccount, as a cluster enforcing RBAC would require."""
    import requests as http

    from canary.harness import rbac

    client = ctx.env.client()
    pods = [p for p in client.items("v1", "Pod", ns, label_selector=selector) if _ready(p)]
    if not pods:
        raise AssertionError(f"no ready pod with label {selector} in namespace {ns}")
    roles = {r["metadata"]["name"]: r
             for r in client.items("rbac.authorization.k8s.io/v1", "ClusterRole")}
    bindings = client.items("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
    for pod in pods:
        spec = pod["spec"]
        ports = [p for c in spec["containers"] for p in c.get("ports") or []]
        port = next((p for p in ports if p.get("name") == "metrics"), ports[0] if ports else None)
        if port is None:
            raise AssertionError(f"pod {pod['metadata']['name']} declares no port for /metrics")
        url = ctx.env.pod_url(pod, int(port["containerPort"])) + "/metrics"
        made = rbac.requests_from_metrics(http.get(url, timeout=10).text)
        if not made:
            raise AssertionError(f"{url} shows no API requests of the engine")
        sa = spec.get("serviceAccountName") or "default"
        rules = rbac.bound_rules(bindings, roles, ns, sa)
        refused = rbac.denied(rules, made)
        ctx.diagnostics[f"API requests of {pod['metadata']['name']}"] = \
            ", ".join(sorted({f"{v} {r}" for v, r in made}))
        if refused:
            raise AssertionError(
                f"pod {pod['metadata']['name']} made requests the ClusterRoles bound to "
                f"ServiceAccount {ns}/{sa} do not allow (a cluster enforcing RBAC would refuse "
                f"them): {', '.join(f'{v} {r}' for v, r in refused)}")


# what a user would see left in a deleted namespace (`kubectl get all,cm,httproute,rollout`)
NAMESPACE_CONTENTS = (("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("v1", "Pod"),
                      ("v1", "Service"), ("v1", "ConfigMap"), ("argoproj.io/v1alpha1", "Rollout"),
                      ("gateway.networking.k8s.io/v1beta1", "HTTPRoute"))
CLUSTER_API = {"ClusterRole": "rbac.authorization.k8s.io/v1",
               "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
               "CustomResourceDefinition": "apiextensions.k8s.io/v1", "Namespace": "v1"}


def _namespaces_left(client: Any, namespaces: list[str]) -> list[str]:
    out = []
    for ns in namespaces:
        if client.get_or_none("v1", "Namespace", ns) is not None:
            out.append(f"namespace {ns}")
        for av, kind in NAMESPACE_CONTENTS:
            try:
                names = [o["metadata"]["name"] for o in client.items(av, kind, ns)]
            except Exception:  # noqa: BLE001 - a kind not served holds nothing
                continue
            out += [f"{kind} {ns}/{n}" for n in names]
    return out


def wait_only_cluster_scoped_left(ctx: ScenarioContext, which: str, namespaces: list[str]
                                  ) -> None:
    """After ``kubectl delete ns``: every namespaced object of the install and everything in
    the named namespaces is gone, and every cluster-scoped one (CRDs, ClusterRoles, bindings)
    is still there, as on a real cluster (deleting a namespace never touches those)."""
    client = ctx.env.client()
    objects = install_objects(INSTALLS[which](), INSTALL_NAMESPACE[which])

    def left() -> list[str]:
        out = [f"{kind} {ns}/{name}" for av, kind, name, ns in objects
               if ns is not None and client.get_or_none(av, kind, name, ns) is not None]
        return out + _namespaces_left(client, namespaces)

    wait_for(lambda: True if not left() else None, ctx.wall(120),
             story=lambda why: f"after deleting the namespaces these remain: "
                               f"{', '.join(left())} ({why})")
    gone = [f"{kind} {name}" for av, kind, name, ns in objects
            if ns is None and client.get_or_none(av, kind, name) is None]
    if gone:
        raise AssertionError(f"deleting namespaces removed cluster-scoped objects of the "
                             f"{which} install, which a real cluster keeps: {', '.join(gone)}")


def parse_cluster_objects(text: str) -> list[tuple[str, str]]:
    """``ClusterRole a, ClusterRoleBinding b`` -> [(kind, name), ...]."""
    out = []
    for item in (t.strip() for t in text.split(",")):
        kind, _, name = item.partition(" ")
        if kind not in CLUSTER_API or not name.strip():
            raise ValueError(f"{item!r}: expected '<kind> <name>' with kind one of "
                             f"{', '.join(CLUSTER_API)}")
        out.append((kind, name.strip()))
    return out


def assert_cluster_objects_exist(ctx: ScenarioContext, text: str) -> None:
    client = ctx.env.client()
    missing = [f"{k} {n}" for k, n in parse_cluster_objects(text)
               if client.get_or_none(CLUSTER_API[k], k, n) is None]
    if missing:
        raise AssertionError(f"expected to remain (cluster-scoped) but gone: {', '.join(missing)}")


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
        return out + _namespaces_left(client, extra_namespaces)

    wait_for(lambda: True if not left() else None, ctx.wall(120),
             story=lambda why: f"after the cleanup these remain: {', '.join(left())} ({why})")
