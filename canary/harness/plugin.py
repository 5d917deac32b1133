"""The pytest plugin (entry point ``canary``): options, environment and scenario fixtures,
``*.feature`` collection, the step library, reports and cleanup on SIGTERM.

After ``pip install canary`` a directory of feature files is a test suite: ``pytest features/``
collects every ``.feature`` file directly, binds the step library from
:mod:`canary.harness.steps`, and writes ``reports/rollouts.html``, ``reports/cucumber.json``,
``reports/junit.xml``, ``reports/timelines/*.json`` and ``reports/conformance.json``.
"""

from __future__ import annotations

import importlib.util
import signal
import tempfile
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ENVIRONMENTS = ("sandbox", "kind", "existing")
IMPLEMENTATIONS = ("bundled", "flagger", "argo-rollouts")
IMPLEMENTATION_TAGS = ("flagger", "argo", "implementation-specific")
# Which tagged features each implementation claims; untagged features are claimed by all.
CLAIMS = {"bundled": {"flagger", "argo", "implementation-specific"}, "flagger": {"flagger"},
          "argo-rollouts": {"argo"}}
DEFAULT_SCALE = {"sandbox": 0.05, "kind": 1.0, "existing": 1.0}

_info_key = pytest.StashKey[dict[str, Any]]()
_ctx_key = pytest.StashKey[Any]()
_reports_key = pytest.StashKey[dict[str, Any]]()


# -- options --------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("canary", "canary harness (features on a sandbox, kind or a cluster)")
    g.addoption("--env", choices=ENVIRONMENTS, default="sandbox",
                help="where scenarios run: sandbox (default, Docker-free), kind, existing")
    g.addoption("--time-scale", type=float, default=None,
                help="wall seconds per spec second (default 0.05 on the sandbox, 1 elsewhere)")
    g.addoption("--implementation", choices=IMPLEMENTATIONS, default="bundled",
                help="the engine under test; flagger and argo-rollouts need --env kind/existing")
    g.addoption("--report-dir", default="reports",
                help="where rollouts.html, cucumber.json, junit.xml and timelines go")
    if importlib.util.find_spec("pytest_kind") is None:
        # pytest-kind owns --kubeconfig when installed; both mean "this kubeconfig file".
        g.addoption("--kubeconfig", default=None, help="kubeconfig for --env existing")
    g.addoption("--context", default=None, help="kubeconfig context for --env existing")
    g.addoption("--allow-existing-cluster", action="store_true",
                help="allow --env existing to create/delete namespaces on that cluster")
    g.addoption("--keep-sandbox", action="store_true",
                help="leave the sandbox (or kind cluster) running after the session")
    g.addoption("--sandbox-dir", default=None,
                help="sandbox directory (default: a fresh temporary directory)")
    g.addoption("--no-engine", action="store_true",
                help="do not start the bundled engine (one already watches this cluster)")
    g.addoption("--engine-wrapper", default=None, metavar="SCRIPT",
                help="run this script instead of `canary engine` (same arguments); for testing "
                     "the harness against an engine broken on purpose")
    g.addoption("--strict-env", action="store_true",
                help="fail (instead of skip) scenarios when the environment cannot start")
    parser.addini("canary_collect_features", type="bool", default=True,
                  help="collect *.feature files directly as test modules")


class Settings:
    def __init__(self, config: pytest.Config) -> None:
        opt = config.getoption
        self.env: str = opt("env")
        scale = opt("time_scale")
        self.time_scale: float = scale if scale is not None else DEFAULT_SCALE[self.env]
        self.implementation: str = opt("implementation")
        self.report_dir = Path(opt("report_dir")).resolve()
        self.kubeconfig: str | None = opt("kubeconfig", None)
        self.context: str | None = opt("context")
        self.allow_existing: bool = opt("allow_existing_cluster")
        self.keep: bool = opt("keep_sandbox")
        self.sandbox_dir: str | None = opt("sandbox_dir")
        self.no_engine: bool = opt("no_engine")
        self.strict: bool = opt("strict_env")
        wrapper = opt("engine_wrapper")
        self.engine_wrapper = Path(wrapper).resolve() if wrapper else None
        self.rootdir = Path(config.rootpath)
        self.cluster_name: str = opt("cluster_name", None) or "canary-harness"  # pytest-kind's

    def context_dict(self) -> dict[str, str]:
        return {"environment": self.env, "implementation": self.implementation,
                "time scale": f"{self.time_scale:g}"}


