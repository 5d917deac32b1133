"""The image registry: which local program a container image stands for in the sandbox.

``resolve_image(image, command, args)`` returns an :class:`ImageRun` (argv, extra env, working
dir) or None for an image nobody knows (the node agent then reports ``ErrImagePull`` /
``ImagePullBackOff``).

Built-in images (any tag; ``docker.io/`` and ``library/`` prefixes are optional)::

    quay.io/stefanprodan/podinfo, ghcr.io/stefanprodan/podinfo, stefanprodan/podinfo
                                     -> podinfo, version = the tag (CANARY_IMAGE_TAG)
    buoyantio/slow_cooker            -> loadgen   (program name ``slow_cooker``)
    nginx                            -> frontend  (program name ``nginx``)
    ghcr.io/fluxcd/flagger-loadtester, weaveworks/flagger-loadtester
                                     -> loadtester (program names ``loadtester``, ``hey``, ``curl``)
    ghcr.io/fluxcd/flagger, weaveworks/flagger
                                     -> ``canary engine --mode flagger`` in-cluster (``./flagger``)
    quay.io/argoproj/argo-rollouts   -> ``canary engine --mode argo --leader-elect`` in-cluster
                                        (``/bin/rollouts-controller``)

Containers run as in Kubernetes: ``command`` replaces the image's entrypoint, ``args`` alone
replace its default arguments (leniency: args that start with ``-`` are passed to the image's
program rather than run as a program). Program names are interpreted through a directory of
small shim scripts (``podinfo``, ``slow_cooker``, ``nginx``, ``loadtester``, ``hey``, ``curl``,
each ``exec python -m canary.sandbox.apps.<app> "$@"``): it is the working directory (so
``./podinfo`` works) and first in ``PATH`` (so ``/bin/sh -c "slow_cooker ..."`` works with the
real shell); a program given by absolute path whose base name is a shim (``/usr/sbin/nginx``) is
run as that shim. ``$(VAR)`` references in command/args are the node agent's to expand.

Users map their own images in a YAML file: ``user_config`` if given, else env
``CANARY_IMAGES``, else ``DIR/images.yaml`` when it exists. User entries are tried first, in
order; ``image`` is a glob matched against the reference as written and its normalized form::

    images:
      - image: "registry.example.com/team/api:*"
        command: ["python3", "-m", "http.server", "8080"]  # the image's entrypoint + cmd
        args: []                                           # optional default args
        env: {GREETING: hello}                             # optional extra env
        workingDir: /srv/api                               # optional (default: shim dir)
      - image: "mirror.example.com/podinfo:*"
        app: podinfo                   # or reuse a bundled app: podinfo, loadgen, frontend,
                                       # loadtester; the tag becomes CANARY_IMAGE_TAG

A top-level list (without ``images:``) is accepted too. Bad files raise
:class:`ImageConfigError` naming the file and field.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# program name -> bundled app module under canary.sandbox.apps
SHIMS: dict[str, str] = {
    "podinfo": "podinfo",
    "slow_cooker": "loadgen",
    "nginx": "frontend",
    "loadtester": "loadtester",
    "hey": "hey",
    "curl": "curl",
    "grpc_health_probe": "grpc_health",
    "flagger": "flagger",
    "rollouts-controller": "rollouts_controller",
}
APPS = ("podinfo", "loadgen", "frontend", "loadtester", "flagger", "argo-rollouts")


@dataclass(frozen=True)
class ImageRun:
    """How to start a container: ``argv`` in ``cwd`` with ``env`` laid over the pod's env.

    ``env`` holds ``PATH`` (shim dir first), ``CANARY_IMAGE``, ``CANARY_IMAGE_TAG`` and any
    user-configured variables; the container's own ``env`` should be applied on top of it.
    """

    argv: list[str]
    env: dict[str, str]
    cwd: str
    app: str | None = None  # bundled app name, None for a user-mapped command


@dataclass(frozen=True)
class _Builtin:
    repositories: tuple[str, ...]
    app: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]


_BUILTINS = (
    _Builtin(
        ("quay.io/stefanprodan/podinfo", "ghcr.io/stefanprodan/podinfo",
         "docker.io/stefanprodan/podinfo"),
        "podinfo", (), ("./podinfo",),
    ),
    _Builtin(("docker.io/buoyantio/slow_cooker",), "loadgen", ("slow_cooker",), ()),
    _Builtin(("docker.io/library/nginx",), "frontend", (), ("nginx", "-g", "daemon off;")),
    _Builtin(
        ("ghcr.io/fluxcd/flagger-loadtester", "docker.io/weaveworks/flagger-loadtester"),
        "loadtester", ("./loadtester",), (),
    ),
    # the controllers' images: their entrypoints (Flagger's Dockerfile ENTRYPOINT ./flagger,
    # Argo's /bin/rollouts-controller) run the bundled engine in the matching mode
    _Builtin(("ghcr.io/fluxcd/flagger", "docker.io/weaveworks/flagger"), "flagger",
             ("./flagger",), ()),
    _Builtin(("quay.io/argoproj/argo-rollouts", "docker.io/argoproj/argo-rollouts"),
             "argo-rollouts", ("/bin/rollouts-controller",), ()),
)
_APP_PROGRAM = {"podinfo": "podinfo", "loadgen": "slow_cooker", "frontend": "nginx",
                "loadtester": "loadtester", "flagger": "flagger",
                "argo-rollouts": "rollouts-controller"}


class ImageConfigError(ValueError):
    """A user image config that cannot be used (message names the file and field)."""


@dataclass(frozen=True)
class ImageRef:
    raw: str
    repository: str  # normalized, e.g. docker.io/library/nginx
    tag: str

    @property
    def names(self) -> tuple[str, ...]:
        """The forms a glob may be written against."""
        short = self.repository
        for prefix in ("docker.io/library/", "docker.io/"):
            if short.startswith(prefix):
                short = short[len(prefix):]
                break
        return (self.raw, f"{self.repository}:{self.tag}", f"{short}:{self.tag}")


def parse_image(image: str) -> ImageRef:
    """Split an image reference into a normalized repository and tag ("latest" by default)."""
    ref = image.strip()
    name = ref.split("@", 1)[0]
    tag = "latest"
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    parts = name.split("/")
    first = parts[0]
    if len(parts) == 1 or not ("." in first or ":" in first or first == "localhost"):
        parts = ["docker.io", *parts]
    if parts[0] in ("index.docker.io", "registry-1.docker.io"):
        parts[0] = "docker.io"
    if parts[0] == "docker.io" and len(parts) == 2:
        parts.insert(1, "library")
    return ImageRef(raw=ref, repository="/".join(parts).lower(), tag=tag or "latest")


# -- shims ------------------------------------------------------------------------------------

def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def shim_dir(sandbox_dir: str | os.PathLike[str] | None = None) -> Path:
    """Create (if needed) and return the directory of program shims.

    Inside a sandbox it is ``DIR/bin``; elsewhere a per-user temp dir.
    """
    base = sandbox_dir or os.environ.get("CANARY_SANDBOX_DIR")
    if base:
        d = Path(base).resolve() / "bin"
    else:
        d = Path(tempfile.gettempdir()) / f"canary-shims-{os.getuid()}"
    d.mkdir(parents=True, exist_ok=True)
    root = _package_root()
    for program, app in SHIMS.items():
        text = (
            "#!/bin/sh\n"
            "# canary sandbox image shim: run the bundled app for this program name\n"
            f"PYTHONPATH='{root}'${{PYTHONPATH:+:$PYTHONPATH}}\n"
            "export PYTHONPATH\n"
            f"exec '{sys.executable}' -m canary.sandbox.apps.{app} \"$@\"\n"
        )
        path = d / program
        try:
            if path.read_text() == text:
                continue
        except OSError:
            pass
        # Atomic replace: a pod may be exec'ing the old shim right now.
        tmp = d / f".{program}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    return d


def shim_path_env(shims: Path, base_path: str | None = None) -> str:
    path = base_path if base_path is not None else os.environ.get("PATH", "/usr/bin:/bin")
    return f"{shims}:{path}" if path else str(shims)


# -- user config ------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserImage:
    pattern: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    app: str | None = None


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list):
        raise ImageConfigError(f"{where}: expected a list of strings, got {value!r}")
    for item in value:
        if not isinstance(item, str | int | float) or isinstance(item, bool):
            raise ImageConfigError(f"{where}: expected a list of strings, got item {item!r}")
    return tuple(str(v) for v in value)


def load_user_images(path: str | os.PathLike[str]) -> list[UserImage]:
    """Parse a user image config file (see the module docstring for the format)."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except OSError as exc:
        raise ImageConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ImageConfigError(f"{p}: not valid YAML: {exc}") from None
    if data is None:
        return []
    if isinstance(data, dict):
        unknown = set(data) - {"images"}
        if unknown:
            raise ImageConfigError(f"{p}: unknown top-level key(s) {sorted(unknown)}; "
                                   "expected 'images'")
        data = data.get("images") or []
    if not isinstance(data, list):
        raise ImageConfigError(f"{p}: images: expected a list of entries")
    out = []
    allowed = {"image", "command", "args", "env", "workingDir", "app"}
    for i, entry in enumerate(data):
        where = f"{p}: images[{i}]"
        if not isinstance(entry, dict):
            raise ImageConfigError(f"{where}: expected a mapping with 'image' and 'command'")
        unknown = set(entry) - allowed
        if unknown:
            raise ImageConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
        pattern = entry.get("image")
        if not isinstance(pattern, str) or not pattern.strip():
            raise ImageConfigError(f"{where}.image: required, a glob such as 'repo/name:*'")
        command = _str_list(entry.get("command"), f"{where}.command")
        args = _str_list(entry.get("args"), f"{where}.args")
        app = entry.get("app")
        if app is not None and app not in APPS:
            raise ImageConfigError(f"{where}.app: {app!r} is not one of {', '.join(APPS)}")
        if not command and app is None:
            raise ImageConfigError(f"{where}: needs 'command' (a list) or 'app'")
        env = entry.get("env") or {}
        if not isinstance(env, dict):
            raise ImageConfigError(f"{where}.env: expected a mapping of names to values")
        wd = entry.get("workingDir")
        if wd is not None and not isinstance(wd, str):
            raise ImageConfigError(f"{where}.workingDir: expected a path string")
        out.append(UserImage(pattern=pattern.strip(), command=command, args=args,
                             env={str(k): str(v) for k, v in env.items()},
                             working_dir=wd, app=app))
    return out


