"""``canary rollouts``: the kubectl-argo-rollouts verbs this project needs.

``get [rollout] NAME [--watch]``, ``list rollouts [-A]``, ``promote NAME [--full]``,
``abort NAME``, ``retry [rollout] NAME``, ``pause NAME``, ``undo NAME [--to-revision N]``,
``restart NAME [--in 10s]``, ``set-image NAME CONTAINER=IMAGE`` (also ``set image``),
``status NAME [--watch] [--timeout 60s]``, ``version``. Each sends exactly the patch the kubectl
plugin sends (argoproj/argo-rollouts pkg/kubectl-argo-rollouts/cmd/*; status patches go to the
status subresource, falling back to the main resource as the plugin does) and prints its
messages. Run as ``kubectl argo rollouts`` (the ``kubectl-argo-rollouts`` shim), usage and
errors name the plugin.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from typing import Any, TextIO

from canary.engine.argo import current_set_weight, parse_time
from canary.kube.client import (
    ApiError,
    ApiUnavailable,
    KubeClient,
    NotFound,
    Obj,
    retry_on_conflict,
)
from canary.spec.rollout import (
    HASH_LABEL,
    REVISION_ANNOTATION,
    SCALE_DOWN_ANNOTATION,
    parse_rollout,
)

API = "argoproj.io/v1alpha1"
ICONS = {"Healthy": "✔", "Progressing": "◌", "Paused": "॥", "Degraded": "✖"}


class CliError(Exception):
    pass


PLUGIN_PROG = "kubectl argo rollouts"


def _parser(prog: str = "canary rollouts") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Inspect and drive Argo Rollouts.")
    _common(p, None)
    # The same flags are accepted after the verb too (kubectl style).
    common = argparse.ArgumentParser(add_help=False)
    _common(common, argparse.SUPPRESS)
    sub = p.add_subparsers(dest="verb", required=True)
    real_add = sub.add_parser

    def add_parser(name: str, **kw: Any) -> argparse.ArgumentParser:
        return real_add(name, parents=[common], **kw)

    sub.add_parser = add_parser  # type: ignore[method-assign]
    g = sub.add_parser("get", help="show a rollout (step, weights, phase, ReplicaSets)")
    g.add_argument("args", nargs="+", metavar="[rollout] NAME")
    g.add_argument("-w", "--watch", action="store_true", help="keep showing changes live")
    g.add_argument("--timeout-seconds", type=float, default=0,
                   help="stop watching after this many seconds (0: never)")
    pr = sub.add_parser("promote", help="promote a rollout paused at a canary step")
    pr.add_argument("name")
    pr.add_argument("--full", action="store_true",
                    help="perform a full promotion, skipping analysis, pauses, and steps")
    ab = sub.add_parser("abort", help="abort a rollout: traffic back to stable")
    ab.add_argument("name")
    rt = sub.add_parser("retry", help="retry an aborted rollout from step 0")
    rt.add_argument("args", nargs="+", metavar="[rollout] NAME")
    si = sub.add_parser("set-image", help="update a container image: NAME CONTAINER=IMAGE")
    si.add_argument("name")
    si.add_argument("images", nargs="+", metavar="CONTAINER=IMAGE")
    st = sub.add_parser("set", help="`set image NAME CONTAINER=IMAGE` (kubectl plugin spelling)")
    st.add_argument("what", choices=["image"])
    st.add_argument("name")
    st.add_argument("images", nargs="+", metavar="CONTAINER=IMAGE")
    s = sub.add_parser("status", help="show the status of a rollout ('<Phase> - <Message>')")
    s.add_argument("name")
    s.add_argument("-w", "--watch", nargs="?", const="true", default="true",
                   choices=["true", "false"], help="watch until Healthy or Degraded (default)")
    s.add_argument("-t", "--timeout", default="0s",
                   help="the length of time to watch before giving up (e.g. 60s; 0: never)")
    sub.add_parser("version", help="print version")
    ls = sub.add_parser("list", help="list rollouts")
    ls.add_argument("what", choices=["rollouts", "rollout", "ro"])
    ls.add_argument("-A", "--all-namespaces", action="store_true",
                    help="include all namespaces")
    ls.add_argument("--name", default="", help="only show rollout with specified name")
    pa = sub.add_parser("pause", help="pause a rollout")
    pa.add_argument("name")
    un = sub.add_parser("undo", help="undo a rollout (roll back to the previous revision)")
    un.add_argument("name")
    un.add_argument("--to-revision", type=int, default=0,
                    help="the revision to roll back to (default: the previous one)")
    rs = sub.add_parser("restart", help="restart the pods of a rollout")
    rs.add_argument("name")
    rs.add_argument("-i", "--in", dest="in_", default="",
                    help="amount of time before a restart (e.g. 30s, 5m, 1h)")
    return p


def _common(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument("-n", "--namespace", default=default,
                   help="namespace (default: the kubeconfig's)")
    p.add_argument("--kubeconfig", default=default,
                   help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    p.add_argument("--context", default=default, help="kubeconfig context")


def main(argv: list[str], prog: str = "canary rollouts") -> int:
    args = _parser(prog).parse_args(argv)
    if args.verb == "version":
        sys.stdout.write(version_text(prog))
        return 0
    try:
        client = KubeClient.from_kubeconfig(args.kubeconfig, args.context)
        ns = args.namespace or client.config.namespace
        return _dispatch(client, ns, args, sys.stdout)
    except CliError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    except NotFound as e:
        print(f"Error: {e.message or e}", file=sys.stderr)
        return 1
    except (ApiError, ApiUnavailable) as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _name(words: list[str]) -> str:
    if len(words) == 2 and words[0] in ("rollout", "rollouts", "ro"):
        return words[1]
    if len(words) == 1:
        return words[0]
    raise CliError(f"expected [rollout] NAME, got {' '.join(words)!r}")


def _dispatch(client: KubeClient, ns: str, args: argparse.Namespace, out: TextIO) -> int:
    if args.verb == "get":
        name = _name(args.args)
        if args.watch:
            return watch(client, ns, name, out, args.timeout_seconds)
        out.write(render(client, ns, name) + "\n")
        return 0
    if args.verb == "promote":
        promote(client, ns, args.name, full=args.full)
        out.write(f"rollout '{args.name}' {'fully promoted' if args.full else 'promoted'}\n")
        return 0
    if args.verb == "abort":
        abort(client, ns, args.name)
        out.write(f"rollout '{args.name}' aborted\n")
        return 0
    if args.verb == "retry":
        name = _name(args.args)
        retry(client, ns, name)
        out.write(f"rollout '{name}' retried\n")
        return 0
    if args.verb in ("set-image", "set"):
        set_image(client, ns, args.name, args.images)
        out.write(f"rollout \"{args.name}\" image updated\n")
        return 0
    if args.verb == "status":
        return status(client, ns, args.name, out, watch=args.watch == "true",
                      timeout=_cli_duration(args.timeout, "--timeout"))
    if args.verb == "list":
        return list_rollouts(client, None if args.all_namespaces else ns, out, args.name)
    if args.verb == "pause":
        get_rollout(client, ns, args.name)
        client.patch(API, "Rollout", args.name, {"spec": {"paused": True}}, ns)
        out.write(f"rollout '{args.name}' paused\n")
        return 0
    if args.verb == "undo":
        out.write(undo(client, ns, args.name, args.to_revision))
        return 0
    if args.verb == "restart":
        delay = _cli_duration(args.in_, "--in") if args.in_ else 0.0
        restart(client, ns, args.name, time.time() + delay)
        out.write(f"rollout '{args.name}' restarts in {args.in_ or '0s'}\n")
        return 0
    raise CliError(f"unknown verb {args.verb}")


def _cli_duration(text: str, flag: str) -> float:
    from canary.spec.analysis import go_duration

    try:
        return go_duration(text)
    except ValueError as e:
        raise CliError(f"{flag}: {e}") from None


def version_text(prog: str) -> str:
    """The plugin prints ``kubectl-argo-rollouts: <version>`` (cmd/version/version.go)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("canary")
    except PackageNotFoundError:
        ours = "unknown"
    name = "kubectl-argo-rollouts" if prog == PLUGIN_PROG else "canary rollouts"
    return (f"{name}: v{ours}+canary\n"
            f"  Implementation: the canary harness's Argo Rollouts shim (not Argo's own plugin)\n"
            f"  Platform: {sys.platform}\n")


