"""A minimal ``curl`` for sandbox pods, so webhook commands like
``curl -sd 'test' http://podinfo-canary.test:9898/token | grep token`` reach in-cluster names.

Supported: ``-s``/``-S``/``-f``/``-i``/``-L``/``-k``/``-v`` (``-L``, ``-k``, ``-v`` ignored),
``-X METHOD``, ``-d DATA`` (repeatable, joined with ``&``; implies POST), ``--data-raw``,
``-H 'Name: value'``, ``-o FILE``, ``-m``/``--max-time SECONDS``, ``-w '%{http_code}'``.
Exit codes follow curl: 6 unknown host, 7 cannot connect, 22 HTTP error with ``-f``,
28 timeout. Requests leave from ``POD_IP``.
"""

from __future__ import annotations

import argparse
import sys

from canary.sandbox.resolver import ResolveError, http_request


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="curl", allow_abbrev=False, add_help=False)
    p.add_argument("-s", "--silent", action="store_true")
    p.add_argument("-S", "--show-error", action="store_true")
    p.add_argument("-f", "--fail", action="store_true")
    p.add_argument("-i", "--include", action="store_true")
    p.add_argument("-L", "--location", action="store_true")
    p.add_argument("-k", "--insecure", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true")
    p.add_argument("-X", "--request", default=None)
    p.add_argument("-d", "--data", "--data-raw", "--data-binary", action="append", default=[])
    p.add_argument("-H", "--header", action="append", default=[])
    p.add_argument("-o", "--output", default=None)
    p.add_argument("-m", "--max-time", type=float, default=60.0)
    p.add_argument("--connect-timeout", type=float, default=None)
    p.add_argument("-w", "--write-out", default=None)
    p.add_argument("url")
    return p


def main(argv: list[str] | None = None) -> int:
    p = build_parser()
    a = p.parse_args(sys.argv[1:] if argv is None else argv)
    url = a.url if "://" in a.url else "http://" + a.url
    headers: list[tuple[str, str]] = []
    for h in a.header:
        if ":" not in h:
            print(f"curl: header {h!r} must look like 'Name: value'", file=sys.stderr)
            return 2
        k, v = h.split(":", 1)
        headers.append((k.strip(), v.strip()))
    body = "&".join(a.data).encode() if a.data else None
    if body is not None and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    method = a.request or ("POST" if body is not None else "GET")

    def fail(code: int, msg: str) -> int:
        if not a.silent or a.show_error:
            print(f"curl: ({code}) {msg}", file=sys.stderr)
        return code

    try:
        status, resp_headers, payload = http_request(
            method, url, headers=headers, body=body, timeout=a.max_time
        )
    except ResolveError as exc:
        return fail(6, f"Could not resolve host: {exc.host}")
    except TimeoutError:
        return fail(28, f"Operation timed out after {a.max_time:g} seconds")
    except OSError as exc:
        return fail(7, f"Failed to connect: {exc}")
    if a.fail and status >= 400:
        return fail(22, f"The requested URL returned error: {status}")
    out = b""
    if a.include:
        out += f"HTTP/1.1 {status}\r\n".encode()
        out += "".join(f"{k}: {v}\r\n" for k, v in resp_headers.items()).encode() + b"\r\n"
    out += payload
    # -w always goes to stdout, after the body.
    trailer = b""
    if a.write_out:
        trailer = a.write_out.replace("%{http_code}", str(status)).replace("\\n", "\n").encode()
    if a.output:
        try:
            with open(a.output, "wb") as f:
                f.write(out)
        except OSError as exc:
            return fail(23, f"Failed writing body to {a.output}: {exc.strerror}")
    else:
        sys.stdout.buffer.write(out)
    sys.stdout.buffer.write(trailer)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
