"""The `existing` environment (the path a kind or staging run takes once the cluster exists:
kubectl, port-forwards to Prometheus and the demo, the engine as a process) exercised for real:
the seed's Flagger and Argo features against a sandbox started by `canary sandbox up`, reached
as clusters in the wild are (issue 14, acceptance 3): ``KUBECONFIG=a:b`` with the sandbox's
context in ``b`` and its user an exec credential plugin printing the token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import REPO

pytestmark = pytest.mark.timeout(400)


def test_seed_features_pass_with_env_existing_against_a_running_sandbox(tmp_path):
    sandbox = tmp_path / "sb"
    canary = [sys.executable, "-m", "canary.cli", "sandbox"]
    up = subprocess.run([*canary, "up", "--dir", str(sandbox), "--time-scale", "0.05"],
                        capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stdout + up.stderr
    env = dict(os.environ, KUBECONFIG=_merged_exec_kubeconfig(sandbox / "kubeconfig", tmp_path))
    try:
        p = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             str(REPO / "features" / "flagger_canary.feature"),
             str(REPO / "features" / "argo_rollout.feature"),
             "--env", "existing", "--allow-existing-cluster", "--canary-offline-manifests",
             "--time-scale", "0.05", "--report-dir", str(tmp_path / "reports")],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=360)
        assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]
        assert "6 passed" in p.stdout
        # a real cluster may have its own `test`: every scenario ran in a namespace of its own
        timelines = [json.loads(t.read_text()) for t in (tmp_path / "reports" / "timelines")
                     .glob("*.json")]
        spaces = {t["meta"]["namespaces"]["test"] for t in timelines}
        assert len(spaces) == 6 and all(s.startswith("test-") for s in spaces), spaces
        # the CLI with the same merged, exec-plugin kubeconfig (the run applied the CRDs)
        ls = subprocess.run([sys.executable, "-m", "canary.cli", "rollouts", "list", "rollouts",
                             "-n", "default"], env=env, capture_output=True, text=True,
                            timeout=60)
        assert ls.returncode == 0, ls.stdout + ls.stderr

    finally:
        subprocess.run([*canary, "down", "--dir", str(sandbox)], capture_output=True,
                       timeout=60)


def _merged_exec_kubeconfig(sandbox_kubeconfig: Path, tmp_path: Path) -> str:
    """``a:b``: ``a`` holds an unreachable cluster and no current-context; ``b`` the sandbox's
    context, whose user is an exec plugin (as EKS, GKE and AKS write them)."""
    doc = yaml.safe_load(sandbox_kubeconfig.read_text())
    token = doc["users"][0]["user"]["token"]
    plugin = tmp_path / "get-token"
    plugin.write_text("#!/bin/sh\ncat <<EOF\n" + json.dumps({
        "apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
        "status": {"token": token}}) + "\nEOF\n")
    plugin.chmod(0o755)
    doc["users"][0]["user"] = {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin),
        "interactiveMode": "Never"}}
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "prod", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "prod", "user": {"token": "x"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}]}))
    b.write_text(yaml.safe_dump(doc))
    return f"{a}{os.pathsep}{b}"