# -- list, status, undo, restart ---------------------------------------------------------------


def list_rollouts(client: KubeClient, ns: str | None, out: TextIO, name: str = "") -> int:
    """The ``list rollouts`` table (cmd/list/rollloutinfo.go column order)."""
    ros = [r for r in client.items(API, "Rollout", ns) if not name
           or r["metadata"]["name"] == name]
    if not ros:
        sys.stderr.write("No resources found.\n")
        return 0
    head = ["NAME", "STRATEGY", "STATUS", "STEP", "SET-WEIGHT", "READY", "DESIRED",
            "UP-TO-DATE", "AVAILABLE"]
    if ns is None:
        head.insert(0, "NAMESPACE")
    rows = [head]
    for ro in sorted(ros, key=lambda r: (r["metadata"].get("namespace", ""),
                                         r["metadata"]["name"])):
        spec = parse_rollout(ro)
        st = ro.get("status") or {}
        phase, _ = display_phase(ro)
        idx = st.get("currentStepIndex")
        step = f"{idx}/{len(spec.steps)}" if idx is not None and spec.steps else "-"
        weight = current_set_weight(spec, int(idx or 0), bool(st.get("abort")))
        row = [spec.name, "Canary", phase, step, str(weight),
               f"{st.get('readyReplicas', 0)}/{st.get('replicas', 0)}", str(spec.replicas),
               str(st.get("updatedReplicas", 0)), str(st.get("availableReplicas", 0))]
        if ns is None:
            row.insert(0, spec.namespace)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")
    return 0


