"""The node agent against the real sandbox API server, both run as processes in tmp_path.

What a user notices: Deployments become Available and ``kubectl rollout status`` succeeds, pods
answer on their own 127.1.x.y address, Endpoints follow ready pods, image changes roll out,
unknown images back off, killed processes come back and scaling to 0 stops them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from support.poll import wait_for

from canary.kube.client import KubeClient, KubeConfig

# what "not yet" looks like while things start
TRANSIENT = (requests.RequestException, KeyError, IndexError, TypeError, ValueError)

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "node-agent-test-token"
PODINFO = "quay.io/stefanprodan/podinfo"





class Sandbox:
    """An API server and a node agent, as the launcher runs them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: dict[str, subprocess.Popen] = {}
        root.mkdir(parents=True, exist_ok=True)
        (root / "config.json").write_text(json.dumps({"time_scale": 0.05, "token": TOKEN}))
        (root / "logs").mkdir(exist_ok=True)

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.root / "logs" / f"{name}.log", "ab")  # noqa: SIM115
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        self._spawn("apiserver", "canary.sandbox.apiserver", "--dir", str(self.root),
                    "--port", "0", "--token", TOKEN)
        cfg = wait_for("the API server's port", lambda: self.config().get("api_port"), 20,
                       ignore=TRANSIENT)
        self.client = KubeClient(KubeConfig(server=f"http://127.0.0.1:{cfg}", token=TOKEN))
        wait_for("the API server", lambda: self.client.request("GET", "/api").ok, 20,
                 ignore=TRANSIENT)
        self.write_kubeconfig()
        self.start_agent()

    def start_agent(self) -> subprocess.Popen:
        return self._spawn("node", "canary.sandbox.node", "--dir", str(self.root))

    def config(self) -> dict:
        try:
            return json.loads((self.root / "config.json").read_text())
        except ValueError:
            return {}

    def write_kubeconfig(self) -> None:
        cfg = self.config()
        cluster: dict[str, Any] = {"server": f"https://127.0.0.1:{cfg['api_port']}"}
        if cfg.get("api_ca_file"):
            cluster["certificate-authority"] = cfg["api_ca_file"]
        else:
            cluster["insecure-skip-tls-verify"] = True
        doc = {"apiVersion": "v1", "kind": "Config",
               "clusters": [{"name": "s", "cluster": cluster}],
               "users": [{"name": "s", "user": {"token": TOKEN}}],
               "contexts": [{"name": "s", "context": {"cluster": "s", "user": "s"}}],
               "current-context": "s"}
        (self.root / "kubeconfig").write_text(yaml.safe_dump(doc))

    def kubectl(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(["kubectl", "--kubeconfig", str(self.root / "kubeconfig"), *args],
                              capture_output=True, text=True, timeout=timeout)

    def pod_processes(self) -> dict[str, dict]:
        try:
            data = json.loads((self.root / "node" / "processes.json").read_text())
        except (OSError, ValueError):
            return {}
        return data.get("processes") or {}

    def stop(self) -> None:
        node = self.procs.get("node")
        if node is not None and node.poll() is None:
            node.send_signal(signal.SIGTERM)
            try:
                node.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for pid in self.pod_processes():  # whatever the agent could not stop
            _killpg(int(pid))
        for proc in self.procs.values():
            _killpg(proc.pid)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sb = Sandbox(tmp_path_factory.mktemp("node-sandbox"))
    (sb.root / "images.yaml").write_text(yaml.safe_dump({"images": [
        {"image": "example.com/web:*", "command": [sys.executable, "-m", "http.server"]},
        {"image": "example.com/crash:*",
         "command": [sys.executable, "-c", "import sys; sys.exit(3)"]},
        {"image": "example.com/true:*", "command": [sys.executable, "-c", "pass"]}]}))
    try:
        sb.start()
        yield sb
    finally:
        sb.stop()


def namespace(sb: Sandbox, name: str) -> str:
    sb.client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def podinfo_deployment(ns: str, name: str = "podinfo", replicas: int = 2,
                       image: str = f"{PODINFO}:1.7.0", **spec: Any) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{
                         "name": "podinfod", "image": image,
                         "command": ["./podinfo", "--port=9898"],
                         "ports": [{"name": "http", "containerPort": 9898}],
                         "readinessProbe": {"httpGet": {"path": "/readyz", "port": 9898},
                                            "periodSeconds": 2}}]}},
                     **spec}}


