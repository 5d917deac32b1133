"""The wheel ships every package of the tree, and the design card's top-level ``steps/`` and
``fixtures/`` only inside ``canary`` (no generic top-level names in site-packages)."""

import tomllib

from support import REPO


def _setuptools() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_in_the_tree_is_listed():
    listed = set(_setuptools()["packages"])
    in_tree = {".".join(p.parent.relative_to(REPO).parts)
               for p in (REPO / "canary").rglob("__init__.py")}
    assert in_tree - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert {"canary.steps", "canary.fixtures"} <= listed


def test_steps_and_fixtures_install_inside_canary():
    assert _setuptools()["package-dir"] == {"canary.steps": "steps",
                                            "canary.fixtures": "fixtures"}
    assert not any(p.split(".")[0] != "canary" for p in _setuptools()["packages"])


def test_the_installed_plugin_finds_its_steps_fixtures_and_manifests():
    import canary.fixtures
    import canary.steps

    from canary.harness.manifests import MANIFEST_DIR

    assert canary.steps.__file__.startswith(str(REPO / "steps"))
    assert canary.fixtures.__file__.startswith(str(REPO / "fixtures"))
    assert (MANIFEST_DIR / "podinfo-demo.yaml").is_file() and (MANIFEST_DIR / "crds").is_dir()


def test_the_only_console_script_is_canary():
    # a `kubectl-argo-rollouts` or `linkerd` in the venv would shadow the real tools on PATH
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"canary"}


def test_what_the_plugin_imports_at_load_is_a_runtime_dependency():
    """``pip install pytest-canary`` without extras: every distribution the plugin imports when
    pytest loads it (the plugin module, the steps, the fixtures) is in ``dependencies``, or every
    pytest run in that environment, even an unrelated project's, ends in an INTERNALERROR."""
    import ast
    import re
    import sys
    from importlib.metadata import packages_distributions

    files = [REPO / "canary" / "harness" / "plugin.py", *(REPO / "steps").glob("*.py"),
             *(REPO / "fixtures").glob("*.py")]
    top = set()
    for f in files:
        for node in ast.parse(f.read_text()).body:  # module level: what runs at import
            if isinstance(node, ast.Import):
                top |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                top.add(node.module.split(".")[0])
    third_party = top - set(sys.stdlib_module_names) - {"canary", "__future__"}
    dists = {d.lower() for name in third_party for d in packages_distributions().get(name, [])}
    declared = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower() for d in
                tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert third_party and dists - declared == set(), "move these into [project] dependencies"