# -- configure: reports by default, SIGTERM -> cleanup ----------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("time_scale") is not None and config.getoption("time_scale") <= 0:
        raise pytest.UsageError(f"--time-scale must be > 0, got {config.getoption('time_scale')}")
    settings = Settings(config)
    config.stash[_reports_key] = {"settings": settings, "records": [], "cleanups": {}}
    for tag in IMPLEMENTATION_TAGS:
        config.addinivalue_line("markers", f"{tag}: feature claimed by an implementation")
    if not hasattr(config, "workerinput"):
        settings.report_dir.mkdir(parents=True, exist_ok=True)
        if getattr(config.option, "cucumber_json_path", "unset") is None:
            config.option.cucumber_json_path = str(settings.report_dir / "cucumber.json")
        if getattr(config.option, "xmlpath", "unset") is None:
            config.option.xmlpath = str(settings.report_dir / "junit.xml")
    config.pluginmanager.register(_steps_module(), "canary.harness.steps")
    config.pluginmanager.register(importlib.import_module("canary.harness.steps_flagger_upstream"), "canary.harness.steps_flagger_upstream")  # noqa: E501
    _install_sigterm(config)


def _steps_module() -> types.ModuleType:
    from canary.harness import steps

    return steps


def _install_sigterm(config: pytest.Config) -> None:
    """CI cancels with SIGTERM; turn it into KeyboardInterrupt so pytest tears fixtures down
    (deleting namespaces, stopping the sandbox) instead of dying on the spot."""
    if threading.current_thread() is not threading.main_thread():
        return

    def on_term(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second TERM must not cut cleanup
        raise KeyboardInterrupt("SIGTERM received: cleaning up")

    prev = signal.signal(signal.SIGTERM, on_term)
    config.stash[_reports_key]["prev_sigterm"] = prev


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_reports_key, None)
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
    if file_path.suffix == ".feature" and parent.config.getini("canary_collect_features"):
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
    return {"feature": tpl.feature.name, "scenario": name, "tags": sorted(tags),
            "feature_file": tpl.feature.filename}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings: Settings = config.stash[_reports_key]["settings"]
    for item in items:
        info = _scenario_info(item)
        if info is None:
            continue
        item.stash[_info_key] = info
        reason = skip_reason(settings.env, settings.implementation, set(info["tags"]))
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def skip_reason(env: str, implementation: str, tags: set[str]) -> str | None:
    """Why a scenario with these tags does not run for this env/implementation (None: runs)."""
    if env == "sandbox" and implementation != "bundled":
        return (f"--implementation {implementation} needs a real cluster (--env kind or --env "
                f"existing); the sandbox runs only the bundled engine")
    claimed = tags & set(IMPLEMENTATION_TAGS)
    if claimed and not claimed & CLAIMS[implementation]:
        return (f"feature tagged {', '.join('@' + t for t in sorted(claimed))} is not claimed by "
                f"--implementation {implementation}")
    return None


# -- fixtures ---------------------------------------------------------------------------------