def status(client: KubeClient, ns: str, name: str, out: TextIO, watch: bool = True,
           timeout: float = 0.0, stop: threading.Event | None = None) -> int:
    """``status``: one line per change until Healthy (0) or Degraded (1); Paused never ends the
    watch (cmd/status/status.go)."""
    deadline = time.monotonic() + timeout if timeout else None
    last = None
    stop = stop or threading.Event()
    while True:
        phase, msg = display_phase(get_rollout(client, ns, name))
        line = f"{phase} - {msg}" if msg else phase
        if not watch:
            out.write((phase if phase in ("Healthy", "Degraded") else line) + "\n")
            return 0
        if line != last:
            out.write(line + "\n")
            out.flush()
            last = line
        if phase == "Healthy":
            return 0
        if phase == "Degraded":
            sys.stderr.write(f"Error: The rollout is in a degraded state with message: {msg}\n")
            return 1
        if deadline is not None and time.monotonic() > deadline:
            sys.stderr.write("Error: Rollout status watch exceeded timeout\n")
            return 1
        if stop.wait(0.2):
            return 0


def undo(client: KubeClient, ns: str, name: str, to_revision: int = 0) -> str:
    """Put the template of an earlier revision's ReplicaSet back into the Rollout
    (cmd/undo/undo.go: the previous revision by default; a JSON patch of spec.template)."""
    ro = get_rollout(client, ns, name)
    uid = ro["metadata"].get("uid")
    rss = [rs for rs in client.items("apps/v1", "ReplicaSet", ns)
           if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or [])]
    if not rss:
        raise CliError(f'no revision found for rollout "{name}"')
    by_rev = {_revision(rs): rs for rs in rss}
    current = max(by_rev)
    if to_revision == 0:
        older = [r for r in by_rev if r < current]
        if not older:
            raise CliError(f'no revision found for rollout "{name}"')
        to_revision = max(older)
    rs = by_rev.get(to_revision)
    if rs is None:
        raise CliError(f"unable to find specified revision {to_revision} in history")
    template = json.loads(json.dumps((rs.get("spec") or {}).get("template") or {}))
    labels = (template.get("metadata") or {}).get("labels") or {}
    labels.pop(HASH_LABEL, None)
    if template == (ro.get("spec") or {}).get("template"):
        return f"skipped rollback (current template already matches revision {to_revision})\n"
    client.patch(API, "Rollout", name, [{"op": "replace", "path": "/spec/template",
                                         "value": template}], ns, "json")
    return f"rollout '{name}' undo\n"


def restart(client: KubeClient, ns: str, name: str, at: float) -> None:
    get_rollout(client, ns, name)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    client.patch(API, "Rollout", name, {"spec": {"restartAt": stamp}}, ns)


# -- verbs (the same patches the kubectl plugin sends) -----------------------------------------


def get_rollout(client: KubeClient, ns: str, name: str) -> Obj:
    try:
        return client.get(API, "Rollout", name, ns)
    except NotFound:
        raise CliError(f'rollouts.argoproj.io "{name}" not found in namespace {ns}') from None


