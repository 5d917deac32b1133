"""The kubectl plugin verbs of the shim (version, list rollouts, pause, undo, restart, status)
through stock kubectl against the sandbox API server, as a user types them."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.apiserver import KUBECTL, ApiServer

from canary.harness import argo  # noqa: E402
from canary.kube.client import KubeClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "fixtures" / "manifests" / "argo-rollout-corrected.yaml"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, dict]]:
    d = tmp_path_factory.mktemp("cli")
    server = ApiServer(d)
    server.start()
    argo.install_kubectl_plugin(d / "bin")
    env = argo.path_with(d / "bin", dict(os.environ))
    env["KUBECONFIG"] = str(server.kubeconfig)
    for args in (["create", "ns", "test"],
                 ["apply", "-f", str(ROOT / "fixtures" / "manifests" / "crds")],
                 ["apply", "-f", str(MANIFEST)]):
        subprocess.run([KUBECTL, *args], env=env, check=True, capture_output=True, timeout=60)
    yield server, env
    server.stop()


def plugin(env: dict, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KUBECTL, "argo", "rollouts", *args], env=env, capture_output=True,
                          text=True, timeout=60, cwd=ROOT)


def client(server: ApiServer) -> KubeClient:
    return KubeClient.from_kubeconfig(str(server.kubeconfig))


def test_version_names_the_plugin(cluster: tuple[ApiServer, dict]) -> None:
    p = plugin(cluster[1], "version")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("kubectl-argo-rollouts: v")


def test_list_rollouts_shows_the_plugins_columns(cluster: tuple[ApiServer, dict]) -> None:
    server, env = cluster
    c = client(server)
    ro = c.get("argoproj.io/v1alpha1", "Rollout", "rollouts-demo", "test")
    gen = ro["metadata"]["generation"]
    c.patch("argoproj.io/v1alpha1", "Rollout", "rollouts-demo", {"status": {
        "phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": 1,
        "observedGeneration": str(gen), "replicas": 2, "readyReplicas": 2,
        "updatedReplicas": 1, "availableReplicas": 2}}, "test", "merge", "status")
    p = plugin(env, "list", "rollouts", "-n", "test")
    assert p.returncode == 0, p.stderr
    head, row = p.stdout.splitlines()
    assert head.split() == ["NAME", "STRATEGY", "STATUS", "STEP", "SET-WEIGHT", "READY",
                            "DESIRED", "UP-TO-DATE", "AVAILABLE"]
    assert row.split() == ["rollouts-demo", "Canary", "Paused", "1/8", "30", "2/2", "1", "1",
                           "2"]
    empty = plugin(env, "list", "rollouts", "-n", "default")
    assert empty.returncode == 0 and "No resources found." in empty.stderr


def test_pause_and_restart_send_the_plugins_patches(cluster: tuple[ApiServer, dict]) -> None:
    server, env = cluster
    p = plugin(env, "pause", "rollouts-demo", "-n", "test")
    assert p.returncode == 0 and p.stdout == "rollout 'rollouts-demo' paused\n", p.stderr
    p = plugin(env, "restart", "rollouts-demo", "-n", "test", "--in", "10s")
    assert p.stdout == "rollout 'rollouts-demo' restarts in 10s\n", p.stderr
    spec = client(server).get("argoproj.io/v1alpha1", "Rollout", "rollouts-demo", "test")["spec"]
    assert spec["paused"] is True and spec["restartAt"].endswith("Z")


def test_undo_puts_the_previous_revisions_template_back(cluster: tuple[ApiServer, dict]) -> None:
    server, env = cluster
    c = client(server)
    ro = c.get("argoproj.io/v1alpha1", "Rollout", "rollouts-demo", "test")
    old = json.loads(json.dumps(ro["spec"]["template"]))
    for rev, image in ((1, old["spec"]["containers"][0]["image"]),
                       (2, "quay.io/stefanprodan/podinfo:1.7.1")):
        tpl = json.loads(json.dumps(old))
        tpl["spec"]["containers"][0]["image"] = image
        tpl["metadata"]["labels"]["rollouts-pod-template-hash"] = f"h{rev}"
        c.create({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
            "name": f"rollouts-demo-h{rev}", "namespace": "test",
            "annotations": {"rollout.argoproj.io/revision": str(rev)},
            "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                 "name": "rollouts-demo", "uid": ro["metadata"]["uid"],
                                 "controller": True}]},
            "spec": {"replicas": 0, "selector": {"matchLabels": {
                "app": "podinfo", "rollouts-pod-template-hash": f"h{rev}"}}, "template": tpl}})
    p = plugin(env, "set", "image", "rollouts-demo", "podinfod=quay.io/stefanprodan/podinfo:1.7.1",
               "-n", "test")
    assert p.returncode == 0, p.stderr
    p = plugin(env, "undo", "rollouts-demo", "-n", "test")
    assert p.returncode == 0 and p.stdout == "rollout 'rollouts-demo' undo\n", p.stderr
    now = c.get("argoproj.io/v1alpha1", "Rollout", "rollouts-demo", "test")
    # the template of revision 1 (as the API server stored it, with Kubernetes' defaults)
    assert now["spec"]["template"]["spec"]["containers"][0]["image"] == \
        old["spec"]["containers"][0]["image"]
    assert "rollouts-pod-template-hash" not in now["spec"]["template"]["metadata"]["labels"]
    again = plugin(env, "undo", "rollouts-demo", "-n", "test", "--to-revision", "7")
    assert again.returncode == 1
    assert "unable to find specified revision 7 in history" in again.stderr


def test_status_without_watch_prints_one_line(cluster: tuple[ApiServer, dict]) -> None:
    p = plugin(cluster[1], "status", "rollouts-demo", "-n", "test", "--watch=false")
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) == 1


def test_status_of_a_missing_rollout_is_a_clear_error(cluster: tuple[ApiServer, dict]) -> None:
    p = plugin(cluster[1], "status", "nope", "-n", "test")
    assert p.returncode == 1
    assert 'rollouts.argoproj.io "nope" not found' in p.stderr