def _user_config_path(
    user_config: str | os.PathLike[str] | None, sandbox_dir: str | os.PathLike[str] | None
) -> Path | None:
    if user_config:
        return Path(user_config)
    env = os.environ.get("CANARY_IMAGES")
    if env:
        return Path(env)
    base = sandbox_dir or os.environ.get("CANARY_SANDBOX_DIR")
    if base:
        candidate = Path(base) / "images.yaml"
        if candidate.is_file():
            return candidate
    return None


# -- resolution -------------------------------------------------------------------------------

def _container_argv(
    entrypoint: tuple[str, ...], cmd: tuple[str, ...], program: str | None,
    command: list[str] | None, args: list[str] | None,
) -> list[str]:
    """Kubernetes' rule: command replaces ENTRYPOINT (and CMD); args alone replace CMD."""
    if command:
        return [*command, *(args or [])]
    if args:
        if not entrypoint and args[0].startswith("-") and program:
            # Leniency: flags only make sense for the image's own program.
            return [program, *args]
        return [*entrypoint, *args]
    return [*entrypoint, *cmd]


def _interpret(argv: list[str], shims: Path) -> list[str]:
    """Point program names that are shims at the shim file."""
    if not argv:
        return argv
    base = os.path.basename(argv[0])
    if base in SHIMS:
        return [str(shims / base), *argv[1:]]
    return argv


