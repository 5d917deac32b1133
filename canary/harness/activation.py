"""When the installed plugin acts, and when a run the user asked for cannot happen.

Installed but not asked for, the plugin collects nothing, writes nothing and leaves signal
handling alone; its steps and fixtures are registered all the same, so a project that binds
features itself with pytest-bdd's ``scenarios()`` can use them. It is asked for by any of:

- the ``--canary`` flag;
- the ini option ``canary = true`` (pytest.ini, pyproject.toml, tox.ini, setup.cfg);
- a ``canary_features = True`` line in the rootdir's ``conftest.py``;
- the ini option ``canary_feature_dirs`` (folders of ``.feature`` files to collect);
- ``.feature`` files, or folders holding them, named on the pytest command line;
- a bare ``pytest`` in a folder that holds ``.feature`` files itself.

A run asked for an environment or implementation that cannot be had ends at once with one line
naming what is missing (exit 4, pytest's usage error); ``--canary-skip-unavailable`` turns that
into skipped scenarios instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

_SEARCH_LIMIT = 2000  # files looked at per named folder: a huge tree is not searched whole


def asked_for(config: pytest.Config) -> str | None:
    """Why the harness is on for this run (None: it stays out of the way)."""
    if config.getoption("canary", False):
        return "--canary"
    if config.getini("canary"):
        return "ini option canary = true"
    for plugin in config.pluginmanager.get_plugins():
        if getattr(plugin, "__name__", "").endswith("conftest") and \
                getattr(plugin, "canary_features", False) is True:
            return f"canary_features = True in {getattr(plugin, '__file__', 'conftest.py')}"
    if config.getini("canary_feature_dirs"):
        return "ini option canary_feature_dirs"
    named = config.args_source == pytest.Config.ArgsSource.ARGS
    for arg in config.args:
        path = Path(arg.split("::", 1)[0])
        if not path.is_absolute():
            path = Path(config.invocation_params.dir) / path
        if path.suffix == ".feature" and path.is_file():
            return f"{arg} named on the command line"
        if named and path.is_dir() and holds_features(path):
            return f"{arg} (holds .feature files) named on the command line"
    if config.args_source == pytest.Config.ArgsSource.INVOCATION_DIR and \
            any(Path(config.invocation_params.dir).glob("*.feature")):
        return "pytest run in a folder of .feature files"
    return None


def holds_features(folder: Path) -> bool:
    for i, p in enumerate(folder.rglob("*")):
        if i >= _SEARCH_LIMIT:
            return False
        if p.suffix == ".feature" and not any(part.startswith(".") for part in p.parts):
            return True
    return False


def in_feature_dirs(config: pytest.Config, path: Path) -> bool:
    """With ``canary_feature_dirs`` set, only files under those folders are collected."""
    dirs = config.getini("canary_feature_dirs")
    if not dirs:
        return True
    root = Path(config.rootpath)
    return any(path.resolve().is_relative_to((root / d).resolve()) for d in dirs)


def cannot_run(env: str, implementation: str, allow_existing: bool) -> str | None:
    """What makes the asked-for environment or implementation impossible, in one line."""
    if env == "sandbox" and implementation != "bundled":
        return (f"--implementation {implementation} needs a real cluster (--env kind or --env "
                f"existing); the sandbox runs only the bundled engine")
    if env == "existing" and not allow_existing:
        return ("--env existing refuses to run without --allow-existing-cluster: scenarios "
                "create and delete namespaces on that cluster")
    if env == "kind":
        missing = [t for t in ("docker", "kind", "kubectl", "linkerd") if shutil.which(t) is None]
        if missing:
            return f"--env kind needs {', '.join(missing)} on PATH (not found)"
        import importlib.util

        if importlib.util.find_spec("pytest_kind") is None:
            return "--env kind needs pytest-kind: pip install 'pytest-canary[kind]'"
    return None
