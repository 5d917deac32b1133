"""The pytest plugin (entry point ``canary``): options, environment and scenario fixtures,
``*.feature`` collection, the step library, reports and cleanup on SIGTERM.

After ``pip install canary`` a directory of feature files is a test suite: ``pytest features/``
collects every ``.feature`` file directly, registers the fixtures of :mod:`canary.fixtures` and
the step library of :mod:`canary.steps`, and writes ``reports/rollouts.html``,
``reports/cucumber.json``, ``reports/junit.xml``, ``reports/timelines/*.json`` and
``reports/conformance.json``.
"""

from __future__ import annotations

import importlib.util
import signal
import threading
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from canary.fixtures import MODULES as FIXTURE_MODULES
from canary.harness.activation import asked_for, cannot_run, in_feature_dirs
from canary.harness.settings import (
    CLAIMS,
    CONTEXT,
    ENVIRONMENTS,
    IMPLEMENTATION_TAGS,
    IMPLEMENTATIONS,
    INFO,
    KEPT,
    STATE,
    Settings,
)
from canary.steps import MODULES as STEP_MODULES

_CONFIG: dict[str, pytest.Config] = {}  # for hooks that get no config (pytest_runtest_logreport)

# -- options --------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("canary", "canary harness (features on a sandbox, kind or a cluster)")

    def option(name: str, *aliases: str, **kw: object) -> None:
        """``--canary-NAME``, with the short name kept as an alias where no other plugin uses
        it (``dest`` stays the short name's)."""
        dest = kw.pop("dest", (aliases[0] if aliases else name).lstrip("-").replace("-", "_"))
        g.addoption(f"--canary-{name}", *aliases, dest=dest, **kw)

    option("env", "--env", choices=ENVIRONMENTS, default="sandbox",
           help="where scenarios run: sandbox (default, Docker-free), kind, existing")
    option("time-scale", "--time-scale", type=float, default=None,
           help="wall seconds per spec second (default 0.05 on the sandbox, 1 elsewhere)")
    option("implementation", "--implementation", choices=IMPLEMENTATIONS, default="bundled",
           help="the engine under test; flagger and argo-rollouts need --env kind/existing")
    option("report-dir", "--report-dir", default="reports",
           help="where rollouts.html, cucumber.json, junit.xml and timelines go")
    if importlib.util.find_spec("pytest_kind") is None:
        option("kubeconfig", "--kubeconfig", default=None, help="kubeconfig for --env existing")
    else:  # pytest-kind owns --kubeconfig; both mean "this kubeconfig file"
        option("kubeconfig-file", dest="kubeconfig_file", default=None,
               help="kubeconfig for --env existing")
    option("context", "--context", default=None, help="kubeconfig context for --env existing")
    option("allow-existing-cluster", "--allow-existing-cluster", action="store_true",
           help="allow --env existing to create/delete namespaces on that cluster")
    option("keep", "--keep-sandbox", action="store_true",
           help="leave the sandbox (or kind cluster) running after the session")
    option("keep-on-failure", action="store_true",
           help="keep a failing scenario's namespaces, and the sandbox, and say how to look")
    option("sandbox-dir", "--sandbox-dir", default=None,
           help="sandbox directory (default: a fresh temporary directory)")
    option("offline-manifests", action="store_true",
           help="serve the tutorial's well-known URLs (run.linkerd.io/flagger.yml, ...) from "
                "the packaged copies on kind and existing clusters too (the sandbox always does)")
    option("namespaces", choices=("auto", "per-scenario", "as-written"), default="auto",
           help="per-scenario: the feature's namespaces (the seed's `test`) become "
                "test-<token> for each scenario, so scenarios can run at once; auto (default): "
                "per-scenario with pytest-xdist (-n) and on kind/existing clusters")
    option("no-engine", "--no-engine", action="store_true",
           help="do not start the bundled engine (one already watches this cluster)")
    option("engine-wrapper", "--engine-wrapper", default=None, metavar="SCRIPT",
           help="run this script instead of `canary engine` (same arguments); for testing the "
                "harness against an engine broken on purpose")
    g.addoption("--canary", action="store_true",
                help="turn the harness on: collect .feature files and write the reports")
    g.addoption("--canary-skip-unavailable", action="store_true",
                help="skip the scenarios (instead of ending the run) when the environment or "
                     "implementation asked for cannot be had")
    g.addoption("--strict-env", action="store_true",
                help="accepted for old command lines; failing loudly is now the default")
    parser.addini("canary", type="bool", default=False,
                  help="turn the harness on (collect .feature files, write the reports)")
    parser.addini("canary_feature_dirs", type="args", default=[],
                  help="turn the harness on and collect .feature files only under these folders")
    parser.addini("canary_collect_features", type="bool", default=True,
                  help="false: never collect .feature files (bind them with scenarios())")


