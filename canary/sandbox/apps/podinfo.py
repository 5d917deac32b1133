"""A podinfo (stefanprodan/podinfo) look-alike: the HTTP API the Linkerd/Flagger demo needs.

Run: ``python -m canary.sandbox.apps.podinfo [--port 9898] [--random-error] [--random-delay]
[--ui-color C] [--ui-message M] [--version-tag 1.7.0]``. Every flag can also be set by env
``PODINFO_<FLAG>`` (``-`` -> ``_``), as podinfo's viper config does; a flag given on the command
line wins. The version comes from ``--version-tag``, else env ``CANARY_IMAGE_TAG`` (set by the image
registry from the image tag), else 6.14.1 (the newest podinfo).

Faithful details (reference linkerd-podinfo.md §5): 1.x answers with the 1.7.x info keys (no
``logo``), 3.1.2+ adds ``logo``; ``--random-error`` fails 1 request in 3 with 500, 400 or 409
chosen evenly, the draw being re-seeded every second (errors come in bursts; the "second" is a
spec second, so it shrinks with the sandbox time scale). ``--random-seed N`` instead draws per
request from one seeded generator, for reproducible tests. ``--random-delay`` waits a random
whole number of units (``--random-delay-unit`` s or ms) in [min, max) per request, drawn like the
error (podinfo re-seeds with the Unix second: pkg/api/http/delay.go), and ``/delay/N`` waits N
seconds.

Time scale (docs/time-scale.md): a wait is schedule, so it sleeps ``spec seconds x scale`` of wall
time, and it is also what a latency threshold judges, so the answer declares the spec length of
the wait in ``X-Canary-Spec-Wait-Ms`` (canary.sandbox.spec_time) and the mesh records the latency
a cluster would have seen. podinfo's own ``http_request_duration_seconds`` does the same.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from canary.sandbox.apps.httpserver import Handler, parse_bool, pod_ip, serve, time_scale
from canary.sandbox.spec_time import WAIT_HEADER, spec_latency_ms

LATEST_VERSION = "6.14.1"
_REVISION_17 = "4fc593f42c7cd2e7319c83f6bfd3743c05523883"
_LOGO = "https://raw.githubusercontent.com/stefanprodan/podinfo/gh-pages/cuddle_clap.gif"
_ERROR_CODES = (500, 400, 409)


def _version_tuple(version: str) -> tuple[int, ...]:
    nums = re.findall(r"\d+", version.split("-")[0])
    return tuple(int(n) for n in nums[:3]) or (0,)


def has_logo(version: str) -> bool:
    """podinfo added the ``logo`` key in 3.1.2."""
    return _version_tuple(version) >= (3, 1, 2)


def default_color(version: str) -> str:
    return "blue" if _version_tuple(version) < (3,) else "#34577c"


@dataclass
class Config:
    port: int = 9898
    version: str = LATEST_VERSION
    revision: str = "unknown"
    color: str = "blue"
    message: str = ""
    logo: str = _LOGO
    level: str = "info"
    random_error: bool = False
    random_delay: bool = False
    random_delay_min: int = 0
    random_delay_max: int = 5
    random_delay_unit: str = "s"
    random_seed: int | None = None
    unhealthy: bool = False
    unready: bool = False
    hostname: str = "podinfo"
    time_scale: float = 1.0


@dataclass
class State:
    config: Config
    ready: bool = True
    healthy: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random | None = None
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.ready = not self.config.unready
        self.healthy = not self.config.unhealthy
        if self.config.random_seed is not None:
            self.rng = random.Random(self.config.random_seed)
        self.requests = Counter(
            "http_requests_total", "The total number of HTTP requests.", ["status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds", "The HTTP request latencies in seconds.",
            ["method", "path", "status"], registry=self.registry,
        )

    def _draw_rng(self) -> random.Random:
        """The generator for this request's fault draws.

        podinfo re-seeds with the current Unix second on every request, so all requests within a
        second share one draw; we keep that, with the second measured in spec time.
        """
        if self.rng is not None:
            return self.rng
        spec_second = int(time.time() / self.config.time_scale)
        return random.Random(spec_second)

    def random_error(self) -> int | None:
        with self.lock:
            rng = self._draw_rng()
            if rng.randrange(3) == 0:
                return _ERROR_CODES[rng.randrange(len(_ERROR_CODES))]
        return None

    def random_delay_seconds(self) -> float:
        """This request's ``--random-delay`` in spec seconds (the caller scales the sleep)."""
        c = self.config
        with self.lock:
            rng = self._draw_rng()
            span = max(c.random_delay_max - c.random_delay_min, 1)
            n = rng.randrange(span) + c.random_delay_min
        unit = 0.001 if c.random_delay_unit == "ms" else 1.0
        return n * unit

    def info(self) -> dict[str, str]:
        c = self.config
        data = {
            "hostname": c.hostname,
            "version": c.version,
            "revision": c.revision,
            "color": c.color,
        }
        if has_logo(c.version):
            data["logo"] = c.logo
        data.update(
            {
                "message": c.message,
                "goos": "linux",
                "goarch": "amd64",
                "runtime": "go1.11.2" if _version_tuple(c.version) < (3,) else "go1.24.4",
                "num_goroutine": str(threading.active_count() + 2),
                "num_cpu": str(os.cpu_count() or 1),
            }
        )
        return data