def _patch_status(client: KubeClient, ns: str, name: str, patch: dict[str, Any]) -> None:
    try:
        client.patch(API, "Rollout", name, patch, ns, "merge", "status")
    except NotFound:
        # No status subresource: the plugin falls back to patching the main resource.
        client.patch(API, "Rollout", name, patch, ns, "merge")


def promote_patches(ro: Obj, full: bool) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(spec patch, status patch) as ``kubectl argo rollouts promote`` computes them."""
    spec = ro.get("spec") or {}
    status = ro.get("status") or {}
    spec_patch = {"spec": {"paused": False}} if spec.get("paused") else None
    if full:
        if status.get("currentPodHash") != status.get("stableRS"):
            return spec_patch, {"status": {"promoteFull": True}}
        return spec_patch, None
    if status.get("pauseConditions"):
        return spec_patch, {"status": {"pauseConditions": None}}
    if (spec.get("strategy") or {}).get("canary") is not None:
        steps = ((spec.get("strategy") or {}).get("canary") or {}).get("steps") or []
        index = int(status.get("currentStepIndex") or 0)
        if index < len(steps):
            index += 1
        return spec_patch, {"status": {"pauseConditions": None, "currentStepIndex": index}}
    return spec_patch, None


def promote(client: KubeClient, ns: str, name: str, full: bool = False) -> None:
    ro = get_rollout(client, ns, name)
    spec_patch, status_patch = promote_patches(ro, full)
    if spec_patch:
        client.patch(API, "Rollout", name, spec_patch, ns)
    if status_patch:
        _patch_status(client, ns, name, status_patch)


def abort(client: KubeClient, ns: str, name: str) -> None:
    get_rollout(client, ns, name)
    _patch_status(client, ns, name, {"status": {"abort": True}})


def retry(client: KubeClient, ns: str, name: str) -> None:
    get_rollout(client, ns, name)
    _patch_status(client, ns, name, {"status": {"abort": False}})


def set_image(client: KubeClient, ns: str, name: str, images: list[str]) -> None:
    wanted: dict[str, str] = {}
    for item in images:
        container, sep, image = item.partition("=")
        if not sep or not container or not image:
            raise CliError(f"expected CONTAINER=IMAGE, got {item!r}")
        wanted[container] = image

    def attempt() -> Obj:
        ro = get_rollout(client, ns, name)
        pod = ((ro.get("spec") or {}).get("template") or {}).get("spec") or {}
        containers = (pod.get("containers") or []) + (pod.get("initContainers") or [])
        names = [c.get("name") for c in containers]
        for cname, image in wanted.items():
            if cname != "*" and cname not in names:
                raise CliError(f'unable to find container named "{cname}" in rollout {name} '
                               f"(containers: {', '.join(str(n) for n in names)})")
            for c in containers:
                if cname in ("*", c.get("name")):
                    c["image"] = image
        return client.update(ro)

    retry_on_conflict(attempt)


# -- display ---------------------------------------------------------------------------------


def display_phase(ro: Obj) -> tuple[str, str]:
    """Argo's ``GetRolloutPhase``: the written phase, unless the controller is behind."""
    status = ro.get("status") or {}
    gen = (ro.get("metadata") or {}).get("generation")
    if gen is not None and status.get("observedGeneration") != str(gen):
        return "Progressing", "waiting for rollout spec update to be observed"
    if status.get("controllerPause") and not status.get("pauseConditions"):
        return "Progressing", "waiting for rollout to unpause"
    return status.get("phase") or "Progressing", status.get("message") or ""


def _age(ts: str | None, now: float) -> str:
    t = parse_time(ts)
    if t is None:
        return ""
    secs = max(0, int(now - t))
    if secs < 120:
        return f"{secs}s"
    if secs < 7200:
        return f"{secs // 60}m"
    if secs < 172800:
        return f"{secs // 3600}h"
    return f"{secs // 86400}d"


def _images(template: dict[str, Any]) -> list[str]:
    return [c.get("image", "") for c in ((template.get("spec") or {}).get("containers") or [])]


