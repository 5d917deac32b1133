"""``canary rollouts``: the kubectl-argo-rollouts verbs this project needs.

``get [rollout] NAME [--watch]``, ``promote NAME [--full]``, ``abort NAME``,
``retry [rollout] NAME``, ``set-image NAME CONTAINER=IMAGE`` (also ``set image``), ``status NAME``.
promote/abort/retry send exactly the patches the kubectl plugin sends (status patches go to the
status subresource, falling back to the main resource as the plugin does).
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="canary rollouts",
                                description="Inspect and drive Argo Rollouts.")
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
    s = sub.add_parser("status", help="print '<Phase> - <Message>' once")
    s.add_argument("name")
    return p


def _common(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument("-n", "--namespace", default=default,
                   help="namespace (default: the kubeconfig's)")
    p.add_argument("--kubeconfig", default=default,
                   help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    p.add_argument("--context", default=default, help="kubeconfig context")


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
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
        ro = get_rollout(client, ns, args.name)
        phase, msg = display_phase(ro)
        out.write(f"{phase} - {msg}\n" if msg else f"{phase}\n")
        return 0
    raise CliError(f"unknown verb {args.verb}")


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
    rss = [rs for rs in client.items("apps/v1", "ReplicaSet", ns)
           if any(o.get("uid") == ro["metadata"].get("uid")
                  for o in rs["metadata"].get("ownerReferences") or [])]
    return render_rollout(ro, rss, now if now is not None else time.time())


def render_rollout(ro: Obj, rss: list[Obj], now: float) -> str:
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
    for i, rs in enumerate(ordered):
        last = i == len(ordered) - 1
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
        rows.append((f"{' ' if last else '│'}  └──⧉ {md['name']}", "ReplicaSet", state,
                     _age(md.get("creationTimestamp"), now), ",".join(info)))
    width = max(len(r[0]) for r in rows) + 2
    lines.append(f"{'NAME':<{width}}{'KIND':<12}{'STATUS':<16}{'AGE':<6}INFO")
    for r in rows:
        lines.append(f"{r[0]:<{width}}{r[1]:<12}{r[2]:<16}{r[3]:<6}{r[4]}".rstrip())
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def plugin_main() -> int:
    """``kubectl-argo-rollouts``: with the venv on PATH, the seed's ``kubectl argo rollouts ...``
    lines run unchanged (stock kubectl finds plugins on PATH)."""
    return main(sys.argv[1:])
