"""A Flagger loadtester look-alike (reference linkerd-podinfo.md §6.2).

Run: ``python -m canary.sandbox.apps.loadtester -port=8080 [-timeout=1h] [-namespace-regexp RE]``
(the image registry also installs it as ``./loadtester``; default port 9090 like Flagger's).

``POST /`` takes Flagger's webhook payload ``{name, namespace, phase, checksum, metadata}``:

- ``metadata.type`` absent or ``cmd``: ``sh -c "<metadata.cmd>"`` in the background, answered
  202 at once; a command already running for the same canary is not started again.
- ``bash`` (also ``kubectl``, ``helm``, ``helmv3``): ``bash -c`` synchronously; 200 (body = output
  when ``returnCmdOutput: "true"``) or 500 with the error text.
- anything else: 400 "unknown task type".

Commands run with the image shims first in ``PATH``, so ``hey`` and ``curl`` are the bundled
resolver-aware versions and in-cluster names like ``http://podinfo-canary.test:9898`` work.
``-timeout`` is scaled by the sandbox time scale, as ``hey -z`` is.

Gates keyed by ``<name>.<namespace>`` from the payload, closed at start: ``/gate/open``,
``/gate/close``, ``/rollback/open``, ``/rollback/close`` answer 202; ``/gate/check`` and
``/rollback/check`` answer 200 ``Approved`` when open, 403 ``Forbidden`` otherwise;
``/gate/approve`` is always 200, ``/gate/halt`` always 403. ``GET /healthz`` answers ``OK``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from typing import Any

from canary.clock import parse_duration
from canary.sandbox.apps.httpserver import Handler, pod_ip, serve, time_scale
from canary.sandbox.images import shim_dir, shim_path_env

SYNC_TYPES = ("bash", "kubectl", "helm", "helmv3")


class TaskRunner:
    """Background ``cmd`` tasks, de-duplicated by canary + command while running."""

    def __init__(self, timeout: float, env: dict[str, str]) -> None:
        self.timeout = timeout
        self.env = env
        self.lock = threading.Lock()
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, canary: str, cmd: str, log_output: bool) -> bool:
        key = hashlib.sha1(f"{canary}\0{cmd}".encode()).hexdigest()
        with self.lock:
            if key in self.running:
                print(f"command skipped {cmd!r} for {canary}: already running", flush=True)
                return False
            proc = subprocess.Popen(
                ["/bin/sh", "-c", cmd], env=self.env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
            self.running[key] = proc
        print(f"command starting {cmd!r} for {canary}", flush=True)
        threading.Thread(target=self._wait, args=(key, proc, cmd, canary, log_output),
                         daemon=True).start()
        return True

    def _wait(self, key: str, proc: subprocess.Popen[bytes], cmd: str, canary: str,
              log_output: bool) -> None:
        try:
            out, _ = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            out, _ = proc.communicate()
            print(f"command timed out {cmd!r} for {canary}", flush=True)
        finally:
            with self.lock:
                self.running.pop(key, None)
        print(f"command finished {cmd!r} for {canary} exit={proc.returncode}", flush=True)
        if log_output and out:
            print(out.decode(errors="replace"), flush=True)

    def stop_all(self) -> None:
        with self.lock:
            procs = list(self.running.values())
        for p in procs:
            _kill(p)

    def run_sync(self, task_type: str, cmd: str) -> tuple[bool, str]:
        if task_type in ("kubectl", "helm", "helmv3"):
            program = "helm" if task_type == "helmv3" else task_type
            if not cmd.lstrip().startswith(program):
                cmd = f"{program} {cmd}"
        try:
            res = subprocess.run(["bash", "-c", cmd], env=self.env, capture_output=True,
                                 timeout=self.timeout, start_new_session=True)
        except subprocess.TimeoutExpired:
            return False, f"command {cmd!r} timed out"
        out = (res.stdout + res.stderr).decode(errors="replace")
        if res.returncode != 0:
            return False, f"command {cmd} failed: {out} exit status {res.returncode}"
        return True, out


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, 15)
    except (ProcessLookupError, PermissionError):
        pass


class LoadtesterHandler(Handler):
    server_version = "flagger-loadtester"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self.send_text(200, "OK")
        elif path == "/metrics":
            self.send(200, b"", "text/plain; version=0.0.4")
        else:
            self.send_text(404, "404 page not found\n")

    # Go's net/http answers HEAD for GET routes; Flagger's tester probes with `wget --spider`
    do_HEAD = do_GET

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        body = self.read_body()
        srv: Any = self.server
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            self.send_text(400, "Bad Request: body is not a webhook payload")
            return
        name, ns = str(payload.get("name", "")), str(payload.get("namespace", ""))
        canary = f"{name}.{ns}"
        if srv.namespace_re and not srv.namespace_re.fullmatch(ns):
            self.send_text(403, "Forbidden")
            return
        if path == "/":
            self._task(payload, canary)
            return
        gates = {"/gate/": srv.gates, "/rollback/": srv.rollbacks}
        for prefix, store in gates.items():
            if path.startswith(prefix):
                action = path[len(prefix):]
                self._gate(prefix, action, store, canary)
                return
        self.send_text(404, "404 page not found\n")

    def _gate(self, prefix: str, action: str, store: dict[str, bool], canary: str) -> None:
        if prefix == "/gate/" and action == "approve":
            self.send_text(200, "Approved")
        elif prefix == "/gate/" and action == "halt":
            self.send_text(403, "Forbidden")
        elif action == "check":
            if store.get(canary, False):
                self.send_text(200, "Approved")
            else:
                self.send_text(403, "Forbidden")
        elif action in ("open", "close"):
            store[canary] = action == "open"
            print(f"{prefix.strip('/')} {action}ed for {canary}", flush=True)
            self.send(202)
        else:
            self.send_text(404, "404 page not found\n")

    def _task(self, payload: dict[str, Any], canary: str) -> None:
        meta = payload.get("metadata")
        if not isinstance(meta, dict) or not meta:
            self.send_text(400, "metadata not found in payload")
            return
        runner: TaskRunner = self.server.runner  # type: ignore[attr-defined]
        task_type = str(meta.get("type") or "cmd")
        cmd = meta.get("cmd")
        if task_type not in ("cmd", *SYNC_TYPES):
            self.send_text(400, f"unknown task type {task_type}")
            return
        if not isinstance(cmd, str) or not cmd.strip():
            self.send_text(400, "cmd not found in metadata")
            return
        if task_type == "cmd":
            runner.start(canary, cmd, str(meta.get("logCmdOutput", "")).lower() == "true")
            self.send(202)
            return
        ok, out = runner.run_sync(task_type, cmd)
        if not ok:
            self.send_text(500, out)
        elif str(meta.get("returnCmdOutput", "")).lower() == "true":
            self.send_text(200, out)
        else:
            self.send(200)


def _flag(p: argparse.ArgumentParser, name: str, **kw: Any) -> None:
    p.add_argument(f"-{name}", f"--{name}", dest=name.replace("-", "_"), **kw)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="loadtester", allow_abbrev=False)
    _flag(p, "port", type=int, default=9090)
    _flag(p, "timeout", default="1h")
    _flag(p, "namespace-regexp", default="")
    _flag(p, "log-level", default="info")
    _flag(p, "zap-stacktrace-level", default=None)
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        timeout = parse_duration(a.timeout) * time_scale()
    except ValueError as exc:
        p.error(f"-timeout: {exc}")
    try:
        ns_re = re.compile(a.namespace_regexp) if a.namespace_regexp else None
    except re.error as exc:
        p.error(f"-namespace-regexp: {exc}")
    env = dict(os.environ)
    env["PATH"] = shim_path_env(shim_dir(), env.get("PATH"))
    runner = TaskRunner(timeout, env)
    return serve(
        LoadtesterHandler, pod_ip(), a.port, name="loadtester", on_stop=runner.stop_all,
        server_attrs={"runner": runner, "gates": {}, "rollbacks": {}, "namespace_re": ns_re},
    )


if __name__ == "__main__":
    sys.exit(main())
