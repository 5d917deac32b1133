"""The tutorial's install and cleanup lines on the sandbox: the remote kustomization and Argo's
install URL become the packaged files, and those files hold what the upstream ones install."""

from __future__ import annotations

import shlex

import yaml

from canary.harness.incluster import install_objects
from canary.harness.manifests import (
    ARGO_INSTALL_URL,
    argo_install_files,
    flagger_install_files,
    rewrite_install_commands,
)
from canary.sandbox.images import resolve_image


def _files(command: str) -> list[str]:
    words = shlex.split(command)
    return [words[i + 1] for i, w in enumerate(words) if w == "-f"]


def test_flagger_kustomize_install_and_cleanup_lines_use_the_packaged_install():
    for spelling in ("github.com/fluxcd/flagger/kustomize/linkerd",
                     "github.com/fluxcd/flagger//kustomize/linkerd?ref=main"):
        cmd = rewrite_install_commands(f"kubectl apply -k {spelling}")
        assert cmd.startswith("kubectl apply -f ") and "-k" not in shlex.split(cmd)
        assert _files(cmd) == [str(f) for f in flagger_install_files()]
    cleanup = rewrite_install_commands(
        "kubectl delete -k github.com/fluxcd/flagger/kustomize/linkerd && kubectl delete ns test")
    assert cleanup.startswith("kubectl delete -f ")
    assert cleanup.endswith("&& kubectl delete ns test")
    assert _files(cleanup) == [str(f) for f in flagger_install_files(deleting=True)]
    assert _files(cleanup)[-1].endswith("flagger-namespace.yaml")


def test_other_kustomize_targets_and_commands_are_left_alone():
    for cmd in ("kubectl apply -k github.com/fluxcd/flagger/kustomize/istio",
                "kubectl apply -k github.com/fluxcd/flagger/kustomize/linkerd-extra",
                "kubectl -n test get canary"):
        assert rewrite_install_commands(cmd) == cmd


def test_argo_install_url_is_served_from_the_packaged_install():
    line = (f"kubectl create namespace argo-rollouts && kubectl apply -n argo-rollouts "
            f"-f {ARGO_INSTALL_URL}")
    cmd = rewrite_install_commands(line)
    assert ARGO_INSTALL_URL not in cmd
    assert _files(cmd) == [str(f) for f in argo_install_files()]


def test_the_flagger_install_is_what_the_linkerd_kustomization_renders():
    objs = {(kind, name, ns) for _, kind, name, ns in install_objects(flagger_install_files())}
    assert {("Namespace", "flagger-system", None), ("ServiceAccount", "flagger", "flagger-system"),
            ("ClusterRole", "flagger", None), ("ClusterRoleBinding", "flagger", None),
            ("Deployment", "flagger", "flagger-system"),
            ("CustomResourceDefinition", "canaries.flagger.app", None),
            ("CustomResourceDefinition", "metrictemplates.flagger.app", None)} <= objs
    docs = [d for f in flagger_install_files() if f.parent.name == "install"
            for d in yaml.safe_load_all(f.read_text()) if d]
    dep = next(d for d in docs if d["kind"] == "Deployment")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    # fluxcd/flagger kustomize/linkerd/patch.yaml
    assert c["args"] == ["-log-level=info", "-include-label-prefix=app.kubernetes.io",
                         "-mesh-provider=gatewayapi:v1beta1",
                         "-metrics-server=http://prometheus.linkerd-viz:9090"]
    assert dep["spec"]["template"]["spec"]["serviceAccountName"] == "flagger"
    assert all((d["metadata"].get("labels") or {}).get("app") == "flagger" for d in docs)


def test_controller_images_run_the_engine_in_their_mode():
    run = resolve_image("ghcr.io/fluxcd/flagger:1.44.0", None, ["-mesh-provider=linkerd"])
    assert run is not None and run.app == "flagger"
    assert run.argv[0].endswith("/flagger") and run.argv[1:] == ["-mesh-provider=linkerd"]
    shim = open(run.argv[0]).read()
    assert "canary.sandbox.apps.flagger" in shim
    argo = resolve_image("quay.io/argoproj/argo-rollouts:v1.8.3")
    assert argo is not None and argo.argv[0].endswith("/rollouts-controller")
    assert "canary.sandbox.apps.rollouts_controller" in open(argo.argv[0]).read()


def test_the_argo_install_is_what_the_release_install_yaml_holds():
    # argoproj/argo-rollouts manifests/install.yaml: 5 CRDs, SA, 4 ClusterRoles, binding,
    # ConfigMap, notification Secret, metrics Service, Deployment
    objs = {(kind, name, ns) for _, kind, name, ns in
            install_objects(argo_install_files(), "argo-rollouts")}
    crds = {("CustomResourceDefinition", f"{p}.argoproj.io", None) for p in
            ("rollouts", "analysistemplates", "clusteranalysistemplates", "analysisruns",
             "experiments")}
    roles = {("ClusterRole", n, None) for n in
             ("argo-rollouts", "argo-rollouts-aggregate-to-admin",
              "argo-rollouts-aggregate-to-edit", "argo-rollouts-aggregate-to-view")}
    rest = {("ServiceAccount", "argo-rollouts", "argo-rollouts"),
            ("ClusterRoleBinding", "argo-rollouts", None),
            ("ConfigMap", "argo-rollouts-config", "argo-rollouts"),
            ("Secret", "argo-rollouts-notification-secret", "argo-rollouts"),
            ("Service", "argo-rollouts-metrics", "argo-rollouts"),
            ("Deployment", "argo-rollouts", "argo-rollouts")}
    assert objs == crds | roles | rest


def test_the_argo_deployment_declares_the_ports_its_image_serves():
    docs = [d for f in argo_install_files() if f.name == "argo-rollouts-install.yaml"
            for d in yaml.safe_load_all(f.read_text()) if d]
    dep = next(d for d in docs if d["kind"] == "Deployment")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    # upstream's Deployment has no readiness probe and no args: the controller's defaults
    # (controller/controller.go DefaultHealthzPort 8080, DefaultMetricsPort 8090) must be what
    # the image mapping listens on, or the pod never has a ready port
    assert ports == {"metrics": 8090, "healthz": 8080} and "args" not in c
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    svc = next(d for d in docs if d["kind"] == "Service")
    assert svc["spec"]["ports"][0]["targetPort"] == ports["metrics"]
    run = resolve_image(c["image"], c.get("command"), c.get("args"))
    assert run is not None
    from canary.sandbox.apps.rollouts_controller import main as _main  # noqa: F401 - importable
    from canary.sandbox.apps.rollouts_controller import translate
    assert translate(["--healthzPort=9080", "--metricsPort", "9090", "--leader-elect=false"]) == \
        ["--port=9080", "--metrics-port", "9090", "--leader-elect=false"]