def service(ns: str, name: str = "podinfo") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": name},
                     "ports": [{"name": "http", "port": 9898, "targetPort": "http"}]}}


def pods(sb: Sandbox, ns: str, app: str = "podinfo") -> list[dict]:
    return sb.client.items("v1", "Pod", ns, label_selector=f"app={app}")


def ready_ips(sb: Sandbox, ns: str, name: str = "podinfo") -> list[str]:
    ep = sb.client.get_or_none("v1", "Endpoints", name, ns) or {}
    return sorted(a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or [])


def condition(obj: dict, type_: str) -> dict:
    return next(c for c in obj["status"].get("conditions") or [] if c["type"] == type_)


def rollout(sb: Sandbox, ns: str, name: str = "podinfo") -> subprocess.CompletedProcess:
    return sb.kubectl("-n", ns, "rollout", "status", f"deployment/{name}", "--timeout=30s",
                      timeout=40)


def test_deployment_becomes_available_and_pods_serve_on_their_own_ips(sandbox: Sandbox):
    ns = namespace(sandbox, "avail")
    sandbox.client.create(service(ns))
    sandbox.client.create(podinfo_deployment(ns))
    r = rollout(sandbox, ns)
    assert r.returncode == 0, r.stderr + r.stdout
    assert 'deployment "podinfo" successfully rolled out' in r.stdout

    d = sandbox.client.get("apps/v1", "Deployment", "podinfo", ns)
    st = d["status"]
    assert st["observedGeneration"] == d["metadata"]["generation"]
    assert (st["replicas"], st["updatedReplicas"], st["readyReplicas"],
            st["availableReplicas"]) == (2, 2, 2, 2)
    assert condition(d, "Available")["reason"] == "MinimumReplicasAvailable"
    progressing = condition(d, "Progressing")
    assert progressing["reason"] == "NewReplicaSetAvailable"
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"

    [rs] = sandbox.client.items("apps/v1", "ReplicaSet", ns)
    h = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"podinfo-{h}"
    assert progressing["message"] == f'ReplicaSet "podinfo-{h}" has successfully progressed.'
    assert rs["metadata"]["ownerReferences"][0]["uid"] == d["metadata"]["uid"]

    ps = pods(sandbox, ns)
    ips = sorted(p["status"]["podIP"] for p in ps)
    assert len(set(ips)) == 2 and all(ip.startswith("127.1.") for ip in ips)
    for p in ps:
        assert p["metadata"]["name"].startswith(f"podinfo-{h}-")
        assert p["status"]["phase"] == "Running" and p["spec"]["nodeName"] == "sandbox"
        assert condition(p, "Ready")["status"] == "True"
        version = requests.get(f"http://{p['status']['podIP']}:9898/version", timeout=5).json()
        assert version["version"] == "1.7.0"
    assert wait_for("endpoints", lambda: ready_ips(sandbox, ns) == ips, ignore=TRANSIENT)
    [sl] = sandbox.client.items("discovery.k8s.io/v1", "EndpointSlice", ns)
    assert sl["metadata"]["labels"]["kubernetes.io/service-name"] == "podinfo"
    assert sorted(e["addresses"][0] for e in sl["endpoints"]) == ips


