"""The ``canary`` command: dispatches to the sandbox, the engine and the rollouts plugin."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="canary", description=__doc__)
    parser.add_argument("command", choices=["sandbox", "engine", "rollouts", "demo", "simulate"])
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "sandbox":
        from canary.sandbox.manager import main as run
    elif cmd == "engine":
        from canary.controller.main import main as run
    elif cmd == "rollouts":
        from canary.controller.rollouts_cli import main as run
    elif cmd == "demo":
        from canary.harness.demo import main as run
    elif cmd == "simulate":
        from canary.simulate.cli import main as run
    else:
        parser.error(f"unknown command {cmd!r}")
    return int(run(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
