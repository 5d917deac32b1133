"""Acceptance through the stock kubectl: the seed's commands against a fresh sandbox API server."""

from __future__ import annotations

import json

from support import CRDS
from support.apiserver import ApiServer, read_lines_until
from support.poll import wait_for

# The seed's Canary + MetricTemplate heredoc, verbatim ("Configure the release").
SEED_CANARY = (CRDS.parent / "podinfo-canary.yaml").read_text()

PODINFO = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: {ns}
  labels:
    app: podinfo
spec:
  selector:
    matchLabels:
      app: podinfo
  template:
    metadata:
      annotations:
        linkerd.io/inject: enabled
      labels:
        app: podinfo
    spec:
      containers:
      - name: podinfod
        image: quay.io/stefanprodan/podinfo:1.7.0
        imagePullPolicy: IfNotPresent
        ports:
        - containerPort: 9898
        command: ["./podinfo", "--port=9898"]
      - name: sidecar
        image: busybox:1.36
        command: ["sleep", "infinity"]
"""


def _deploy(api: ApiServer, ns: str, name: str = "podinfo") -> dict:
    return json.loads(api.kubectl("-n", ns, "get", "deploy", name, "-o", "json").stdout)


def test_seed_canary_applies_and_prints_flagger_columns(apiserver: ApiServer) -> None:
    assert "namespace/test created" in apiserver.kubectl("create", "ns", "test").stdout
    out = apiserver.kubectl("apply", "-f", str(CRDS)).stdout
    assert "canaries.flagger.app created" in out
    assert "httproutes.gateway.networking.k8s.io created" in out
    out = apiserver.kubectl("apply", "-f", "-", input=SEED_CANARY).stdout
    assert "canary.flagger.app/podinfo created" in out
    assert "metrictemplate.flagger.app/success-rate created" in out
    lines = apiserver.kubectl("-n", "test", "get", "canary").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "WEIGHT", "LASTTRANSITIONTIME"]
    assert lines[1].split()[0] == "podinfo"
    # the CRDs are established, as `kubectl wait` checks
    apiserver.kubectl("wait", "--for", "condition=established", "--timeout=5s",
                      "crd/canaries.flagger.app")
    # HTTPRoute is served at v1 and v1beta1
    for v in ("v1", "v1beta1"):
        apiserver.kubectl("get", f"httproutes.{v}.gateway.networking.k8s.io", "-A")
    # applying the seed again changes nothing
    out = apiserver.kubectl("apply", "-f", "-", input=SEED_CANARY).stdout
    assert "canary.flagger.app/podinfo unchanged" in out


def test_deployment_apply_set_image_and_three_way_apply(apiserver: ApiServer) -> None:
    ns = "deploy-apply"
    apiserver.kubectl("create", "ns", ns)
    manifest = PODINFO.format(ns=ns)
    apiserver.kubectl("apply", "-f", "-", input=manifest)
    first = _deploy(apiserver, ns)
    assert first["metadata"]["generation"] == 1
    assert first["spec"]["replicas"] == 1
    assert first["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%",
                                                          "maxUnavailable": "25%"}

    out = apiserver.kubectl("apply", "-f", "-", input=manifest).stdout
    assert "unchanged" in out
    assert _deploy(apiserver, ns)["metadata"]["resourceVersion"] == \
        first["metadata"]["resourceVersion"]

    apiserver.kubectl("-n", ns, "set", "image", "deployment/podinfo",
                      "podinfod=quay.io/stefanprodan/podinfo:1.7.1")
    after = _deploy(apiserver, ns)
    assert after["metadata"]["generation"] == 2
    before_c = first["spec"]["template"]["spec"]["containers"]
    after_c = after["spec"]["template"]["spec"]["containers"]
    assert after_c[0]["image"] == "quay.io/stefanprodan/podinfo:1.7.1"
    assert {**after_c[0], "image": before_c[0]["image"]} == before_c[0]
    assert after_c[1] == before_c[1]

    # out-of-band change (a label the file does not own) survives a re-apply, while the
    # image the file owns goes back to what the file says: kubectl's three-way patch
    apiserver.kubectl("-n", ns, "label", "deploy", "podinfo", "team=blue")
    apiserver.kubectl("-n", ns, "scale", "deploy", "podinfo", "--replicas=3")
    out = apiserver.kubectl("apply", "-f", "-", input=manifest).stdout
    assert "configured" in out
    final = _deploy(apiserver, ns)
    assert final["metadata"]["labels"] == {"app": "podinfo", "team": "blue"}
    assert final["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.7.0")
    assert final["spec"]["replicas"] == 3  # not in the file: left alone
    assert final["metadata"]["generation"] == 4  # set image, scale, re-apply


def test_get_watch_streams_later_changes(apiserver: ApiServer) -> None:
    ns = "watching"
    apiserver.kubectl("create", "ns", ns)
    apiserver.kubectl("apply", "-f", "-", input=PODINFO.format(ns=ns))

    def event(name: str, message: str) -> str:
        return json.dumps({
            "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
            "involvedObject": {"kind": "Canary", "name": "podinfo", "namespace": ns,
                               "apiVersion": "flagger.app/v1beta1"},
            "reason": "Synced", "type": "Normal", "message": message,
            "source": {"component": "flagger"}})

    apiserver.kubectl("-n", ns, "create", "-f", "-", input=event("first", "New revision"))
    ev_watch = apiserver.kubectl_stream("-n", ns, "get", "ev", "--watch")
    deploy_watch = apiserver.kubectl_stream("-n", ns, "get", "deploy", "-w")
    try:
        # each prints what exists; it then watches from its list's resourceVersion
        read_lines_until(ev_watch, lambda ls: any("New revision" in x for x in ls), 10)
        read_lines_until(deploy_watch, lambda ls: any("podinfo" in x for x in ls), 10)
        apiserver.kubectl("-n", ns, "create", "-f", "-",
                          input=event("second", f"Initialization done! podinfo.{ns}"))
        apiserver.kubectl("-n", ns, "scale", "deploy", "podinfo", "--replicas=2")
        ev_lines = read_lines_until(
            ev_watch, lambda ls: any("Initialization done!" in line for line in ls), 10)
        dep_lines = read_lines_until(
            deploy_watch, lambda ls: any(x.startswith("podinfo") for x in ls), 10)
    finally:
        ev_watch.kill()
        deploy_watch.kill()
        ev_watch.wait()
        deploy_watch.wait()
    synced = [line for line in ev_lines if "Initialization done!" in line]
    assert synced and "Synced" in synced[0] and "canary/podinfo" in synced[0]
    rows = [line for line in dep_lines if line.startswith("podinfo")]
    assert rows and rows[-1].split()[1] == "0/2"  # READY column shows the new desired count


def test_delete_namespace_removes_everything_and_watch_sees_it(apiserver: ApiServer) -> None:
    ns = "doomed"
    apiserver.kubectl("create", "ns", ns)
    apiserver.kubectl("apply", "-f", "-", input=PODINFO.format(ns=ns))
    apiserver.kubectl("-n", ns, "create", "configmap", "cfg", "--from-literal=a=b")
    apiserver.kubectl("-n", ns, "apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "podinfo"},
        "spec": {"selector": {"app": "podinfo"}, "ports": [{"port": 9898}]}}))
    watches = {kind: apiserver.kubectl_stream("get", kind, "-n", ns, "-w",
                                              "--output-watch-events", "--no-headers")
               for kind in ("deploy", "cm", "svc")}
    lines: dict[str, list[str]] = {}
    try:
        for w in watches.values():
            read_lines_until(w, lambda ls: any("ADDED" in line for line in ls), 10)
        out = apiserver.kubectl("delete", "ns", ns, timeout=30).stdout
        assert f'namespace "{ns}" deleted' in out
        for kind, w in watches.items():
            lines[kind] = read_lines_until(
                w, lambda ls: any("DELETED" in line for line in ls), 10)
    finally:
        for w in watches.values():
            w.kill()
            w.wait()
    assert any("DELETED" in x and "podinfo" in x for x in lines["deploy"])
    assert any("DELETED" in x and "cfg" in x for x in lines["cm"])
    assert any("DELETED" in x and "podinfo" in x for x in lines["svc"])
    assert apiserver.kubectl("get", "ns", ns, check=False).returncode != 0
    assert wait_for("the condition", lambda: "No resources found" in apiserver.kubectl(
        "get", "all,cm", "-n", ns, check=False).stderr)


def test_kubectl_logs_reads_the_node_agents_log_file(apiserver: ApiServer) -> None:
    ns = "logs"
    apiserver.kubectl("create", "ns", ns)
    apiserver.kubectl("-n", ns, "apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}))
    log = apiserver.dir / "logs" / "pods" / f"{ns}_p_c.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("one\ntwo\nthree\n")
    assert apiserver.kubectl("-n", ns, "logs", "p").stdout == "one\ntwo\nthree\n"
    assert apiserver.kubectl("-n", ns, "logs", "p", "--tail=1").stdout == "three\n"
    pod = json.loads(apiserver.kubectl("-n", ns, "get", "pod", "p", "-o", "json").stdout)
    assert pod["status"]["phase"] == "Pending"
    assert pod["spec"]["serviceAccountName"] == "default"
    assert "default" in apiserver.kubectl("-n", ns, "get", "sa").stdout


def test_kubectl_typed_create_commands(apiserver: ApiServer) -> None:
    """These send protobuf bodies; the server decodes them like JSON."""
    ns = "typed"
    apiserver.kubectl("create", "namespace", ns)
    apiserver.kubectl("-n", ns, "create", "deployment", "ghost",
                      "--image=registry.invalid/ghost:1.0", "--port=8080", "--replicas=2")
    d = _deploy(apiserver, ns, "ghost")
    assert d["spec"]["replicas"] == 2
    assert d["spec"]["selector"] == {"matchLabels": {"app": "ghost"}}
    c = d["spec"]["template"]["spec"]["containers"][0]
    assert (c["name"], c["image"], c["ports"]) == (
        "ghost", "registry.invalid/ghost:1.0", [{"containerPort": 8080, "protocol": "TCP"}])
    apiserver.kubectl("-n", ns, "create", "service", "clusterip", "web", "--tcp=9898:8080")
    svc = json.loads(apiserver.kubectl("-n", ns, "get", "svc", "web", "-o", "json").stdout)
    assert svc["spec"]["ports"] == [{"name": "9898-8080", "port": 9898, "protocol": "TCP",
                                     "targetPort": 8080}]
    assert svc["spec"]["clusterIP"].startswith("127.100.")
    apiserver.kubectl("-n", ns, "create", "serviceaccount", "robot")
    apiserver.kubectl("-n", ns, "create", "secret", "generic", "s", "--from-literal=a=b")
    secret = json.loads(apiserver.kubectl("-n", ns, "get", "secret", "s", "-o", "json").stdout)
    assert (secret["type"], secret["data"]) == ("Opaque", {"a": "Yg=="})
    apiserver.kubectl("-n", ns, "create", "role", "r", "--verb=get", "--resource=pods")
    apiserver.kubectl("-n", ns, "create", "rolebinding", "rb", "--role=r",
                      "--serviceaccount=typed:robot")
    rb = json.loads(apiserver.kubectl("-n", ns, "get", "rolebinding", "rb", "-o", "json").stdout)
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                             "name": "r"}
    assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "robot", "namespace": ns}]
    role = json.loads(apiserver.kubectl("-n", ns, "get", "role", "r", "-o", "json").stdout)
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]


def test_server_side_dry_run_changes_nothing(apiserver: ApiServer) -> None:
    ns = "dry"
    apiserver.kubectl("create", "ns", ns)
    apiserver.kubectl("-n", ns, "create", "configmap", "c", "--from-literal=a=1")
    apiserver.kubectl("-n", ns, "delete", "configmap", "c", "--dry-run=server")
    apiserver.kubectl("-n", ns, "create", "configmap", "d", "--dry-run=server")
    apiserver.kubectl("-n", ns, "label", "configmap", "c", "x=y", "--dry-run=server")
    cms = json.loads(apiserver.kubectl("-n", ns, "get", "cm", "-o", "json").stdout)["items"]
    assert [(c["metadata"]["name"], c["metadata"].get("labels")) for c in cms] == [
        ("c", None), ("kube-root-ca.crt", None)]


def test_kubectl_exec_explains_pods_are_local_processes(apiserver: ApiServer) -> None:
    # port-forward works (test_api_portforward.py); exec/attach have no process to enter
    apiserver.kubectl("create", "ns", "ex")
    apiserver.kubectl("-n", "ex", "run", "web", "--image=nginx:alpine")
    apiserver.kubectl("-n", "ex", "patch", "pod", "web", "--subresource=status", "--type=merge",
                      "-p", '{"status": {"phase": "Running"}}')
    proc = apiserver.kubectl("-n", "ex", "exec", "web", "--", "true", check=False, timeout=20)
    assert proc.returncode != 0
    assert "the sandbox does not support exec: pods are local processes" in proc.stderr