def test_set_image_rolls_out_a_new_replicaset(sandbox: Sandbox):
    ns = namespace(sandbox, "roll")
    sandbox.client.create(service(ns))
    sandbox.client.create(podinfo_deployment(ns, replicas=3))
    assert rollout(sandbox, ns).returncode == 0
    r = sandbox.kubectl("-n", ns, "set", "image", "deployment/podinfo",
                        f"podinfod={PODINFO}:1.7.1")
    assert r.returncode == 0, r.stderr
    r = rollout(sandbox, ns)
    assert r.returncode == 0, r.stderr + r.stdout

    rss = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs
           for rs in sandbox.client.items("apps/v1", "ReplicaSet", ns)}
    assert rss["1"]["spec"]["replicas"] == 0 and rss["2"]["spec"]["replicas"] == 3
    new_hash = rss["2"]["metadata"]["labels"]["pod-template-hash"]
    live = wait_for("old pods gone", lambda: [p for p in pods(sandbox, ns)] if len(
        pods(sandbox, ns)) == 3 else None, ignore=TRANSIENT)
    for p in live:
        assert p["metadata"]["labels"]["pod-template-hash"] == new_hash
        got = requests.get(f"http://{p['status']['podIP']}:9898/version", timeout=5).json()
        assert got["version"] == "1.7.1"
    assert wait_for("endpoints on the new pods", lambda: ready_ips(sandbox,
                    ns) == sorted(p["status"]["podIP"]
                                                             for p in live), ignore=TRANSIENT)

    def scaling_events() -> list[str]:
        return [e["message"] for e in sandbox.client.items("v1", "Event", ns)
                if e["reason"] == "ScalingReplicaSet"]

    old_name = rss["1"]["metadata"]["name"]
    scaling = wait_for("the last ScalingReplicaSet event", lambda: scaling_events() if any(
        m.startswith(f"Scaled down replica set {old_name} to 0") for m in scaling_events())
        else None, ignore=TRANSIENT)
    assert f"Scaled up replica set podinfo-{new_hash} to 1" in scaling

    # rollout undo brings the first ReplicaSet back as revision 3 (no new ReplicaSet)
    r = sandbox.kubectl("-n", ns, "rollout", "undo", "deployment/podinfo")
    assert r.returncode == 0, r.stderr
    assert rollout(sandbox, ns).returncode == 0
    after = {rs["metadata"]["name"]: rs for rs in sandbox.client.items("apps/v1", "ReplicaSet", ns)}
    assert set(after) == {old_name, f"podinfo-{new_hash}"}
    assert after[old_name]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert after[old_name]["spec"]["replicas"] == 3


def test_unknown_image_backs_off_without_hurting_the_agent(sandbox: Sandbox):
    ns = namespace(sandbox, "badimage")
    sandbox.client.create(podinfo_deployment(ns, replicas=1, image="example.invalid/nope:1"))

    def backing_off() -> bool:
        [p] = pods(sandbox, ns)
        w = p["status"]["containerStatuses"][0]["state"].get("waiting") or {}
        return p["status"]["phase"] == "Pending" and w.get("reason") == "ImagePullBackOff"

    wait_for("ImagePullBackOff", backing_off, ignore=TRANSIENT)
    r = sandbox.kubectl("-n", ns, "get", "pods")
    assert "ImagePullBackOff" in r.stdout or "ErrImagePull" in r.stdout, r.stdout
    events = sandbox.client.items("v1", "Event", ns)
    assert any(e["reason"] == "Failed" and e["type"] == "Warning"
               and 'Failed to pull image "example.invalid/nope:1"' in e["message"]
               for e in events)
    d = sandbox.client.get("apps/v1", "Deployment", "podinfo", ns)
    assert condition(d, "Available")["status"] == "False"
    assert sandbox.procs["node"].poll() is None


def test_killed_process_is_restarted_and_endpoints_recover(sandbox: Sandbox):
    ns = namespace(sandbox, "crash")
    sandbox.client.create(service(ns))
    sandbox.client.create(podinfo_deployment(ns, replicas=2))
    assert rollout(sandbox, ns).returncode == 0
    ips = wait_for("two ready endpoints", lambda: ready_ips(sandbox, ns) if len(ready_ips(sandbox,
                   ns)) == 2 else None, ignore=TRANSIENT)
    victim = pods(sandbox, ns)[0]
    name = victim["metadata"]["name"]
    [pid] = [int(pid) for pid, info in sandbox.pod_processes().items() if info["pod"] == name]
    os.kill(pid, signal.SIGKILL)

    def restarted() -> dict | None:
        p = sandbox.client.get("v1", "Pod", name, ns)
        cs = p["status"]["containerStatuses"][0]
        return cs if cs["restartCount"] == 1 and cs["ready"] else None

    cs = wait_for("the restart", restarted, ignore=TRANSIENT)
    assert cs["lastState"]["terminated"]["exitCode"] == 137
    assert "running" in cs["state"]
    assert wait_for("endpoints recover", lambda: ready_ips(sandbox, ns) == ips, ignore=TRANSIENT)
    ip = victim["status"]["podIP"]
    assert requests.get(f"http://{ip}:9898/version", timeout=5).json()["version"] == "1.7.0"