def declared_port_env(app: str | None, container: dict[str, Any]) -> dict[str, str]:
    """Where a bundled nginx listens: the container's first TCP ``containerPort``.

    Real nginx listens where its config says: 80 for the image's default config, 8080 for the
    demo's ConfigMap. The sandbox does not mount ConfigMap volumes, so the declared port stands
    in for the mounted config (the two agree in any manifest that works on a cluster). Other
    bundled apps keep their own defaults and flags (podinfo 9898, the loadtester ``-port``).
    """
    if app != "frontend":
        return {}
    for p in container.get("ports") or []:
        if isinstance(p, dict) and isinstance(p.get("containerPort"), int) \
                and (p.get("protocol") or "TCP") == "TCP":
            return {"FRONTEND_LISTEN": str(p["containerPort"])}
    return {}


def resolve_image(
    image: str,
    command: list[str] | None = None,
    args: list[str] | None = None,
    user_config: str | os.PathLike[str] | None = None,
    *,
    sandbox_dir: str | os.PathLike[str] | None = None,
) -> ImageRun | None:
    """How to run ``image`` with the container's ``command``/``args``; None if unknown.

    Raises :class:`ImageConfigError` for a broken user config file.
    """
    if not image or not image.strip():
        return None
    ref = parse_image(image)
    shims = shim_dir(sandbox_dir)
    env = {
        "PATH": shim_path_env(shims),
        "CANARY_IMAGE": ref.raw,
        "CANARY_IMAGE_TAG": ref.tag,
    }
    cfg_path = _user_config_path(user_config, sandbox_dir)
    if cfg_path is not None:
        for entry in load_user_images(cfg_path):
            if not any(fnmatch.fnmatchcase(n, entry.pattern) for n in ref.names):
                continue
            run_env = {**env, **entry.env}
            cwd = entry.working_dir or str(shims)
            if entry.app:
                program = _APP_PROGRAM[entry.app]
                argv = _container_argv((), (program,), program, command, args)
                return ImageRun(_interpret(argv, shims), run_env, cwd, entry.app)
            argv = _container_argv(entry.command, entry.args, None, command, args)
            return ImageRun(_interpret(argv, shims), run_env, cwd, None)
    for b in _BUILTINS:
        if ref.repository in b.repositories:
            program = _APP_PROGRAM[b.app]
            argv = _container_argv(b.entrypoint, b.cmd, program, command, args)
            return ImageRun(_interpret(argv, shims), env, str(shims), b.app)
    return None
