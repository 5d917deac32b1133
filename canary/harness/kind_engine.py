"""The bundled engine in-cluster on kind: build its images, load them into the cluster and apply
the packaged installs (the same files the sandbox serves for the tutorial's install lines)
with only the image swapped. NOT RUN HERE: this machine has no Docker; the plan is unit-tested
(tests/harness/test_kind_engine.py) and the image recipe is fixtures/images/engine/Dockerfile.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from canary.harness.manifests import argo_install_files, flagger_install_files

DOCKERFILE = Path("fixtures") / "images" / "engine" / "Dockerfile"  # relative to the checkout
TAG = "dev"
# install -> (Dockerfile target, image, namespace of its namespaced objects, Deployment)
CONTROLLERS = {
    "flagger": ("flagger", f"canary-engine/flagger:{TAG}", "flagger-system", "flagger"),
    "argo-rollouts": ("argo-rollouts", f"canary-engine/argo-rollouts:{TAG}", "argo-rollouts",
                      "argo-rollouts"),
}
Pipeline = list[list[str]]


class NoSourceCheckout(RuntimeError):
    """The engine image is built from the repository; an installed package has no Dockerfile."""


def source_checkout(candidates: list[Path | None]) -> Path:
    """The first directory holding the image recipe (the pytest rootdir, the package's own)."""
    for c in candidates:
        if c is not None and (c / DOCKERFILE).is_file() and (c / "pyproject.toml").is_file():
            return c
    raise NoSourceCheckout(
        f"the kind environment builds the bundled engine's images from a source checkout "
        f"({DOCKERFILE}); none found in {', '.join(str(c) for c in candidates if c)}")


def install_files(which: str) -> list[Path]:
    return flagger_install_files() if which == "flagger" else argo_install_files()


def render_install(which: str) -> str:
    """The packaged install with the controller's container running the bundled image: image
    swapped, ``imagePullPolicy: IfNotPresent`` (an image `kind load` put on the nodes is in
    no registry; Argo's ``Always`` would fail to pull it). Everything else as packaged."""
    _, image, ns, deployment = CONTROLLERS[which]
    docs = []
    for f in install_files(which):
        for doc in yaml.safe_load_all(f.read_text()):
            if not doc:
                continue
            if doc["kind"] == "Deployment" and doc["metadata"]["name"] == deployment:
                for c in doc["spec"]["template"]["spec"]["containers"]:
                    c["image"], c["imagePullPolicy"] = image, "IfNotPresent"
            docs.append(doc)
    return yaml.safe_dump_all(docs, sort_keys=False)


def write_installs(workdir: Path) -> dict[str, Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    out = {}
    for which in CONTROLLERS:
        path = workdir / f"engine-install-{which}.yaml"
        path.write_text(render_install(which))
        out[which] = path
    return out


def engine_plan(source: Path, cluster_name: str, installs: dict[str, Path],
                time_scale: float = 1.0) -> list[Pipeline]:
    """Build both images, load them into the kind nodes, apply the installs, wait for both
    Deployments. A scale other than 1 is published where the in-cluster engine looks for it
    (ConfigMap kube-system/canary-sandbox, as the sandbox publishes its own)."""
    plan: list[Pipeline] = []
    images = []
    for target, image, _, _ in CONTROLLERS.values():
        plan.append([["docker", "build", "-f", str(source / DOCKERFILE), "--target", target,
                      "-t", image, str(source)]])
        images.append(image)
    plan.append([["kind", "load", "docker-image", *images, "--name", cluster_name]])
    if time_scale != 1.0:
        plan.append([["kubectl", "-n", "kube-system", "create", "configmap", "canary-sandbox",
                      f"--from-literal=timeScale={time_scale:g}"]])
    for which, (_, _, ns, _deployment) in CONTROLLERS.items():
        if which == "argo-rollouts":  # its install.yaml names no namespace (the tutorial's -n)
            plan.append([["kubectl", "create", "namespace", ns]])
        plan.append([["kubectl", "apply", "-n", ns, "-f", str(installs[which])]])
    for _, _, ns, deployment in CONTROLLERS.values():
        plan.append([["kubectl", "-n", ns, "rollout", "status", f"deploy/{deployment}",
                      "--timeout=300s"]])
    return plan