def test_scaling_to_zero_stops_the_processes(sandbox: Sandbox):
    ns = namespace(sandbox, "scale")
    sandbox.client.create(podinfo_deployment(ns, replicas=2))
    assert rollout(sandbox, ns).returncode == 0
    pids = [int(p) for p, info in sandbox.pod_processes().items() if info["namespace"] == ns]
    assert len(pids) == 2
    r = sandbox.kubectl("-n", ns, "scale", "deployment/podinfo", "--replicas=0")
    assert r.returncode == 0, r.stderr
    wait_for("no pods", lambda: not pods(sandbox, ns), ignore=TRANSIENT)
    wait_for("processes gone", lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids)
             and not any(i["namespace"] == ns for i in sandbox.pod_processes().values()),
             ignore=TRANSIENT)
    assert rollout(sandbox, ns).returncode == 0
    d = sandbox.client.get("apps/v1", "Deployment", "podinfo", ns)
    assert d["status"].get("replicas", 0) == 0
    assert condition(d, "Available")["status"] == "True"


def test_user_image_runs_mapped_command_with_pod_env(sandbox: Sandbox):
    ns = namespace(sandbox, "userimg")
    sandbox.client.create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                     "name": "web", "image": "example.com/web:2",
                     "args": ["--bind", "$(MY_IP)", "$(PORT)"],
                     "env": [{"name": "PORT", "value": "8080"},
                             {"name": "MY_IP",
                              "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                     "ports": [{"containerPort": 8080}]}]}}}})
    assert rollout(sandbox, ns, "web").returncode == 0
    [p] = pods(sandbox, ns, "web")
    assert requests.get(f"http://{p['status']['podIP']}:8080/", timeout=5).status_code == 200
    log = sandbox.root / "logs" / "pods" / f"{ns}_{p['metadata']['name']}_web.log"
    assert wait_for("the pod log", lambda: "GET / HTTP" in log.read_text(), ignore=TRANSIENT)


def test_restarted_agent_replaces_stale_processes_and_keeps_pod_ips(tmp_path: Path):
    sb = Sandbox(tmp_path / "sb")
    try:
        sb.start()
        ns = namespace(sb, "restart")
        sb.client.create(podinfo_deployment(ns, replicas=1))
        assert rollout(sb, ns).returncode == 0
        [p] = pods(sb, ns)
        [old_pid] = [int(x) for x in sb.pod_processes()]
        os.killpg(sb.procs["node"].pid, signal.SIGKILL)  # the agent dies, its pods live on
        sb.procs["node"].wait(timeout=5)
        assert Path(f"/proc/{old_pid}").exists()
        sb.start_agent()
        wait_for("the stale process killed", lambda: not Path(f"/proc/{old_pid}").exists()
                 or Path(f"/proc/{old_pid}/stat").read_text().split(") ")[1][0] == "Z",
                 ignore=TRANSIENT)
        ip = p["status"]["podIP"]
        got = wait_for("the pod serving again", lambda: requests.get(
            f"http://{ip}:9898/version", timeout=1).json(), ignore=TRANSIENT)
        assert got["version"] == "1.7.0"
        assert [int(x) for x in sb.pod_processes()] != [old_pid]
        assert sb.client.get("v1", "Pod", p["metadata"]["name"], ns)["status"]["podIP"] == ip
    finally:
        sb.stop()


def test_crashing_container_goes_into_crash_loop_back_off(sandbox: Sandbox):
    ns = namespace(sandbox, "crashloop")
    sandbox.client.create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crasher", "namespace": ns},
        "spec": {"containers": [{"name": "c", "image": "example.com/crash:1"}]}})

    def looping() -> dict | None:
        cs = sandbox.client.get("v1", "Pod", "crasher", ns)["status"]["containerStatuses"][0]
        w = cs["state"].get("waiting") or {}
        return cs if w.get("reason") == "CrashLoopBackOff" and cs["restartCount"] >= 1 else None

    cs = wait_for("CrashLoopBackOff", looping, ignore=TRANSIENT)
    assert cs["lastState"]["terminated"]["exitCode"] == 3
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert "back-off 10s restarting failed container=c pod=crasher_crashloop" in \
        cs["state"]["waiting"]["message"]
    pod = sandbox.client.get("v1", "Pod", "crasher", ns)
    assert pod["status"]["phase"] == "Running"  # restarting, as the kubelet reports it
    assert condition(pod, "Ready")["status"] == "False"