# -- configure: reports by default, SIGTERM -> cleanup ----------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("time_scale") is not None and config.getoption("time_scale") <= 0:
        raise pytest.UsageError(f"--time-scale must be > 0, got {config.getoption('time_scale')}")
    _CONFIG["config"] = config
    settings = Settings(config)
    state = config.stash[STATE] = {"settings": settings, "records": [], "cleanups": {},
                                   "kept": [],
                                   "active": asked_for(config)}
    impossible = cannot_run(settings.env, settings.implementation, settings.allow_existing)
    if impossible and not settings.skip_unavailable:
        raise pytest.UsageError(f"canary: {impossible} (or pass --canary-skip-unavailable)")
    state["unavailable"] = impossible
    for tag in IMPLEMENTATION_TAGS:
        config.addinivalue_line("markers", f"{tag}: feature claimed by an implementation")
    config.addinivalue_line("markers", "serial: the scenario runs alone on the environment "
                                       "(pytest -n: it changes what every scenario uses)")
    for name in FIXTURE_MODULES + STEP_MODULES:  # usable by scenarios() even when not asked
        if config.pluginmanager.get_plugin(name) is None:
            config.pluginmanager.register(importlib.import_module(name), name)
    if not state["active"]:
        return
    if not hasattr(config, "workerinput"):
        settings.report_dir.mkdir(parents=True, exist_ok=True)
        if getattr(config.option, "cucumber_json_path", "unset") is None:
            config.option.cucumber_json_path = str(settings.report_dir / "cucumber.json")
        if getattr(config.option, "xmlpath", "unset") is None:
            config.option.xmlpath = str(settings.report_dir / "junit.xml")
    _install_sigterm(config)


def _install_sigterm(config: pytest.Config) -> None:
    """CI cancels with SIGTERM; turn it into KeyboardInterrupt so pytest tears fixtures down
    (deleting namespaces, stopping the sandbox) instead of dying on the spot."""
    if threading.current_thread() is not threading.main_thread():
        return

    def on_term(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut cleanup
        raise KeyboardInterrupt("SIGTERM received: cleaning up")

    prev = signal.signal(signal.SIGTERM, on_term)
    config.stash[STATE]["prev_sigterm"] = prev


# -- pytest-xdist: one environment for every worker ------------------------------------------


def _xdist_controller(config: pytest.Config) -> bool:
    return config.pluginmanager.hasplugin("dsession") and not hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """With ``pytest -n N`` the controller starts the environment and the engine once, before
    the workers start; they attach to it (``pytest_configure_node``) and run scenarios in
    namespaces of their own. It is stopped when the controller's session ends."""
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None or not state["active"] or state["unavailable"] \
            or not _xdist_controller(config):
        return
    from canary.fixtures.environment import EnvHolder

    holder = state["holder"] = EnvHolder(state["settings"], state["kept"])
    state["cleanups"]["environment"] = holder.stop
    state["shared_env"] = holder.get().attach_info()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    state = node.config.stash.get(STATE, None)
    if state and state.get("shared_env"):
        node.workerinput["canary_env"] = state["shared_env"]


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    # Anything not torn down (e.g. interrupted during teardown) is cleaned up here.
    for fn in list(state["cleanups"].values()):
        try:
            fn()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
    prev = state.get("prev_sigterm")
    if prev is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, prev)


# -- collecting feature files ----------------------------------------------------------------


class FeatureFile(pytest.Module):
    """A ``.feature`` file as a test module whose tests are its scenarios."""

    def _getobj(self) -> types.ModuleType:
        from pytest_bdd import scenarios

        mod = types.ModuleType(f"canary_feature_{abs(hash(str(self.path)))}")
        mod.__file__ = str(self.path)
        mod.__dict__["scenarios"] = scenarios
        code = compile("scenarios(_path, features_base_dir=_base)", str(self.path), "exec")
        mod.__dict__.update(_path=str(self.path), _base=str(self.path.parent))
        exec(code, mod.__dict__)  # noqa: S102 - pytest-bdd binds into the caller's namespace
        return mod


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    if (file_path.suffix == ".feature" and config.stash[STATE]["active"]
            and config.getini("canary_collect_features") and in_feature_dirs(config, file_path)):
        return FeatureFile.from_parent(parent, path=file_path)
    return None


