"""`canary engine` start-up as a user meets it: a kubeconfig that kubectl would accept starts it
(merged KUBECONFIG lists, exec credential plugins), a malformed one or an API that never answers
ends it with one line and a non-zero exit, never a traceback or an endless stream of warnings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import yaml
from support.apiserver import ApiServer

pytestmark = pytest.mark.timeout(60)


def _engine(kubeconfig: str | None, *args: str, env: dict | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "canary.cli", "engine", *args]
    if kubeconfig:
        cmd += ["--kubeconfig", kubeconfig]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def test_unreachable_api_exits_after_the_startup_timeout_with_one_line(tmp_path):
    kc = tmp_path / "kubeconfig"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "c", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "c"}}]}))
    p = _engine(str(kc), "--startup-timeout", "1")
    _, err = p.communicate(timeout=30)
    assert p.returncode == 1
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err and len(lines) <= 2, err
    assert "127.0.0.1:9 unreachable" in lines[-1] and "gave up after 1s" in lines[-1]
    assert len(lines[-1]) < 200


def test_malformed_kubeconfig_is_one_line(tmp_path):
    kc = tmp_path / "kubeconfig"
    kc.write_text("clusters: [oops")
    p = _engine(str(kc))
    _, err = p.communicate(timeout=30)
    assert p.returncode == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [f"canary engine: kubeconfig {kc} is malformed: "
                                        + err.split("is malformed: ", 1)[1].strip()]


def test_merged_kubeconfig_with_an_exec_plugin_starts_the_engine(tmp_path):
    server = ApiServer(tmp_path)
    server.start()
    try:
        plugin = tmp_path / "get-token"
        plugin.write_text("#!/bin/sh\ncat <<EOF\n" + json.dumps({
            "apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
            "status": {"token": server.token}}) + "\nEOF\n")
        plugin.chmod(0o755)
        doc = yaml.safe_load(server.kubeconfig.read_text())
        doc["users"][0]["user"] = {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin),
            "interactiveMode": "Never"}}
        first, second = tmp_path / "a", tmp_path / "b"
        first.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config"}))
        second.write_text(yaml.safe_dump(doc))
        p = _engine(None, env={"KUBECONFIG": f"{first}:{second}"})
        try:
            assert p.stdout is not None
            line = p.stdout.readline()
            assert "metrics on http://127.0.0.1:" in line, p.stderr.read() if p.stderr else ""
        finally:
            p.send_signal(signal.SIGTERM)
            _, err = p.communicate(timeout=20)
        assert p.returncode == 0 and "Unauthorized" not in err, err
    finally:
        server.stop()