def test_readiness_and_liveness_probes_drive_endpoints_and_restarts(sandbox: Sandbox):
    ns = namespace(sandbox, "probes")
    sandbox.client.create(service(ns))
    sandbox.client.create(podinfo_deployment(ns, replicas=1))
    assert rollout(sandbox, ns).returncode == 0
    [p] = pods(sandbox, ns)
    ip = p["status"]["podIP"]
    assert wait_for("ready endpoint", lambda: ready_ips(sandbox, ns) == [ip], ignore=TRANSIENT)
    # podinfo's /readyz/disable makes its readiness probe fail: the pod leaves the endpoints
    requests.post(f"http://{ip}:9898/readyz/disable", timeout=5)

    def not_ready() -> bool:
        ep = sandbox.client.get("v1", "Endpoints", "podinfo", ns)
        return [a["ip"] for s in ep.get("subsets") or []
                for a in s.get("notReadyAddresses") or []] == [ip]

    wait_for("the pod marked not ready", not_ready, ignore=TRANSIENT)
    assert ready_ips(sandbox, ns) == []
    pod = sandbox.client.get("v1", "Pod", p["metadata"]["name"], ns)
    assert condition(pod, "Ready")["status"] == "False"

    # a failing liveness probe restarts the container
    sandbox.client.create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unlive", "namespace": ns},
        "spec": {"containers": [{
            "name": "podinfod", "image": f"{PODINFO}:1.7.0",
            "command": ["./podinfo", "--port=9898"],
            "ports": [{"containerPort": 9898}],
            "startupProbe": {"tcpSocket": {"port": 9898}, "periodSeconds": 1},
            "livenessProbe": {"httpGet": {"path": "/status/500", "port": 9898},
                              "initialDelaySeconds": 5, "periodSeconds": 2,
                              "failureThreshold": 1}}]}})

    def restarted() -> bool:
        cs = sandbox.client.get("v1", "Pod", "unlive", ns)["status"]["containerStatuses"][0]
        return cs["restartCount"] >= 1

    wait_for("the liveness restart", restarted, ignore=TRANSIENT)
    wait_for("the Killing event", lambda: any(
        e["reason"] == "Killing" and "failed liveness probe" in e["message"]
        for e in sandbox.client.items("v1", "Event", ns)), ignore=TRANSIENT)


def test_recreate_stops_old_pods_before_starting_new_ones(sandbox: Sandbox):
    ns = namespace(sandbox, "recreate")
    sandbox.client.create(podinfo_deployment(ns, replicas=2, strategy={"type": "Recreate"}))
    assert rollout(sandbox, ns).returncode == 0
    [old] = sandbox.client.items("apps/v1", "ReplicaSet", ns)
    r = sandbox.kubectl("-n", ns, "set", "image", "deployment/podinfo",
                        f"podinfod={PODINFO}:1.7.1")
    assert r.returncode == 0, r.stderr
    assert rollout(sandbox, ns).returncode == 0
    [new] = [rs for rs in sandbox.client.items("apps/v1", "ReplicaSet", ns)
             if rs["metadata"]["name"] != old["metadata"]["name"]]

    def scaling() -> list[str] | None:
        msgs = [e["message"] for e in sorted(sandbox.client.items("v1", "Event", ns),
                                             key=lambda e: e["metadata"]["name"])
                if e["reason"] == "ScalingReplicaSet"]
        return msgs if len(msgs) == 3 else None

    msgs = wait_for("three ScalingReplicaSet events", scaling, ignore=TRANSIENT)
    assert msgs == [f"Scaled up replica set {old['metadata']['name']} to 2",
                    f"Scaled down replica set {old['metadata']['name']} to 0 from 2",
                    f"Scaled up replica set {new['metadata']['name']} to 2"]