def render(client: KubeClient, ns: str, name: str, now: float | None = None) -> str:
    """The ``kubectl argo rollouts get rollout`` view: header block, then the RS tree."""
    ro = get_rollout(client, ns, name)

    def owned(objs: list[Obj]) -> list[Obj]:
        return [o for o in objs if any(r.get("uid") == ro["metadata"].get("uid")
                                       for r in o["metadata"].get("ownerReferences") or [])]

    rss = owned(client.items("apps/v1", "ReplicaSet", ns))
    try:
        runs = owned(client.items(API, "AnalysisRun", ns))
    except NotFound:
        runs = []  # AnalysisRun CRD not installed
    return render_rollout(ro, rss, now if now is not None else time.time(), runs)


RUN_ICONS = {"Successful": "✔", "Inconclusive": "?", "Failed": "✖", "Error": "⚠",
             "Running": "◌", "Pending": "◷"}


def _run_row(run: Obj, prefix: str, now: float) -> tuple[str, str, str, str, str]:
    """An AnalysisRun line of the tree (cmd/get/get_rollout.go PrintAnalysisRunInfo): its
    phase and the measurement counts ✔ successful, ✖ failed, ? inconclusive, ⚠ error."""
    st = run.get("status") or {}
    phase = st.get("phase") or "Pending"
    counts = {"successful": 0, "failed": 0, "inconclusive": 0, "error": 0}
    for r in st.get("metricResults") or []:
        for k in counts:
            counts[k] += int(r.get(k) or 0)
    info = [f"{icon} {counts[k]}" for k, icon in (("successful", "✔"), ("failed", "✖"),
                                                   ("inconclusive", "?"), ("error", "⚠"))
            if counts[k]]
    return (f"{prefix}α {run['metadata']['name']}", "AnalysisRun",
            f"{RUN_ICONS.get(phase, ' ')} {phase}",
            _age(run["metadata"].get("creationTimestamp"), now), ",".join(info))


def render_rollout(ro: Obj, rss: list[Obj], now: float, runs: list[Obj] | None = None) -> str:
    spec = parse_rollout(ro)
    status = ro.get("status") or {}
    phase, msg = display_phase(ro)
    steps = len(spec.steps)
    index = int(status.get("currentStepIndex") or 0) if steps else 0
    aborted = bool(status.get("abort"))
    weights = (status.get("canary") or {}).get("weights") or {}
    actual = (weights.get("canary") or {}).get("weight")
    stable, canary = status.get("stableRS"), status.get("currentPodHash")
    lines = [f"{'Name:':<17}{spec.name}", f"{'Namespace:':<17}{spec.namespace}",
             f"{'Status:':<17}{ICONS.get(phase, '?')} {phase}"]
    if msg:
        lines.append(f"{'Message:':<17}{msg}")
    lines.append(f"{'Strategy:':<17}Canary")
    if steps:
        lines.append(f"{'  Step:':<17}{index}/{steps}")
    lines.append(f"{'  SetWeight:':<17}{current_set_weight(spec, index if steps else 0, aborted)}")
    if not spec.traffic_routed:
        # Basic canary: the share of available pods that run the canary revision.
        avail = {(r["metadata"].get("labels") or {}).get(HASH_LABEL):
                 int((r.get("status") or {}).get("availableReplicas") or 0) for r in rss}
        total = sum(avail.values())
        actual = round(100 * avail.get(canary, 0) / total) if total else 0
    if steps and index >= steps:
        actual = spec.max_weight  # past the last step is full weight
    lines.append(f"{'  ActualWeight:':<17}{actual if actual is not None else 0}")
    by_hash = {(rs["metadata"].get("labels") or {}).get(HASH_LABEL): rs for rs in rss}
    imgs: list[str] = []
    for h, tag in ((stable, "stable"), (canary, "canary")):
        rs = by_hash.get(h)
        if rs is None or (tag == "canary" and h == stable):
            continue
        imgs += [f"{i} ({tag})" for i in _images((rs.get("spec") or {}).get("template") or {})]
    if not imgs:
        imgs = _images(spec.template)
    for i, img in enumerate(imgs):
        lines.append(f"{'Images:' if i == 0 else '':<17}{img}")
    lines += ["Replicas:",
              f"{'  Desired:':<17}{spec.replicas}",
              f"{'  Current:':<17}{status.get('replicas', 0)}",
              f"{'  Updated:':<17}{status.get('updatedReplicas', 0)}",
              f"{'  Ready:':<17}{status.get('readyReplicas', 0)}",
              f"{'  Available:':<17}{status.get('availableReplicas', 0)}", ""]
    rows = [(f"⟳ {spec.name}", "Rollout", f"{ICONS.get(phase, '?')} {phase}",
             _age(ro["metadata"].get("creationTimestamp"), now), "")]
    ordered = sorted(rss, key=lambda r: -_revision(r))
    runs_by_rev: dict[int, list[Obj]] = {}
    for run in sorted(runs or [], key=lambda r: (r["metadata"].get("creationTimestamp") or "",
                                                 r["metadata"]["name"])):
        runs_by_rev.setdefault(_revision(run), []).append(run)
    for i, rs in enumerate(ordered):
        last = i == len(ordered) - 1
        pipe = " " if last else "│"
        rev_runs = runs_by_rev.get(_revision(rs), [])
        md = rs["metadata"]
        h = (md.get("labels") or {}).get(HASH_LABEL)
        info = [t for hh, t in ((stable, "stable"), (canary, "canary")) if h == hh]
        if h == stable == canary:
            info = ["stable"]
        deadline = parse_time((md.get("annotations") or {}).get(SCALE_DOWN_ANNOTATION))
        if deadline is not None and deadline > now:
            info.append(f"delay:{math.ceil(deadline - now)}s")
        want = int((rs.get("spec") or {}).get("replicas", 0))
        avail = int((rs.get("status") or {}).get("availableReplicas") or 0)
        state = ("• ScaledDown" if want == 0 else
                 "✔ Healthy" if avail >= want else "◌ Progressing")
        rows.append((f"{'└' if last else '├'}──# revision:{_revision(rs)}", "", "", "", ""))
        rows.append((f"{pipe}  {'├' if rev_runs else '└'}──⧉ {md['name']}", "ReplicaSet", state,
                     _age(md.get("creationTimestamp"), now), ",".join(info)))
        for j, run in enumerate(rev_runs):
            branch = "└" if j == len(rev_runs) - 1 else "├"
            rows.append(_run_row(run, f"{pipe}  {branch}──", now))
    width = max(len(r[0]) for r in rows) + 2
    lines.append(f"{'NAME':<{width}}{'KIND':<13}{'STATUS':<16}{'AGE':<6}INFO")
    for r in rows:
        lines.append(f"{r[0]:<{width}}{r[1]:<13}{r[2]:<16}{r[3]:<6}{r[4]}".rstrip())
    return "\n".join(lines)