def _scenario_info(item: pytest.Item) -> dict[str, Any] | None:
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    fn = getattr(item, "obj", None)
    tpl = scenario_wrapper_template_registry.get(fn) if fn is not None else None
    if tpl is None:
        return None
    tags = set(tpl.tags) | set(tpl.feature.tags) | (set(tpl.rule.tags) if tpl.rule else set())
    name = tpl.name
    callspec = getattr(item, "callspec", None)
    example = callspec.params.get("_pytest_bdd_example", {}) if callspec else {}
    for key, value in (example or {}).items():  # Scenario Outline: show this example's values
        name = name.replace(f"<{key}>", str(value))
    steps = [(st.keyword.strip(), st.name) for st in tpl.steps]
    return {"feature": tpl.feature.name, "scenario": name, "tags": sorted(tags),
            "feature_file": tpl.feature.filename, "all_steps": steps, "steps": []}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash[STATE]
    settings: Settings = state["settings"]
    _drop_double_collection(config, items)
    for item in items:
        info = _scenario_info(item)
        if info is None:
            continue
        item.stash[INFO] = info
        reason = skip_reason(settings.implementation, set(info["tags"]))
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def _drop_double_collection(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A feature bound by the project's own ``scenarios()`` is not collected a second time."""
    def ours(item: pytest.Item) -> bool:
        return any(isinstance(n, FeatureFile) for n in item.listchain())

    bound = {str(info["feature_file"]) for item in items if not ours(item)
             and (info := _scenario_info(item)) is not None}
    twice = [item for item in items if ours(item) and (info := _scenario_info(item)) is not None
             and str(info["feature_file"]) in bound]
    if twice:
        config.hook.pytest_deselected(items=twice)
        items[:] = [item for item in items if item not in twice]


def skip_reason(implementation: str, tags: set[str]) -> str | None:
    """Why a scenario with these tags is not claimed by the implementation (None: runs)."""
    claimed = tags & set(IMPLEMENTATION_TAGS)
    if claimed and not claimed & CLAIMS[implementation]:
        return (f"feature tagged {', '.join('@' + t for t in sorted(claimed))} is not claimed by "
                f"--implementation {implementation}")
    return None


# -- results, diagnostics, the HTML report ----------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    info = item.stash.get(INFO, None)
    if info is None:
        return
    if report.when == "setup":  # JUnit names, set where the XML is written (the controller)
        report.canary_names = [info.get("feature") or item.nodeid.split("::")[0],  # type: ignore[attr-defined]
                               info.get("scenario") or item.name]
    phases = info.setdefault("phases", {})
    message = ""
    if report.failed and call.excinfo is not None:
        exc = call.excinfo.value
        message = str(exc) if isinstance(exc, AssertionError) and str(exc) else \
            call.excinfo.exconly()
        ctx = item.stash.get(CONTEXT, None)
        if ctx is not None and report.when == "call":
            from canary.harness.cluster import collect_diagnostics

            try:
                ctx.diagnostics.update(collect_diagnostics(ctx))
            except Exception as e:  # noqa: BLE001 - never hide the real failure
                ctx.diagnostics["diagnostics error"] = repr(e)
    elif report.skipped:
        lr = report.longrepr
        message = lr[2] if isinstance(lr, tuple) else str(lr)
    phases[report.when] = (report.outcome, message, report.duration)
    if report.when == "teardown":
        # travels with the report, so a pytest-xdist controller gets it too
        report.canary_record = _finish_record(item, info).to_dict()  # type: ignore[attr-defined]
        kept = item.stash.get(KEPT, None)
        if kept and hasattr(item.config, "workerinput"):
            report.canary_kept = kept  # type: ignore[attr-defined]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Where the reports are written (this process, or the pytest-xdist controller): the
    scenario's record for rollouts.html, what --canary-keep-on-failure kept, and JUnit's
    classname and name from the feature and scenario titles instead of ``test_...`` names."""
    config = _CONFIG.get("config")
    state = config.stash.get(STATE, None) if config is not None else None
    if state is None or hasattr(config, "workerinput"):
        return
    names = getattr(report, "canary_names", None)
    if names:
        from _pytest.junitxml import xml_key

        xml = config.stash.get(xml_key, None)
        if xml is not None:
            reporter = xml.node_reporter(report)
            reporter.add_attribute("classname", names[0])
            reporter.add_attribute("name", names[1])
    record = getattr(report, "canary_record", None)
    if record:
        from canary.harness.report import ScenarioRecord

        state["records"].append(ScenarioRecord(**record))
    kept = getattr(report, "canary_kept", None)
    if kept:
        state["kept"].append(kept)


# -- Gherkin steps with their outcome, for the report ------------------------------------------


def _step_done(request: pytest.FixtureRequest, scenario: Any, step: Any, outcome: str,
               message: str = "") -> None:
    info = request.node.stash.get(INFO, None)
    if info is None:
        return
    if scenario is not None:  # the rendered steps (outline values filled in)
        info["all_steps"] = [(st.keyword.strip(), st.name) for st in scenario.steps]
    info.setdefault("steps", []).append({"keyword": step.keyword.strip(), "text": step.name,
                                         "outcome": outcome, "message": message})


def pytest_bdd_before_step_call(request: pytest.FixtureRequest, feature: Any, scenario: Any,
                                step: Any, step_func: Any, step_func_args: dict[str, Any]) -> None:
    """A namespace per scenario: the feature's namespaces in the step's arguments (names,
    commands, YAML, expected messages) become the scenario's, before the step sees them (as
    written: only learned, for the cleanup)."""
    ctx = request.node.stash.get(CONTEXT, None)
    if ctx is None:
        return
    for key, value in step_func_args.items():
        if isinstance(value, str | list):
            step_func_args[key] = ctx.names.argument(value, step.name)


def pytest_bdd_after_step(request: pytest.FixtureRequest, feature: Any, scenario: Any,
                          step: Any, step_func: Any, step_func_args: Any) -> None:
    _step_done(request, scenario, step, "passed")


def pytest_bdd_step_error(request: pytest.FixtureRequest, feature: Any, scenario: Any,
                          step: Any, step_func: Any, step_func_args: Any,
                          exception: Exception) -> None:
    _step_done(request, scenario, step, "failed",
               str(exception) or type(exception).__name__)


def pytest_bdd_step_func_lookup_error(request: pytest.FixtureRequest, feature: Any,
                                      scenario: Any, step: Any, exception: Exception) -> None:
    _step_done(request, scenario, step, "undefined", str(exception))


def scenario_steps(info: dict[str, Any]) -> list[dict[str, str]]:
    """Every step of the scenario in order: those that ran with their outcome, the rest
    "skipped" (after a failure)."""
    ran = list(info.get("steps") or [])
    out = []
    for i, (keyword, text) in enumerate(info.get("all_steps") or []):
        if i < len(ran):
            out.append(ran[i])
        else:
            out.append({"keyword": keyword, "text": text, "outcome": "skipped", "message": ""})
    return out or ran


def _finish_record(item: pytest.Item, info: dict[str, Any]) -> Any:
    from canary.harness.report import ScenarioRecord

    phases = info.get("phases", {})
    outcome, message = "passed", ""
    for when in ("setup", "call", "teardown"):
        o, m, _ = phases.get(when, ("passed", "", 0))
        if o == "skipped":
            outcome, message = "skipped", m
            break
        if o == "failed":
            outcome = "failed" if when == "call" else "error"
            message = m if not message else message + "\n" + m
            if when != "teardown":
                continue
    ctx = item.stash.get(CONTEXT, None)
    rec = ScenarioRecord(nodeid=item.nodeid, feature=info.get("feature", ""),
                         name=info.get("scenario", item.name), outcome=outcome,
                         duration=sum(p[2] for p in phases.values()), message=message,
                         tags=info.get("tags", []), timeline_file=info.get("timeline_file"),
                         diagnostics=dict(ctx.diagnostics) if ctx is not None else {},
                         steps=scenario_steps(info))
    return rec


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE, None)
    if (state is None or not state["active"] or not state["records"]
            or hasattr(session.config, "workerinput")):
        return
    from canary.harness.report import write_conformance, write_report

    settings: Settings = state["settings"]
    ctx = settings.context_dict()
    write_report(settings.report_dir, state["records"], context=ctx)
    write_conformance(settings.report_dir, state["records"], ctx)
    allure_dir = getattr(session.config.option, "allure_report_dir", None)
    if allure_dir:
        _allure_environment(Path(allure_dir), ctx)


def _allure_environment(directory: Path, ctx: dict[str, str]) -> None:
    """Allure's environment.properties: where and against what the scenarios ran."""
    from importlib.metadata import version

    props = {**ctx, "pytest-canary": version("pytest-canary"), "pytest-bdd": version("pytest-bdd")}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "environment.properties").write_text(
        "".join(f"{k.replace(' ', '.')}={v}\n" for k, v in props.items()))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    for kept in (state or {}).get("kept", []):
        terminalreporter.write_line(kept)
    if state and state["active"] and state["records"]:
        rd = state["settings"].report_dir
        terminalreporter.write_line(f"canary: rollout report {rd / 'rollouts.html'} "
                                    f"(timelines in {rd / 'timelines'})")


