"""`canary stat` / the `linkerd viz stat` shim: command line, linkerd-viz's queries, the table,
and the shim's place on PATH."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from canary.cli import stat as S
from canary.harness.linkerd_cli import install_linkerd_shim, path_appended


def test_the_seed_command_line_is_understood():
    req = S.parse_args(S.linkerd_argv(["viz", "-n", "test", "stat", "deploy", "--from",
                                       "deploy/load"]))
    assert (req.namespace, req.resource, req.name, req.from_kind, req.from_name,
            req.window_s) == ("test", "deployment", None, "deployment", "load", 60.0)
    req = S.parse_args(S.linkerd_argv(["viz", "stat", "po/podinfo-1", "-n", "x", "-t", "1m30s"]))
    assert (req.resource, req.name, req.namespace, req.window_s) == ("pod", "podinfo-1", "x", 90)


@pytest.mark.parametrize("argv, words", [
    (["viz", "stat", "svc"], "unsupported resource type 'svc'"),
    (["viz", "stat", "deploy", "-t", "5s"], "shorter than 15s"),
    (["viz", "stat", "deploy", "-t", "soon"], "--time-window"),
    (["viz", "stat", "deploy", "--from", "deploy"], "--from"),
    (["check"], "only runs `linkerd viz stat"),
])
def test_bad_arguments_name_the_argument(argv, words):
    with pytest.raises(S.UsageError, match=None) as e:
        S.parse_args(S.linkerd_argv(argv))
    assert words in str(e.value)


def test_from_queries_read_the_clients_outbound_side():
    req = S.parse_args(["-n", "test", "deploy", "--from", "deploy/load"])
    q = S.queries(req, S.prom_duration(60 * 0.05))
    labels = '{deployment="load", direction="outbound", dst_namespace="test", namespace="test"}'
    assert q["requests"] == (f"sum(increase(response_total{labels}[3000ms])) "
                             "by (dst_namespace, dst_deployment, classification, tls)")
    assert q["p99"].startswith(f"histogram_quantile(0.99, sum(irate(response_latency_ms_bucket"
                               f"{labels}[3000ms])) by (le, dst_namespace, dst_deployment))")
    assert q["tcp"] == f"sum(tcp_open_connections{labels}) by (dst_namespace, dst_deployment)"
    inbound = S.queries(S.parse_args(["-n", "test", "po"]), "60000ms")["requests"]
    assert '{direction="inbound", namespace="test"}' in inbound and "by (namespace, pod," in inbound


def test_rows_are_computed_as_linkerd_does():
    req = S.parse_args(["-n", "test", "deploy", "--from", "deploy/load"])
    a, b = {"dst_deployment": "podinfo"}, {"dst_deployment": "podinfo-primary"}
    results = {"requests": [({**a, "classification": "success"}, 179.6),
                            ({**a, "classification": "failure"}, 0.4),
                            ({**b, "classification": "success"}, 420.0)],
               "p50": [(a, 1.4), (b, float("nan"))], "p95": [(a, 9.5)], "p99": [(a, 19.0)],
               "tcp": [(a, 1.0), (b, 2.0)]}
    found = S.collect(req, results)
    assert (found["podinfo"].success, found["podinfo"].failure) == (180, 0)  # rounded counts
    rows = [S.Row("podinfo-primary", "1/1", found["podinfo-primary"]),
            S.Row("podinfo", "1/1", found["podinfo"]), S.Row("load", "1/1", None)]
    lines = S.format_table(rows, 60.0, pod=False).splitlines()
    assert lines[0].split() == list(S.HEADERS)
    assert [ln.split() for ln in lines[1:]] == [
        ["load", "1/1", "-", "-", "-", "-", "-", "-"],
        ["podinfo", "1/1", "100.00%", "3.0rps", "1ms", "10ms", "19ms", "1"],
        ["podinfo-primary", "1/1", "100.00%", "7.0rps", "0ms", "0ms", "0ms", "2"]]
    # columns right-aligned under their headers, names left-aligned
    assert all(len(ln) == len(lines[0]) for ln in lines[1:])
    assert S.format_table(rows[:1], 60.0, pod=True).split()[:3] == ["NAME", "STATUS", "MESHED"]


def test_the_shim_comes_last_on_path_and_runs_canary_stat(tmp_path):
    shim_dir, real_dir = tmp_path / "shim", tmp_path / "real"
    install_linkerd_shim(shim_dir)
    env = path_appended(shim_dir, dict(os.environ))
    assert env["PATH"].split(os.pathsep)[-1] == str(shim_dir)
    p = subprocess.run(["linkerd", "viz", "stat", "svc"], env=env, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 2 and "unsupported resource type 'svc'" in p.stderr
    # A real linkerd earlier on PATH wins.
    real_dir.mkdir()
    (real_dir / "linkerd").write_text("#!/bin/sh\necho real linkerd\n")
    (real_dir / "linkerd").chmod(0o755)
    env = path_appended(shim_dir, {**os.environ, "PATH": f"{real_dir}{os.pathsep}"
                                   f"{os.environ['PATH']}"})
    p = subprocess.run(["linkerd", "viz", "stat", "deploy"], env=env, capture_output=True,
                       text=True, timeout=30)
    assert p.stdout.strip() == "real linkerd"


def test_canary_stat_without_prometheus_says_how_to_get_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CANARY_PROMETHEUS_URL"}
    env["KUBECONFIG"] = str(tmp_path / "kubeconfig")
    p = subprocess.run([sys.executable, "-m", "canary.cli", "stat", "deploy"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "--prometheus" in p.stderr and "Traceback" not in p.stderr