# route patterns -> metric path label (bounded cardinality, like a mux template)
_STATUS = re.compile(r"^/status/([0-9]+)/?$")
_DELAY = re.compile(r"^/delay/([0-9]+)/?$")


class PodinfoHandler(Handler):
    server_version = "podinfo"

    @property
    def state(self) -> State:
        return self.server.state  # type: ignore[attr-defined]

    # -- dispatch -------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _handle(self) -> None:
        self._start = time.monotonic()
        self._wait_spec_s = 0.0
        path = self.path.split("?", 1)[0]
        self._status = 200
        self._recorded = False
        self._label = _path_label(path)
        try:
            self._route(path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self._record()

    def _record(self) -> None:
        if self._recorded:
            return
        self._recorded = True
        st = str(self._status)
        self.state.requests.labels(status=st).inc()
        wall_ms = (time.monotonic() - self._start) * 1000
        seconds = spec_latency_ms(wall_ms, self._wait_spec_s * 1000,
                                  self.state.config.time_scale) / 1000
        self.state.duration.labels(method=self.command, path=self._label, status=st).observe(
            seconds)

    def send_response(self, code: int, message: str | None = None) -> None:
        # counted before the answer leaves: a client's next /metrics must include this request
        self._status = code
        self._record()
        super().send_response(code, message)
        if self._wait_spec_s:
            self.send_header(WAIT_HEADER, f"{self._wait_spec_s * 1000:g}")

    def _spec_wait(self, spec_seconds: float) -> None:
        """A deliberate wait: scaled sleep, declared at its spec length to the mesh."""
        self._wait_spec_s += spec_seconds
        time.sleep(spec_seconds * self.state.config.time_scale)

    def _route(self, path: str) -> None:
        state = self.state
        cfg = state.config
        body = self.read_body()
        # The fault middlewares wrap every route except metrics/health, as in podinfo 6.x.
        if path not in ("/metrics", "/healthz", "/readyz"):
            if cfg.random_delay:
                self._spec_wait(state.random_delay_seconds())
            if cfg.random_error:
                code = state.random_error()
                if code is not None:
                    self.send(code)
                    return
        method = self.command
        if path in ("/", "/api/info"):
            ua = self.headers.get("User-Agent", "")
            if path == "/" and re.match(r"^Mozilla.*", ua):
                self._send_ui()
            else:
                self.send_json(200, state.info())
        elif path == "/version":
            self.send_json(200, {"version": cfg.version, "commit": cfg.revision})
        elif path == "/healthz":
            self._probe(state.healthy)
        elif path == "/readyz":
            self._probe(state.ready)
        elif path in ("/readyz/enable", "/readyz/disable"):
            if method != "POST":
                self.send(405)
                return
            state.ready = path.endswith("enable")
            self.send(202)
        elif path in ("/healthz/enable", "/healthz/disable"):
            if method != "POST":
                self.send(405)
                return
            state.healthy = path.endswith("enable")
            self.send(202)
        elif m := _STATUS.match(path):
            code = int(m.group(1))
            if not 100 <= code <= 599:
                self.send_json(200, {"code": 400, "message": f"invalid status code {code}"})
                return
            self.send_json(code, {"status": code})
        elif m := _DELAY.match(path):
            wait = int(m.group(1))
            self._spec_wait(wait)
            self.send_json(200, {"delay": wait})
        elif path == "/env":
            self.send_json(200, [f"{k}={v}" for k, v in os.environ.items()])
        elif path == "/headers":
            hdrs: dict[str, list[str]] = {}
            for k, v in self.headers.items():
                hdrs.setdefault(k, []).append(v)
            self.send_json(200, hdrs)
        elif path in ("/echo", "/api/echo") or path.startswith("/echo/"):
            if method != "POST" and _version_tuple(cfg.version) < (3,):
                self.send(405)
                return
            self.send(202, body, "application/octet-stream", {"X-Color": cfg.color})
        elif path == "/token":
            if method != "POST":
                self.send(405)
                return
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
            self.send_json(200, {"token": secrets.token_hex(32), "expires_at": expires})
        elif path == "/metrics":
            self.send(200, generate_latest(state.registry), CONTENT_TYPE_LATEST)
        elif path == "/panic":
            print("podinfo: /panic requested, exiting 255", file=sys.stderr, flush=True)
            os._exit(255)
        else:
            self.send(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def _probe(self, ok: bool) -> None:
        if ok:
            self.send_json(200, {"status": "OK"})
        else:
            self.send(503)

    def _send_ui(self) -> None:
        cfg = self.state.config
        # 1.7.x paints blue for patch 0 and green otherwise; 6.x uses the API colour.
        v = _version_tuple(cfg.version)
        if v < (3,):
            color = "#2196f3" if (v + (0, 0))[2] == 0 else "#4caf50"
        else:
            color = cfg.color
        page = (
            "<!DOCTYPE html><html><head><title>podinfo</title></head>"
            f'<body style="background:{color}"><h1>{cfg.message}</h1>'
            f"<p>hostname {cfg.hostname}, version {cfg.version}</p></body></html>"
        )
        self.send(200, page.encode(), "text/html; charset=utf-8")


def _path_label(path: str) -> str:
    if _STATUS.match(path):
        return "status"
    if _DELAY.match(path):
        return "delay"
    return path.strip("/").replace("/", "_") or "root"


# -- command line -------------------------------------------------------------------------------

_FLAGS: dict[str, tuple[type, Any]] = {
    "port": (int, 9898),
    "port-metrics": (int, 0),
    "level": (str, "info"),
    "ui-color": (str, None),
    "ui-message": (str, None),
    "ui-logo": (str, _LOGO),
    "random-error": (bool, False),
    "random-delay": (bool, False),
    "random-delay-min": (int, 0),
    "random-delay-max": (int, 5),
    "random-delay-unit": (str, "s"),
    "unhealthy": (bool, False),
    "unready": (bool, False),
}


def _bool_arg(text: str) -> bool:
    try:
        return parse_bool(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="podinfo", description="podinfo look-alike for the canary sandbox", allow_abbrev=False
    )
    for name, (typ, _default) in _FLAGS.items():
        if typ is bool:
            p.add_argument(f"--{name}", nargs="?", const=True, default=None, type=_bool_arg)
        else:
            p.add_argument(f"--{name}", type=typ, default=None)
    p.add_argument("--version-tag", default=None, help="podinfo version (default: image tag)")
    p.add_argument("--revision", default=None)
    p.add_argument("--random-seed", type=int, default=None,
                   help="draw faults per request from this seed (reproducible tests)")
    # Flags real podinfo has that this look-alike accepts and ignores.
    p.add_argument("--grpc-port", type=int, default=0,
                   help="serve grpc.health.v1 on this port (0 = off), as podinfo 6.x")
    p.add_argument("--grpc-service-name", default="podinfo")
    for ignored in ("backend-url", "data-path", "config-path",
                    "cache-server", "cert-path", "secure-port", "config", "h2c", "stress-cpu",
                    "stress-memory", "http-server-timeout", "http-client-timeout",
                    "server-shutdown-timeout", "host", "prefix", "otel-service-name"):
        p.add_argument(f"--{ignored}", default=None, nargs="?", const="true",
                       help=argparse.SUPPRESS)
    return p


def _env_value(name: str, typ: type) -> Any:
    raw = os.environ.get("PODINFO_" + name.upper().replace("-", "_"))
    if raw is None:
        return None
    try:
        return parse_bool(raw) if typ is bool else typ(raw)
    except ValueError:
        # Kubernetes service links set e.g. PODINFO_PORT=tcp://10.0.0.1:9898 in pods next to a
        # Service named podinfo: not meant for us, so warn and keep the default.
        env_name = "PODINFO_" + name.upper().replace("-", "_")
        print(f"podinfo: ignoring {env_name}={raw!r}: not a valid --{name}", file=sys.stderr)
        return None


def config_from_args(argv: list[str]) -> Config:
    args = build_parser().parse_args(argv)
    values: dict[str, Any] = {}
    for name, (typ, default) in _FLAGS.items():
        v = getattr(args, name.replace("-", "_"))
        if v is None:
            v = _env_value(name, typ)
        values[name] = default if v is None else v
    version = (args.version_tag or os.environ.get("CANARY_IMAGE_TAG") or LATEST_VERSION).lstrip("v")
    if not re.match(r"^\d+(\.\d+)*", version):
        version = LATEST_VERSION
    revision = args.revision or (_REVISION_17 if version.startswith("1.7") else "unknown")
    if values["random-delay-unit"] not in ("s", "ms"):
        raise SystemExit("podinfo: --random-delay-unit must be s or ms")
    if values["random-delay-max"] < values["random-delay-min"]:
        raise SystemExit("podinfo: --random-delay-max must be >= --random-delay-min")
    if _version_tuple(version) < (3,):
        # 1.7.x: rand.Intn(5) whole seconds, no min/max flags.
        values["random-delay-min"], values["random-delay-max"] = 0, 5
    return Config(
        port=values["port"],
        version=version,
        revision=revision,
        color=values["ui-color"] or default_color(version),
        message=values["ui-message"] or f"greetings from podinfo v{version}",
        logo=values["ui-logo"],
        level=values["level"],
        random_error=values["random-error"],
        random_delay=values["random-delay"],
        random_delay_min=values["random-delay-min"],
        random_delay_max=values["random-delay-max"],
        random_delay_unit=values["random-delay-unit"],
        random_seed=args.random_seed,
        unhealthy=values["unhealthy"],
        unready=values["unready"],
        hostname=os.environ.get("POD_NAME") or os.environ.get("HOSTNAME") or "podinfo",
        time_scale=time_scale(),
    )


def main(argv: list[str] | None = None) -> int:
    disable_created_metrics()  # podinfo's Go client exposes no *_created series
    argv = sys.argv[1:] if argv is None else argv
    cfg = config_from_args(argv)
    state = State(cfg)
    args = build_parser().parse_args(argv)
    if args.grpc_port:
        from canary.sandbox.apps.grpc_health import serve as grpc_serve

        grpc_serve(pod_ip(), args.grpc_port, args.grpc_service_name)
    print(
        f"podinfo: version {cfg.version} random-error={cfg.random_error} "
        f"random-delay={cfg.random_delay}",
        file=sys.stderr,
        flush=True,
    )
    return serve(PodinfoHandler, pod_ip(), cfg.port, name="podinfo",
                 server_attrs={"state": state})


if __name__ == "__main__":
    sys.exit(main())
