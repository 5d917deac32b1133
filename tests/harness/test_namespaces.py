"""A namespace per scenario: the seed's words rewritten where Kubernetes tools name a namespace,
nowhere else, and never twice."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from canary.harness.manifests import demo_manifest
from canary.harness.namespaces import MAX_NAME, NamespaceMap, scenario_name

SEED_LINES = [
    ("kubectl create ns test && kubectl annotate ns test linkerd.io/inject=enabled",
     "kubectl create ns test-k3x9q && kubectl annotate ns test-k3x9q linkerd.io/inject=enabled"),
    ("kubectl -n test set image deployment/podinfo podinfod=quay.io/stefanprodan/podinfo:1.7.1",
     "kubectl -n test-k3x9q set image deployment/podinfo "
     "podinfod=quay.io/stefanprodan/podinfo:1.7.1"),
    ("watch linkerd viz -n test stat deploy --from deploy/load",
     "watch linkerd viz -n test-k3x9q stat deploy --from deploy/load"),
    ("kubectl delete ns argo-rollouts && kubectl delete ns test",
     "kubectl delete ns argo-rollouts && kubectl delete ns test-k3x9q"),
    ("kubectl --namespace=test get po", "kubectl --namespace=test-k3x9q get po"),
    ('sum(rate(response_total{namespace="test", direction="inbound"}[1m]))',
     'sum(rate(response_total{namespace="test-k3x9q", direction="inbound"}[1m]))'),
    ('rate(x{kubernetes_namespace!="test"}[1m])',
     'rate(x{kubernetes_namespace!="test-k3x9q"}[1m])'),
    ("url: http://flagger-loadtester.test/", "url: http://flagger-loadtester.test-k3x9q/"),
    ("hey http://podinfo-canary.test:9898/ podinfo.test.svc.cluster.local",
     "hey http://podinfo-canary.test-k3x9q:9898/ podinfo.test-k3x9q.svc.cluster.local"),
    ("Advance podinfo.test canary weight 10", "Advance podinfo.test-k3x9q canary weight 10"),
    ("namespace/test created", "namespace/test-k3x9q created"),
    # not namespaces: left alone
    ("test/linkerd/test-canary.sh and app.test.js", "test/linkerd/test-canary.sh and app.test.js"),
    ("kubectl -n linkerd-viz get po", "kubectl -n linkerd-viz get po"),
    ("the load test passed", "the load test passed"),
]


@pytest.mark.parametrize(("written", "expected"), SEED_LINES)
def test_commands_queries_and_messages(written: str, expected: str) -> None:
    names = NamespaceMap(token="k3x9q")
    names.actual("test")
    once = names.text(written)
    assert once == expected
    assert names.text(once) == once  # idempotent: test-k3x9q is not read as test


def test_step_arguments_follow_the_step_text() -> None:
    names = NamespaceMap(token="ab12c")
    step = 'the canary "podinfo" in namespace "test" reaches phase "Succeeded"'
    assert names.argument("test", step) == "test-ab12c"
    assert names.argument("podinfo", step) == "podinfo"
    assert names.argument("flagger-system", 'namespace "flagger-system"') == "flagger-system"
    assert names.argument(["test", "x"], step) == ["test-ab12c", "x"]


def test_as_written_changes_nothing() -> None:
    names = NamespaceMap(enabled=False)
    text = demo_manifest().read_text()
    assert names.manifest(text) == text
    assert names.argument("test", 'namespace "test"') == "test"


def test_the_packaged_demo_lands_in_the_scenarios_namespace() -> None:
    names = NamespaceMap(token="zz9zz")
    names.actual("test")
    docs = [d for d in yaml.safe_load_all(names.manifest(demo_manifest().read_text())) if d]
    assert {d["metadata"].get("namespace") for d in docs} == {"test-zz9zz"}
    assert "podinfo.test:" not in names.manifest(demo_manifest().read_text())


def test_a_namespace_object_is_renamed() -> None:
    names = NamespaceMap(token="q1w2e")
    out = names.manifest("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: test\n---\n"
                         "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: linkerd-viz\n")
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(out)] == ["test-q1w2e",
                                                                        "linkerd-viz"]


def test_long_names_stay_dns_labels() -> None:
    name = scenario_name("n" * 70, "abcde")
    assert len(name) == MAX_NAME and name.endswith("-abcde")


def test_tokens_differ_per_scenario() -> None:
    assert len({NamespaceMap().actual("test") for _ in range(50)}) == 50


def test_engine_handle_follows_the_state_file(tmp_path: Path) -> None:
    """An attached environment (a pytest-xdist worker) sees the engine another process
    started, and can stop it; the state file goes with it."""
    import sys

    from canary.harness.engine_process import EngineProcess

    log = tmp_path / "engine.log"
    started = EngineProcess([sys.executable, "-c", "import time; time.sleep(30)"], log)
    started.start(settle=0.1)
    adopted = EngineProcess.adopt(log)
    assert adopted is not None and adopted.pid == started.pid and adopted.alive
    adopted.stop(timeout=5)
    assert started.proc is not None and started.proc.wait(5) is not None
    assert EngineProcess.adopt(log) is None


def test_an_exclusive_scenario_waits_for_shared_ones(tmp_path: Path) -> None:
    import fcntl
    import os

    from canary.harness.scenario_lock import ScenarioLock

    other = ScenarioLock(tmp_path).shared()
    probe = os.open(tmp_path / "scenarios.lock", os.O_RDWR)
    with pytest.raises(BlockingIOError):  # a shared holder keeps an exclusive one out
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    other.release()
    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(probe)
