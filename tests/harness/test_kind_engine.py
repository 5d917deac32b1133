"""What the kind environment would run to deploy the bundled engine in-cluster (not runnable
here: no Docker): the image recipe's targets, the loaded images, the installs it applies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from canary.controller.main import _parser
from canary.harness import kind_engine as K
from canary.harness.environments import KindEnvironment, kind_setup_plan
from canary.sandbox.images import resolve_image

REPO = Path(__file__).resolve().parents[2]


def _text(plan: list) -> list[str]:
    return [" | ".join(" ".join(stage) for stage in p) for p in plan]


def test_the_recipe_has_one_target_per_controller_with_its_upstream_entrypoint():
    recipe = (REPO / K.DOCKERFILE).read_text()
    stages = re.split(r"^FROM \S+ AS ", recipe, flags=re.M)[1:]
    targets = {st.split()[0]: m.group(1) for st in stages
               if (m := re.search(r"^ENTRYPOINT (\[.*\])", st, re.M))}
    # the entrypoints the sandbox's image registry gives the real images (Flagger's ./flagger,
    # Argo's /bin/rollouts-controller) are the ones the built images have
    flagger = resolve_image("ghcr.io/fluxcd/flagger:1.44.0")
    argo = resolve_image("quay.io/argoproj/argo-rollouts:v1.8.3")
    assert flagger is not None and argo is not None
    assert yaml.safe_load(targets["flagger"]) == ["./flagger"]
    assert yaml.safe_load(targets["argo-rollouts"]) == ["/bin/rollouts-controller"]
    assert Path(flagger.argv[0]).name == "flagger"
    assert Path(argo.argv[0]).name == "rollouts-controller"
    # the wrappers run the same app modules as the sandbox's shims, with a flag the engine takes
    for module in ("canary.sandbox.apps.flagger", "canary.sandbox.apps.rollouts_controller"):
        assert f"python -m {module} --bind-address=0.0.0.0" in recipe
    assert _parser().parse_args(["--bind-address=0.0.0.0"]).bind_address == "0.0.0.0"
    assert "NOT BUILT OR RUN" in recipe.splitlines()[0]


def test_the_plan_builds_loads_installs_and_waits(tmp_path):
    installs = K.write_installs(tmp_path)
    plan = _text(K.engine_plan(REPO, "canary-harness", installs))
    dockerfile = REPO / K.DOCKERFILE
    assert plan == [
        f"docker build -f {dockerfile} --target flagger -t canary-engine/flagger:dev {REPO}",
        f"docker build -f {dockerfile} --target argo-rollouts "
        f"-t canary-engine/argo-rollouts:dev {REPO}",
        "kind load docker-image canary-engine/flagger:dev canary-engine/argo-rollouts:dev "
        "--name canary-harness",
        f"kubectl apply -n flagger-system -f {installs['flagger']}",
        "kubectl create namespace argo-rollouts",
        f"kubectl apply -n argo-rollouts -f {installs['argo-rollouts']}",
        "kubectl -n flagger-system rollout status deploy/flagger --timeout=300s",
        "kubectl -n argo-rollouts rollout status deploy/argo-rollouts --timeout=300s"]
    scaled = _text(K.engine_plan(REPO, "c", installs, time_scale=0.5))
    assert "kubectl -n kube-system create configmap canary-sandbox --from-literal=timeScale=0.5" \
        in scaled
    full = _text(kind_setup_plan("bundled", crd_files=[Path("/crds/a.yaml")],
                                 engine=K.engine_plan(REPO, "c", installs)))
    assert full.index("kubectl apply -f /crds/a.yaml") < full.index(plan[0])
    assert full[-1].endswith("deploy/argo-rollouts --timeout=300s")


@pytest.mark.parametrize("which", ["flagger", "argo-rollouts"])
def test_the_installs_are_the_packaged_ones_with_the_bundled_image(which):
    packaged = [d for f in K.install_files(which) for d in yaml.safe_load_all(f.read_text()) if d]
    rendered = list(yaml.safe_load_all(K.render_install(which)))
    assert len(rendered) == len(packaged)
    _, image, _, name = K.CONTROLLERS[which]
    for before, after in zip(packaged, rendered, strict=True):
        if before["kind"] == "Deployment":
            assert after["metadata"]["name"] == name
            c = after["spec"]["template"]["spec"]["containers"][0]
            assert (c["image"], c["imagePullPolicy"]) == (image, "IfNotPresent")
            c["image"] = before["spec"]["template"]["spec"]["containers"][0]["image"]
            c.pop("imagePullPolicy")
            before["spec"]["template"]["spec"]["containers"][0].pop("imagePullPolicy", None)
        assert after == before


def test_an_installed_package_without_the_recipe_is_told_what_is_missing(tmp_path):
    with pytest.raises(K.NoSourceCheckout, match="source checkout"):
        K.source_checkout([tmp_path, None])
    assert K.source_checkout([tmp_path, REPO]) == REPO


def test_kind_runs_no_engine_process_and_stands_the_in_cluster_one_down(tmp_path):
    env = KindEnvironment(1.0, tmp_path)
    assert env.start_engine() is None and env.engine is None
    env.engine_installs = K.write_installs(tmp_path)
    assert _text(env.engine_stand_down_plan()) == [
        "kubectl delete namespace flagger-system argo-rollouts --ignore-not-found --wait=true "
        "--timeout=300s"]
    restore = _text(env.engine_restore_plan())
    assert f"kubectl apply -n argo-rollouts -f {env.engine_installs['argo-rollouts']}" in restore
    assert restore[-1] == "kubectl -n argo-rollouts rollout status deploy/argo-rollouts " \
                          "--timeout=300s"
