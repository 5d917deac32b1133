"""``canary demo``: the seed's Flagger tutorial end to end on a fresh sandbox, printed live.

It drives the same harness API the features use: start the sandbox and the engine, deploy the
demo (``kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml``), apply the
tutorial's Canary and MetricTemplate, set the image to 1.7.1, and follow the rollout (every
weight step, phase change and event) until it is promoted; then check the weight sequence
against the spec and write ``reports/rollouts.html``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SET_IMAGE = ("kubectl -n test set image deployment/podinfo "
             "podinfod=quay.io/stefanprodan/podinfo:1.7.1")
SETUP = "kubectl create ns test && kubectl apply -f https://run.linkerd.io/flagger.yml"


class LivePrinter:
    """Prints timeline entries as they are recorded: weights, phases, events."""

    def __init__(self, t0: float, scale: float, out: Any = None) -> None:
        self.t0, self.scale = t0, scale
        self.out = out or sys.stdout

    def say(self, text: str, t: float | None = None) -> None:
        t = time.time() if t is None else t
        print(f"[{t - self.t0:6.1f}s] {text}", file=self.out, flush=True)

    def __call__(self, e: dict[str, Any]) -> None:
        kind = e.get("kind")
        if kind == "route" and e.get("backends"):
            split = " / ".join(f"{n} {w}%" for n, w in e["backends"].items())
            self.say(f"weights  {e.get('name')}: {split}", e["t"])
        elif kind == "canary":
            self.say(f"canary   {e.get('name')}: phase {e.get('phase') or '-'}, weight "
                     f"{e.get('canaryWeight')}, failed checks {e.get('failedChecks')}", e["t"])
        elif kind == "event":
            self.say(f"event    {e.get('type', ''):7} {e.get('object', '')}: {e.get('message')}",
                     e["t"])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="canary demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--time-scale", type=float, default=0.05,
                   help="wall seconds per spec second (default 0.05: a 10s interval is 0.5s)")
    p.add_argument("--report-dir", default="reports", help="where rollouts.html goes")
    p.add_argument("--dir", default=None, help="sandbox directory (default: a temporary one)")
    p.add_argument("--keep", action="store_true",
                   help="leave the sandbox running afterwards (inspect it with kubectl)")
    return p


def _interrupt(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the cleanup short
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.time_scale <= 0:
        print(f"canary demo: --time-scale must be > 0, got {args.time_scale}", file=sys.stderr)
        return 2
    # CI cancels with SIGTERM: clean up exactly as on Ctrl-C
    signal.signal(signal.SIGTERM, _interrupt)
    from canary.harness import canary_checks as F
    from canary.harness import cluster as C
    from canary.harness.assertions import RolloutAssertion
    from canary.harness.context import ScenarioContext
    from canary.harness.environments import SandboxEnvironment
    from canary.harness.report import ScenarioRecord, slug, write_report

    report_dir = Path(args.report_dir).resolve()
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="canary-demo-")).resolve()
    t0 = time.time()
    printer = LivePrinter(t0, args.time_scale)
    printer.say(f"starting the sandbox in {workdir} (time scale {args.time_scale:g}) ...")
    env = SandboxEnvironment(args.time_scale, workdir, Path.cwd(), keep=args.keep)
    try:
        env.start()
        env.start_engine()
    except KeyboardInterrupt:
        printer.say("interrupted while starting; cleaning up")
        env.stop()
        return 130
    except Exception as e:  # noqa: BLE001 - explain and stop, no traceback
        print(f"canary demo: the sandbox could not start: {e}", file=sys.stderr)
        env.stop()
        return 2
    printer.say(f"sandbox up: KUBECONFIG={env.kubeconfig}; engine log {env.engine.log_path}"
                if env.engine else "sandbox up")
    ctx = ScenarioContext(env=env, nodeid="canary demo", name="Flagger tutorial: promote 1.7.1",
                          feature_dir=Path.cwd(), time_scale=args.time_scale)
    ctx.begin()
    assert ctx.buffer is not None
    ctx.buffer.listen(printer)
    outcome, message = "passed", ""
    try:
        printer.say(f"$ {SETUP}")
        C.run(ctx, SETUP)
        for dep in ("podinfo", "load", "frontend"):
            C.wait_rolled_out(ctx, dep, "test")
        printer.say("demo running; applying the tutorial's Canary and MetricTemplate")
        C.apply_manifest(ctx, "podinfo-canary.yaml")
        F.wait_phase(ctx, "podinfo", "test", "Initialized", ctx.last_action,
                     F.phase_budget(ctx, "podinfo", "test"))
        C.wait_metrics_flowing(ctx, "podinfo-primary", "test")
        printer.say("Prometheus has Linkerd's metrics for podinfo-primary")
        C.check_frontend_version(ctx, "test", "1.7.0")
        printer.say("frontend answers 1.7.0")
        printer.say(f"$ {SET_IMAGE}")
        C.run(ctx, SET_IMAGE)
        F.wait_phase(ctx, "podinfo", "test", "Succeeded", ctx.last_action,
                     F.phase_budget(ctx, "podinfo", "test"))
        F.check_weights_follow_spec(ctx, "podinfo", "test")
        meta = ctx.timeline().meta
        printer.say(f"weights {meta.get('observed_weights')} match the spec "
                    f"(stepWeight 10, maxWeight 100)")
        C.check_frontend_version(ctx, "test", "1.7.1")
        printer.say("frontend answers 1.7.1: promoted")
    except (RolloutAssertion, AssertionError) as e:
        outcome, message = "failed", str(e)
        printer.say(f"FAILED: {e}")
    except KeyboardInterrupt:
        outcome, message = "failed", "interrupted"
        printer.say("interrupted; cleaning up")
    finally:
        ctx.stop_recording()
        tl = ctx.timeline()
        tl_path = tl.dump(report_dir / "timelines" / f"{slug(ctx.nodeid)}.json")
        if outcome != "passed":
            from canary.harness.cluster import collect_diagnostics

            try:
                ctx.diagnostics.update(collect_diagnostics(ctx))
            except Exception as e:  # noqa: BLE001
                ctx.diagnostics["diagnostics error"] = repr(e)
        rec = ScenarioRecord(nodeid=ctx.nodeid, feature="canary demo",
                             name="Flagger tutorial: podinfo 1.7.0 -> 1.7.1", outcome=outcome,
                             duration=time.time() - t0, message=message,
                             timeline_file=str(tl_path), diagnostics=ctx.diagnostics)
        path = write_report(report_dir, [rec], context={"environment": "sandbox",
                                                        "time scale": f"{args.time_scale:g}"})
        env.stop()
        printer.say(f"report: {path}")
        if args.keep:
            printer.say(f"sandbox kept: export KUBECONFIG={env.kubeconfig}; stop it with "
                        f"`canary sandbox down --dir {workdir}`")
    return 0 if outcome == "passed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