class EnvHolder:
    """Starts the environment on first use; a start failure skips (or fails) every scenario
    with the same clear reason instead of erroring each one differently."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env: Any = None
        self.error: str | None = None
        self._tmp: str | None = None

    def get(self) -> Any:
        if self.env is not None:
            return self.env
        if self.error is None:
            try:
                self.env = self._start()
                return self.env
            except Exception as e:  # noqa: BLE001 - reported as the scenarios' skip reason
                from canary.harness.environments import EnvironmentUnavailable

                self.error = str(e) if isinstance(e, EnvironmentUnavailable) else \
                    f"{type(e).__name__}: {e}"
                self.stop()
        msg = f"{self.settings.env} environment could not start: {self.error}"
        if self.settings.strict:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)

    def _start(self) -> Any:
        from canary.harness import environments as E

        s = self.settings
        if s.env == "sandbox":
            d = s.sandbox_dir or tempfile.mkdtemp(prefix="canary-sandbox-")
            self._tmp = None if s.sandbox_dir else d
            env: Any = E.SandboxEnvironment(s.time_scale, Path(d), s.rootdir, keep=s.keep)
        elif s.env == "kind":
            env = E.KindEnvironment(s.time_scale, s.report_dir / "kind", s.implementation,
                                    s.rootdir, cluster_name=s.cluster_name, keep=s.keep)
        else:
            env = E.ExistingEnvironment(s.time_scale, s.report_dir / "existing", s.kubeconfig,
                                        s.context, s.allow_existing, s.implementation, s.rootdir)
        self.env = env
        env.engine_wrapper = s.engine_wrapper
        env.start()
        if not s.no_engine:
            env.start_engine()
        return env

    def stop(self) -> None:
        if self.env is not None:
            try:
                self.env.stop()
            finally:
                if self.settings.keep and self.settings.env == "sandbox":
                    print(f"\ncanary: sandbox kept running in {self.env.workdir} "
                          f"(stop it with: canary sandbox down --dir {self.env.workdir})")
                self.env = None


@pytest.fixture(scope="session")
def canary_settings(pytestconfig: pytest.Config) -> Settings:
    return pytestconfig.stash[_reports_key]["settings"]


@pytest.fixture(scope="session")
def canary_env(pytestconfig: pytest.Config, canary_settings: Settings) -> Iterator[Any]:
    if canary_settings.env == "existing" and not canary_settings.allow_existing:
        msg = ("--env existing refuses to run without --allow-existing-cluster: scenarios "
               "create and delete namespaces (e.g. `test`) on that cluster")
        if canary_settings.strict:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    state = pytestconfig.stash[_reports_key]
    holder = state.get("holder")
    if holder is None:
        holder = state["holder"] = EnvHolder(canary_settings)
        state["cleanups"]["environment"] = holder.stop
    env = holder.get()
    yield env
    holder.stop()
    state["cleanups"].pop("environment", None)


@pytest.fixture
def canary_scenario(request: pytest.FixtureRequest, canary_env: Any,
                    canary_settings: Settings) -> Iterator[Any]:
    from canary.harness.context import ScenarioContext

    item = request.node
    info = item.stash.get(_info_key, {})
    feature_file = Path(info.get("feature_file") or item.path)
    ctx = ScenarioContext(env=canary_env, nodeid=item.nodeid,
                          name=f"{info.get('feature', '')}: {info.get('scenario', item.name)}",
                          feature_dir=feature_file.parent, time_scale=canary_env.time_scale)
    ctx.begin()
    item.stash[_ctx_key] = ctx
    cleanups: dict[str, Callable[[], Any]] = request.config.stash[_reports_key]["cleanups"]
    cleanups[item.nodeid] = ctx.cleanup
    yield ctx
    ctx.stop_recording()
    _save_timeline(item, ctx, canary_settings)
    left = ctx.cleanup()
    cleanups.pop(item.nodeid, None)
    if left:
        from canary.harness.assertions import assert_nothing_left

        assert_nothing_left(left)


def _save_timeline(item: pytest.Item, ctx: Any, settings: Settings) -> None:
    from canary.harness.report import chart_svg, slug

    tl = ctx.timeline()
    path = settings.report_dir / "timelines" / f"{slug(item.nodeid)}.json"
    tl.dump(path)
    item.stash[_info_key] = {**item.stash.get(_info_key, {}), "timeline_file": str(path)}
    if _allure_active(item.config):
        import allure

        allure.attach(chart_svg(tl), name="rollout timeline",
                      attachment_type=allure.attachment_type.SVG)
        allure.attach.file(str(path), name="timeline.json",
                           attachment_type=allure.attachment_type.JSON)
        for name, text in ctx.diagnostics.items():
            allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def _allure_active(config: pytest.Config) -> bool:
    return (config.pluginmanager.hasplugin("allure_pytest_bdd")
            and bool(getattr(config.option, "allure_report_dir", None)))


# -- results, diagnostics, the HTML report ----------------------------------------------------


def collect_diagnostics(ctx: Any) -> dict[str, str]:
    """Events, Canary/HTTPRoute YAML, pod logs and the engine log of the scenario's namespaces."""
    env = ctx.env
    out: dict[str, str] = {}
    namespaces = ctx.recorder.namespaces if ctx.recorder else []
    for ns in namespaces:
        p = env.kubectl(["-n", ns, "get", "events", "--sort-by=.lastTimestamp"], check=False,
                        timeout=20)
        out[f"events in {ns}"] = p.stdout or p.stderr
        kinds = "canaries.flagger.app,httproutes.gateway.networking.k8s.io"
        p = env.kubectl(["-n", ns, "get", kinds, "-o", "yaml"], check=False, timeout=20)
        out[f"Canary and HTTPRoute YAML in {ns}"] = p.stdout or p.stderr
        out.update(env.pod_logs(ns))
    engine = getattr(env, "engine", None)
    if engine is not None:
        out["engine log"] = engine.tail(400)
    return out


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    info = item.stash.get(_info_key, None)
    if info is None:
        return
    phases = info.setdefault("phases", {})
    message = ""
    if report.failed and call.excinfo is not None:
        exc = call.excinfo.value
        message = str(exc) if isinstance(exc, AssertionError) and str(exc) else \
            call.excinfo.exconly()
        ctx = item.stash.get(_ctx_key, None)
        if ctx is not None and report.when == "call":
            try:
                ctx.diagnostics.update(collect_diagnostics(ctx))
            except Exception as e:  # noqa: BLE001 - never hide the real failure
                ctx.diagnostics["diagnostics error"] = repr(e)
    elif report.skipped:
        lr = report.longrepr
        message = lr[2] if isinstance(lr, tuple) else str(lr)
    phases[report.when] = (report.outcome, message, report.duration)
    if report.when == "teardown":
        _finish_record(item, info)


def _finish_record(item: pytest.Item, info: dict[str, Any]) -> None:
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
    ctx = item.stash.get(_ctx_key, None)
    rec = ScenarioRecord(nodeid=item.nodeid, feature=info.get("feature", ""),
                         name=info.get("scenario", item.name), outcome=outcome,
                         duration=sum(p[2] for p in phases.values()), message=message,
                         tags=info.get("tags", []), timeline_file=info.get("timeline_file"),
                         diagnostics=dict(ctx.diagnostics) if ctx is not None else {})
    item.config.stash[_reports_key]["records"].append(rec)


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(_reports_key, None)
    if state is None or not state["records"] or hasattr(session.config, "workerinput"):
        return
    from canary.harness.report import write_conformance, write_report

    settings: Settings = state["settings"]
    ctx = settings.context_dict()
    write_report(settings.report_dir, state["records"], context=ctx)
    write_conformance(settings.report_dir, state["records"], ctx)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_reports_key, None)
    if state and state["records"]:
        rd = state["settings"].report_dir
        terminalreporter.write_line(f"canary: rollout report {rd / 'rollouts.html'} "
                                    f"(timelines in {rd / 'timelines'})")


