"""Environment drivers: the commands they would run, and their refusals (no cluster needed)."""

import subprocess
import sys
from pathlib import Path

import pytest

from canary.harness.engine_process import EngineProcess, engine_command
from canary.harness.environments import (
    EnvironmentUnavailable,
    ExistingEnvironment,
    SandboxEnvironment,
    kind_missing_tools,
    kind_setup_plan,
    minify_kubeconfig_command,
    parse_forwarded_port,
    port_forward_command,
    run_pipeline,
    split_service_url,
)
from canary.harness.manifests import DEMO_URL, demo_manifest, local_url_map, resolve_manifest

REPO = Path(__file__).resolve().parents[2]


def test_kind_plan_installs_gateway_api_linkerd_and_viz_in_order():
    plan = kind_setup_plan("bundled", crd_files=[Path("/crds/canary.yaml")])
    text = [" | ".join(" ".join(stage) for stage in p) for p in plan]
    assert text[0].startswith("kubectl apply --server-side -f https://github.com/kubernetes-sigs/"
                              "gateway-api/releases/download/")
    assert text[1:5] == ["linkerd install --crds | kubectl apply -f -",
                         "linkerd install | kubectl apply -f -",
                         "linkerd check",
                         "linkerd viz install | kubectl apply -f -"]
    assert "linkerd viz check" in text
    assert text[-1] == "kubectl apply -f /crds/canary.yaml"


def test_kind_plan_for_real_flagger_and_argo():
    flagger = [" ".join(p[0]) for p in kind_setup_plan("flagger")]
    assert "kubectl apply -k github.com/fluxcd/flagger//kustomize/linkerd" in flagger
    argo = [" ".join(p[0]) for p in kind_setup_plan("argo-rollouts")]
    assert any("argo-rollouts" in c and "install.yaml" in c for c in argo)
    with pytest.raises(ValueError, match="--implementation"):
        kind_setup_plan("istio")


def test_port_forward_binds_loopback_and_parses_the_local_port():
    cmd = port_forward_command("svc/prometheus", "linkerd-viz", 9090)
    assert cmd == ["kubectl", "-n", "linkerd-viz", "port-forward", "--address", "127.0.0.1",
                   "svc/prometheus", "0:9090"]
    assert parse_forwarded_port("Forwarding from 127.0.0.1:41234 -> 9090") == 41234
    assert parse_forwarded_port("Handling connection for 9090") is None


def test_in_cluster_urls_split_into_service_namespace_port():
    assert split_service_url("http://prometheus.linkerd-viz:9090/api/v1/query?q=1", None) == \
        ("prometheus", "linkerd-viz", 9090, "/api/v1/query?q=1")
    assert split_service_url("http://frontend:8080/", "test") == ("frontend", "test", 8080, "/")


def test_engine_command_line():
    cmd = engine_command(Path("/s/kubeconfig"), 0.05, sandbox_dir=Path("/s"), python="py")
    assert cmd == ["py", "-m", "canary.cli", "engine", "--kubeconfig", "/s/kubeconfig",
                   "--time-scale", "0.05", "--log-format", "json", "--sandbox-dir", "/s"]
    cmd = engine_command(Path("k"), 1.0, context="kind-x", metrics_server="http://127.0.0.1:5")
    assert cmd[-4:] == ["--context", "kind-x", "--metrics-server", "http://127.0.0.1:5"]


def test_engine_that_dies_at_start_is_reported_with_its_log(tmp_path):
    proc = EngineProcess([sys.executable, "-c", "import sys; print('bad flag'); sys.exit(2)"],
                         tmp_path / "engine.log")
    with pytest.raises(RuntimeError, match="(?s)exited at start.*bad flag"):
        proc.start(settle=2.0)


def test_engine_process_stops_on_sigterm(tmp_path):
    proc = EngineProcess([sys.executable, "-c", "import time; time.sleep(60)"],
                         tmp_path / "engine.log").start(settle=0.1)
    assert proc.alive
    assert proc.stop(timeout=10) is not None and not proc.alive


def test_existing_cluster_is_refused_without_the_flag(tmp_path):
    env = ExistingEnvironment(1.0, tmp_path, "/nonexistent", None, allowed=False)
    with pytest.raises(EnvironmentUnavailable, match="--allow-existing-cluster"):
        env.start()


def test_existing_cluster_gets_a_private_single_context_kubeconfig():
    assert minify_kubeconfig_command("/k", "staging") == [
        "kubectl", "config", "view", "--minify", "--flatten", "--raw", "--kubeconfig", "/k",
        "--context", "staging"]


def test_kind_reports_missing_tools():
    missing = kind_missing_tools()
    assert isinstance(missing, list)
    assert all(t in ("docker", "kind", "kubectl", "linkerd") for t in missing)


def test_pipeline_failure_names_the_stage():
    assert run_pipeline([["printf", "a\\nb\\n"], ["wc", "-l"]], env={"PATH": "/usr/bin:/bin"}) \
        .strip() == "2"
    with pytest.raises(EnvironmentUnavailable, match="at `false`"):
        run_pipeline([["echo", "x"], ["false"]], env={"PATH": "/usr/bin:/bin"})


def test_demo_manifest_matches_the_repo_fixture_and_the_tutorial():
    import yaml

    packaged = demo_manifest().read_text()
    assert packaged == (REPO / "fixtures" / "manifests" / "podinfo-demo.yaml").read_text()
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(packaged) if d}
    assert set(docs) == {("Deployment", "load"), ("ConfigMap", "frontend"),
                         ("Deployment", "frontend"), ("Service", "frontend"),
                         ("Deployment", "podinfo"), ("Service", "podinfo")}
    pod = docs[("Deployment", "podinfo")]["spec"]["template"]
    assert pod["metadata"]["annotations"]["linkerd.io/inject"] == "enabled"
    c = pod["spec"]["containers"][0]
    assert (c["name"], c["image"]) == ("podinfod", "quay.io/stefanprodan/podinfo:1.7.0")
    load = docs[("Deployment", "load")]["spec"]["template"]["spec"]["containers"][0]
    assert load["image"] == "buoyantio/slow_cooker:1.2.0"
    assert {e["name"]: e["value"] for e in load["env"]} == {"QPS": "10", "CONCURRENCY": "1"}


def test_tutorial_url_is_served_from_the_packaged_copy_on_the_sandbox(tmp_path):
    env = SandboxEnvironment(0.05, tmp_path)
    cmd = env.rewrite_command(f"kubectl create ns test && kubectl apply -f {DEMO_URL}")
    assert cmd == f"kubectl create ns test && kubectl apply -f {local_url_map()[DEMO_URL]}"


def test_manifests_resolve_relative_then_packaged(tmp_path):
    (tmp_path / "mine.yaml").write_text("kind: x")
    assert resolve_manifest("mine.yaml", [tmp_path]) == (tmp_path / "mine.yaml").resolve()
    assert resolve_manifest("podinfo-canary.yaml", [tmp_path]).name == "podinfo-canary.yaml"
    with pytest.raises(FileNotFoundError, match="nor among the packaged manifests"):
        resolve_manifest("nope.yaml", [tmp_path])


def test_kubectl_is_the_stock_binary():
    out = subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0
