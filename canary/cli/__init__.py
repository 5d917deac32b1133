"""The ``canary`` command: dispatches to the sandbox, the engine and the rollouts plugin.

The commands' own parsers live with what they drive (``canary.sandbox.manager``,
``canary.controller.main``, ``canary.harness.demo``); ``canary.cli.rollouts`` is the
``kubectl argo rollouts`` look-alike, which drives nothing but the API."""

from __future__ import annotations

import sys
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "pytest-canary"

# command -> (module with main(argv), one line for --help)
COMMANDS = {
    "sandbox": ("canary.sandbox.manager",
                "start, stop and inspect the Docker-free sandbox cluster (up, down, status, ...)"),
    "engine": ("canary.controller.main",
               "run the Flagger- and Argo-Rollouts-compatible canary engine against a cluster"),
    "rollouts": ("canary.cli.rollouts",
                 "the `kubectl argo rollouts` verbs (get, set image, promote, abort, ...)"),
    "demo": ("canary.harness.demo",
             "the seed's Flagger tutorial end to end on a fresh sandbox, with the HTML report"),
    "kubectl-plugin": ("canary.cli.plugin_shim",
                       "write the `kubectl argo rollouts` shim into a folder (put it on PATH "
                       "after any real plugin)"),
    "stat": ("canary.cli.stat",
             "`linkerd viz stat` figures per deployment or pod, from Prometheus"),
    "simulate": ("canary.simulate.cli",
                 "judge a Canary or Rollout policy by Monte Carlo rollouts through the engine"),
}


def _version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (not installed)"


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: canary [--version] COMMAND [ARGS...]", "",
             "Prove that a progressive-delivery setup works: a canary engine, a sandbox",
             "cluster and the harness's tools. `canary COMMAND --help` for each.", "",
             "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"canary {_version()} ({DISTRIBUTION})")
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        print(f"canary: unknown command {cmd!r}\n\n{usage()}", file=sys.stderr)
        return 2
    run = import_module(COMMANDS[cmd][0]).main
    return int(run(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