def test_agent_survives_an_api_server_restart_and_keeps_pods_running(tmp_path: Path):
    sb = Sandbox(tmp_path / "sb")
    try:
        sb.start()
        ns = namespace(sb, "apirestart")
        sb.client.create(podinfo_deployment(ns, replicas=1))
        assert rollout(sb, ns).returncode == 0
        [p] = pods(sb, ns)
        ip = p["status"]["podIP"]
        api = sb.procs["apiserver"]
        old_port = sb.config()["api_port"]
        api.send_signal(signal.SIGTERM)
        api.wait(timeout=10)
        # the API is gone: the pod keeps serving
        assert requests.get(f"http://{ip}:9898/version", timeout=5).json()["version"] == "1.7.0"
        sb._spawn("apiserver", "canary.sandbox.apiserver", "--dir", str(sb.root),
                  "--port", "0", "--token", TOKEN)
        port = wait_for("the new port", lambda: sb.config()["api_port"]
                        if sb.config()["api_port"] != old_port else None, 20, ignore=TRANSIENT)
        sb.client = KubeClient(KubeConfig(server=f"http://127.0.0.1:{port}", token=TOKEN))
        wait_for("the API server", lambda: sb.client.request("GET", "/api").ok, 20,
                 ignore=TRANSIENT)
        sb.write_kubeconfig()
        r = sb.kubectl("-n", ns, "scale", "deployment/podinfo", "--replicas=2")
        assert r.returncode == 0, r.stderr
        assert rollout(sb, ns).returncode == 0
        ips = sorted(q["status"]["podIP"] for q in pods(sb, ns))
        assert len(ips) == 2 and ip in ips
        assert sb.procs["node"].poll() is None
    finally:
        sb.stop()


def test_meshed_pods_get_pod_env_and_the_injector_labels(sandbox: Sandbox):
    ns = "meshed"
    sandbox.client.create({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": ns,
                                        "annotations": {"linkerd.io/inject": "enabled"}}})
    sandbox.client.create(podinfo_deployment(ns, replicas=1))
    assert rollout(sandbox, ns).returncode == 0
    [p] = pods(sandbox, ns)
    labels = p["metadata"]["labels"]
    assert labels["linkerd.io/proxy-deployment"] == "podinfo"
    assert labels["linkerd.io/workload-ns"] == ns
    ip = p["status"]["podIP"]
    env = dict(line.split("=", 1)
               for line in requests.get(f"http://{ip}:9898/env", timeout=5).json())
    assert env["POD_IP"] == ip and env["POD_NAME"] == p["metadata"]["name"]
    assert env["POD_NAMESPACE"] == ns and env["CANARY_MESHED"] == "1"
    assert env["CANARY_TIME_SCALE"] == "0.05"
    assert env["CANARY_SANDBOX_DIR"] == str(sandbox.root)


def test_init_containers_run_to_completion_before_the_app(sandbox: Sandbox):
    ns = namespace(sandbox, "init")
    web = {"name": "web", "image": "example.com/web:1",
           "args": ["--bind", "$(MY_IP)", "8080"],
           "env": [{"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
           "ports": [{"containerPort": 8080}]}
    sandbox.client.create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ok", "namespace": ns},
        "spec": {"initContainers": [{"name": "setup", "image": "example.com/true:1"}],
                 "containers": [web]}})
    sandbox.client.create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "broken", "namespace": ns},
        "spec": {"restartPolicy": "Never",
                 "initContainers": [{"name": "setup", "image": "example.com/crash:1"}],
                 "containers": [web]}})

    def phase(name: str, want: str) -> dict | None:
        p = sandbox.client.get("v1", "Pod", name, ns)
        return p if p["status"].get("phase") == want else None

    ok = wait_for("the pod running", lambda: phase("ok", "Running"), ignore=TRANSIENT)
    init = ok["status"]["initContainerStatuses"][0]
    assert init["state"]["terminated"]["exitCode"] == 0
    assert init["state"]["terminated"]["reason"] == "Completed"
    assert condition(ok, "Initialized")["status"] == "True"
    broken = wait_for("the pod failed", lambda: phase("broken", "Failed"), ignore=TRANSIENT)
    assert condition(broken, "Initialized")["status"] == "False"
    assert broken["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    assert broken["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == \
        "PodInitializing"
    r = sandbox.kubectl("-n", ns, "get", "pods")
    assert "Init:Error" in r.stdout, r.stdout