def _revision(rs: Obj) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "0"))
    except ValueError:
        return 0


def watch(client: KubeClient, ns: str, name: str, out: TextIO, timeout: float = 0,
          stop: threading.Event | None = None) -> int:
    """Re-render whenever the view changes (polled every 200 ms, as the plugin's ticker).

    On a terminal the screen is redrawn; otherwise each changed view is printed as a new block.
    Runs until ``timeout`` seconds (0: until interrupted) or until ``stop`` is set.
    """
    deadline = time.monotonic() + timeout if timeout else None
    tty = out.isatty()
    last = None
    stop = stop or threading.Event()
    while (deadline is None or time.monotonic() < deadline) and not stop.is_set():
        try:
            view = render(client, ns, name)
        except (ApiError, ApiUnavailable) as e:
            view = f"Error: {e}"
        compare = "\n".join(ln for ln in view.splitlines() if "AGE" not in ln)
        compare = json.dumps([_strip_age(ln) for ln in compare.splitlines()])
        if compare != last:
            if tty:
                out.write("\x1b[H\x1b[2J")
            elif last is not None:
                out.write("\n")
            out.write(view + "\n")
            out.flush()
            last = compare
        stop.wait(0.2)
    return 0


def _strip_age(line: str) -> str:
    # Ages tick every second; a non-tty watch prints a new block only when something else moved.
    return " ".join(w for w in line.split() if not (w[:-1].isdigit() and w[-1] in "smhd")
                    and "delay:" not in w)


def plugin_main() -> int:
    """``kubectl-argo-rollouts``: with the venv on PATH, the seed's ``kubectl argo rollouts ...``
    lines run unchanged (stock kubectl finds plugins on PATH)."""
    return main(sys.argv[1:], PLUGIN_PROG)


if __name__ == "__main__":
    sys.exit(plugin_main())  # `python -m canary.cli.rollouts` is the kubectl plugin
