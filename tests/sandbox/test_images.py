"""The image registry: image references -> local programs, as the node agent will run them."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from canary.sandbox.apps.procs import loopback_ip, wait_listening
from canary.sandbox.images import ImageConfigError, ImageRun, parse_image, resolve_image
from canary.sandbox.resolver import http_request

DEMO_LOAD_CMD = ["/bin/sh", "-c",
                 "slow_cooker -qps ${QPS} -concurrency ${CONCURRENCY} http://podinfo:9898"]


def run_pod(run: ImageRun, ip: str, sandbox: Path, env: dict[str, str] | None = None,
            ) -> subprocess.Popen[bytes]:
    """Start a container the way the node agent does: pod env + image env + container env."""
    full = dict(os.environ)
    full.update(run.env)
    full.update({"POD_IP": ip, "POD_NAME": "pod-1", "POD_NAMESPACE": "test",
                 "CANARY_SANDBOX_DIR": str(sandbox)})
    full.update(env or {})
    return subprocess.Popen(run.argv, cwd=run.cwd, env=full, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


@pytest.mark.parametrize(
    ("image", "repo", "tag"),
    [
        ("nginx:alpine", "docker.io/library/nginx", "alpine"),
        ("nginx", "docker.io/library/nginx", "latest"),
        ("quay.io/stefanprodan/podinfo:1.7.0", "quay.io/stefanprodan/podinfo", "1.7.0"),
        ("stefanprodan/podinfo:6.0.0", "docker.io/stefanprodan/podinfo", "6.0.0"),
        ("localhost:5000/app:v1@sha256:abc", "localhost:5000/app", "v1"),
    ],
)
def test_parse_image(image: str, repo: str, tag: str) -> None:
    ref = parse_image(image)
    assert (ref.repository, ref.tag) == (repo, tag)


def test_podinfo_images_use_tag_as_version(tmp_path: Path) -> None:
    for image, tag in [("quay.io/stefanprodan/podinfo:1.7.0", "1.7.0"),
                       ("ghcr.io/stefanprodan/podinfo:6.0.1", "6.0.1"),
                       ("stefanprodan/podinfo:6.0.2", "6.0.2")]:
        run = resolve_image(image, ["./podinfo", "--port=9898"], None, sandbox_dir=tmp_path)
        assert run is not None and run.app == "podinfo"
        assert run.env["CANARY_IMAGE_TAG"] == tag
        assert run.argv == [str(tmp_path / "bin" / "podinfo"), "--port=9898"]
    # No command: the image's default ./podinfo; args alone are podinfo's flags.
    run = resolve_image("quay.io/stefanprodan/podinfo:1.7.0", None, ["--random-error"],
                        sandbox_dir=tmp_path)
    assert run is not None and run.argv[1:] == ["--random-error"]


def test_other_builtin_images(tmp_path: Path) -> None:
    load = resolve_image("buoyantio/slow_cooker:1.2.0", DEMO_LOAD_CMD, None, sandbox_dir=tmp_path)
    assert load is not None and load.app == "loadgen"
    assert load.argv == DEMO_LOAD_CMD  # the real shell runs it; slow_cooker is found on PATH
    assert load.env["PATH"].split(":")[0] == str(tmp_path / "bin")
    assert (tmp_path / "bin" / "slow_cooker").stat().st_mode & 0o111
    nginx = resolve_image("nginx:alpine", None, None, sandbox_dir=tmp_path)
    assert nginx is not None and nginx.app == "frontend"
    assert nginx.argv == [str(tmp_path / "bin" / "nginx"), "-g", "daemon off;"]
    lt = resolve_image("ghcr.io/fluxcd/flagger-loadtester:0.38.0",
                       ["./loadtester", "-port=8080", "-log-level=info", "-timeout=1h"], None,
                       sandbox_dir=tmp_path)
    assert lt is not None and lt.app == "loadtester"
    assert lt.argv[0] == str(tmp_path / "bin" / "loadtester")


def test_unknown_image_is_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CANARY_IMAGES", raising=False)
    assert resolve_image("example.com/nope:1.0", None, None, sandbox_dir=tmp_path) is None
    assert resolve_image("quay.io/someoneelse/podinfo:1.7.0", None, None,
                         sandbox_dir=tmp_path) is None
    assert resolve_image("", None, None, sandbox_dir=tmp_path) is None


def test_user_config_maps_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CANARY_IMAGES", raising=False)
    (tmp_path / "images.yaml").write_text(
        "images:\n"
        "  - image: 'registry.example.com/team/api:*'\n"
        "    command: [python3, -m, http.server, '8080']\n"
        "    env: {GREETING: hello}\n"
        "    workingDir: /tmp\n"
        "  - image: 'mirror.example.com/podinfo:*'\n"
        "    app: podinfo\n"
    )
    api = resolve_image("registry.example.com/team/api:v2", None, None, sandbox_dir=tmp_path)
    assert api is not None and api.app is None
    assert api.argv == ["python3", "-m", "http.server", "8080"]
    assert api.env["GREETING"] == "hello" and api.cwd == "/tmp"
    # The container's command wins over the configured one, as over an image entrypoint.
    api2 = resolve_image("registry.example.com/team/api:v2", ["python3", "-V"], None,
                         sandbox_dir=tmp_path)
    assert api2 is not None and api2.argv == ["python3", "-V"]
    mirror = resolve_image("mirror.example.com/podinfo:1.7.1", None, None, sandbox_dir=tmp_path)
    assert mirror is not None and mirror.app == "podinfo"
    assert mirror.env["CANARY_IMAGE_TAG"] == "1.7.1"
    # An explicit file and env CANARY_IMAGES take precedence over DIR/images.yaml.
    other = tmp_path / "other.yaml"
    other.write_text("- image: 'nginx:*'\n  command: [echo, mapped]\n")
    monkeypatch.setenv("CANARY_IMAGES", str(other))
    n = resolve_image("nginx:alpine", None, None, sandbox_dir=tmp_path)
    assert n is not None and n.argv == ["echo", "mapped"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("images: [{command: [x]}]", r"images\[0\]\.image: required"),
        ("images: [{image: 'a:*', command: x}]", r"images\[0\]\.command: expected a list"),
        ("images: [{image: 'a:*'}]", "needs 'command'"),
        ("images: [{image: 'a:*', app: nope}]", r"images\[0\]\.app"),
        ("images: [{image: 'a:*', command: [x], colour: 1}]", "unknown field"),
        ("images: {", "not valid YAML"),
    ],
)
def test_bad_user_config_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    with pytest.raises(ImageConfigError, match=message):
        resolve_image("a:1", None, None, str(cfg), sandbox_dir=tmp_path)


def test_demo_containers_run_from_their_image_runs(tmp_path: Path) -> None:
    """podinfo via './podinfo --port=9898' and load via the demo's /bin/sh -c command."""
    podinfo = resolve_image("quay.io/stefanprodan/podinfo:1.7.0", ["./podinfo", "--port=9898"],
                            None, sandbox_dir=tmp_path)
    load = resolve_image("buoyantio/slow_cooker:1.2.0", DEMO_LOAD_CMD, None, sandbox_dir=tmp_path)
    assert podinfo is not None and load is not None
    pod_ip, load_ip = loopback_ip(), loopback_ip()
    (tmp_path / "dns.json").write_text(json.dumps({"podinfo.test": pod_ip}))
    p = run_pod(podinfo, pod_ip, tmp_path)
    lg = None
    try:
        wait_listening(pod_ip, 9898, 10, p)
        status, _h, body = http_request("GET", f"http://{pod_ip}:9898/", source_ip="127.0.0.1")
        assert status == 200 and json.loads(body)["version"] == "1.7.0"
        lg = run_pod(load, load_ip, tmp_path, {"QPS": "20", "CONCURRENCY": "1"})
        wait_listening(load_ip, 9999, 10, lg)
        deadline = time.monotonic() + 10
        stats: dict = {}
        while time.monotonic() < deadline:
            stats = json.loads(http_request("GET", f"http://{load_ip}:9999/stats",
                                            source_ip="127.0.0.1")[2])
            if stats["requests"] >= 5:
                break
            time.sleep(0.05)
        assert stats["by_version"].get("1.7.0", 0) >= 5
    finally:
        stop(p)
        if lg:
            stop(lg)
