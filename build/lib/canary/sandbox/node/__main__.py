"""``python -m canary.sandbox.node --dir DIR``: run the sandbox node agent."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .agent import main


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m canary.sandbox.node",
                                description="Sandbox node agent: deployments, replicasets, "
                                            "endpoints and pods as local processes.")
    p.add_argument("--dir", default=".sandbox", help="sandbox directory (with config.json)")
    p.add_argument("--log-level", default="INFO", type=str.upper,
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--wait", type=float, default=30.0,
                   help="seconds to wait for DIR/config.json to name the API server")
    args = p.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level,
                        format="%(asctime)s %(levelname)s %(message)s")
    return main(Path(args.dir).resolve(), wait=args.wait)


if __name__ == "__main__":
    sys.exit(cli())
