"""`kubectl port-forward` for local-process pods: SPDY/3.1 streams piped to ``podIP:port``.

After the HTTP upgrade, kubectl (client-go, protocol ``portforward.k8s.io``) opens, per local
connection, an ``error`` stream and a ``data`` stream sharing a ``requestID`` header. The
``data`` stream is piped both ways to the pod's address; the ``error`` stream carries a
message when that connection fails. One thread serves one upgraded connection with a single
select loop, so a TLS socket is never read and written from two threads at once.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import struct
import zlib
from dataclasses import dataclass, field

log = logging.getLogger("apiserver.portforward")

PROTOCOL = "portforward.k8s.io"
SPDY_VERSION = 3

# control frame types (SPDY draft 3, section 2.6)
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS = 1, 2, 3, 4
PING, GOAWAY, HEADERS, WINDOW_UPDATE = 6, 7, 8, 9
FLAG_FIN = 0x01
RST_PROTOCOL_ERROR, RST_REFUSED_STREAM = 1, 3

MAX_FRAME = 1 << 24  # the 24-bit length field's own limit
MAX_HEADER_BLOCK = 1 << 20
READ_SIZE = 32768
CONNECT_TIMEOUT = 5.0


def _dictionary() -> bytes:
    """The SPDY/3 header-compression dictionary (draft 3, section 2.6.10.1).

    It is length-prefixed header words followed by a run of common values; both peers must
    use the identical bytes (zlib checks its Adler-32).
    """
    words = (
        "options head post put delete trace accept accept-charset accept-encoding "
        "accept-language accept-ranges age allow authorization cache-control connection "
        "content-base content-encoding content-language content-length content-location "
        "content-md5 content-range content-type date etag expect expires from host if-match "
        "if-modified-since if-none-match if-range if-unmodified-since last-modified location "
        "max-forwards pragma proxy-authenticate proxy-authorization range referer retry-after "
        "server te trailer transfer-encoding upgrade user-agent vary via warning "
        "www-authenticate method get status"
    ).split() + ["200 OK"] + "version HTTP/1.1 url public set-cookie keep-alive origin".split()
    tail = (
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417"
        "502504505"
        "203 Non-Authoritative Information204 No Content301 Moved Permanently"
        "400 Bad Request401 Unauthorized403 Forbidden404 Not Found"
        "500 Internal Server Error501 Not Implemented503 Service Unavailable"
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
        "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,"
        "application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age="
        "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
    )
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + tail.encode()


DICTIONARY = _dictionary()


class ProtocolError(Exception):
    """The peer sent something that is not SPDY/3 as kubectl speaks it."""


@dataclass
class Frame:
    control: bool
    kind: int  # control frame type, or the stream id of a DATA frame
    flags: int
    payload: bytes


class Codec:
    """SPDY/3 framing with one zlib context per direction for header blocks."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= 8:
            head = bytes(self._buf[:8])
            length = int.from_bytes(head[5:8], "big")
            if len(self._buf) < 8 + length:
                break
            payload = bytes(self._buf[8:8 + length])
            del self._buf[:8 + length]
            if head[0] & 0x80:
                version = int.from_bytes(head[0:2], "big") & 0x7FFF
                if version != SPDY_VERSION:
                    raise ProtocolError(f"unsupported SPDY version {version}")
                frames.append(Frame(True, int.from_bytes(head[2:4], "big"), head[4], payload))
            else:
                stream_id = int.from_bytes(head[0:4], "big") & 0x7FFFFFFF
                frames.append(Frame(False, stream_id, head[4], payload))
        return frames

    def headers(self, block: bytes) -> dict[str, str]:
        try:
            raw = self._inflate.decompress(block, MAX_HEADER_BLOCK)
        except zlib.error as e:
            raise ProtocolError(f"bad header block: {e}") from None
        if self._inflate.unconsumed_tail:
            raise ProtocolError("header block too large")
        out: dict[str, str] = {}
        try:
            count, pos = struct.unpack_from(">I", raw)[0], 4
            for _ in range(count):
                pair = []
                for _ in range(2):
                    size = struct.unpack_from(">I", raw, pos)[0]
                    if pos + 4 + size > len(raw):
                        raise ProtocolError("truncated header block")
                    pair.append(raw[pos + 4:pos + 4 + size].decode("utf-8", "replace"))
                    pos += 4 + size
                # several values are NUL-separated; kubectl sends one
                out[pair[0].lower()] = pair[1].split("\0")[0]
        except struct.error:
            raise ProtocolError("truncated header block") from None
        return out

    def _block(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers))
        for name, value in headers.items():
            for part in (name.lower().encode(), value.encode()):
                raw += struct.pack(">I", len(part)) + part
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def control(kind: int, flags: int, payload: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | SPDY_VERSION, kind,
                           (flags << 24) | len(payload)) + payload

    @staticmethod
    def data(stream_id: int, payload: bytes, fin: bool = False) -> bytes:
        flags = FLAG_FIN if fin else 0
        return struct.pack(">II", stream_id, (flags << 24) | len(payload)) + payload

    def syn_reply(self, stream_id: int, headers: dict[str, str] | None = None) -> bytes:
        return self.control(SYN_REPLY, 0,
                            struct.pack(">I", stream_id) + self._block(headers or {}))

    def rst_stream(self, stream_id: int, status: int) -> bytes:
        return self.control(RST_STREAM, 0, struct.pack(">II", stream_id, status))


@dataclass
class Pair:
    """The error and data streams of one forwarded connection (one ``requestID``)."""

    error_id: int = 0
    data_id: int = 0
    port: int = 0
    target: socket.socket | None = None
    done: bool = False
    # bytes kubectl sent that the pod has not taken yet; writes never block the session
    pending: bytearray = field(default_factory=bytearray)
    shut_after: bool = False  # kubectl half-closed: shut the pod's side once flushed


@dataclass
class Session:
    """One upgraded client connection forwarding to one pod."""

    conn: socket.socket
    host: str
    pod: str
    uid: str = ""
    codec: Codec = field(default_factory=Codec)
    pairs: dict[str, Pair] = field(default_factory=dict)
    by_stream: dict[int, str] = field(default_factory=dict)

    def send(self, data: bytes) -> None:
        self.conn.sendall(data)

    # -- frames from kubectl ------------------------------------------------------------------

    def on_frame(self, f: Frame) -> bool:
        """Handle one frame; False when the client ends the session."""
        if not f.control:
            self._on_data(f.kind, f.payload, bool(f.flags & FLAG_FIN))
        elif f.kind == SYN_STREAM:
            if len(f.payload) < 10:
                raise ProtocolError("short SYN_STREAM")
            stream_id = int.from_bytes(f.payload[0:4], "big") & 0x7FFFFFFF
            self._on_syn(stream_id, self.codec.headers(f.payload[10:]),
                         bool(f.flags & FLAG_FIN))
        elif f.kind == RST_STREAM:
            if len(f.payload) >= 4:
                self._forget(int.from_bytes(f.payload[0:4], "big") & 0x7FFFFFFF)
        elif f.kind == PING:
            self.send(Codec.control(PING, 0, f.payload[:4]))
        elif f.kind == GOAWAY:
            return False
        elif f.kind == HEADERS and len(f.payload) >= 4:
            self.codec.headers(f.payload[4:])  # keeps the zlib context in step
        # SETTINGS, WINDOW_UPDATE: kubectl's peer (spdystream) does no flow control either
        return True

    def _on_syn(self, stream_id: int, headers: dict[str, str], fin: bool) -> None:
        kind = headers.get("streamtype", "")
        if kind not in ("error", "data"):
            self.send(self.codec.rst_stream(stream_id, RST_PROTOCOL_ERROR))
            return
        request = headers.get("requestid") or headers.get("port", "")
        pair = self.pairs.setdefault(request, Pair())
        if (pair.error_id if kind == "error" else pair.data_id):  # a second one: refuse it
            self.send(self.codec.rst_stream(stream_id, RST_REFUSED_STREAM))
            return
        self.by_stream[stream_id] = request
        self.send(self.codec.syn_reply(stream_id))
        if kind == "error":
            pair.error_id = stream_id
            return
        pair.data_id = stream_id
        port_text = headers.get("port", "")
        port = int(port_text) if port_text.isdigit() else 0
        if not 0 < port < 65536:
            self._fail(pair, f"invalid port {port_text!r}: the port header must be 1-65535")
            return
        pair.port = port
        try:
            pair.target = socket.create_connection((self.host, port), timeout=CONNECT_TIMEOUT)
            pair.target.setblocking(False)
            pair.target.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as e:
            reason = e.strerror or str(e)
            self._fail(pair, f"error forwarding port {port} to pod {self.pod}, uid {self.uid}: "
                             f"dial tcp {self.host}:{port}: connect: {reason.lower()}")
            return
        if fin:
            pair.shut_after = True
            self.flush(pair)

    def _on_data(self, stream_id: int, payload: bytes, fin: bool) -> None:
        pair = self.pairs.get(self.by_stream.get(stream_id, ""))
        if pair is None or stream_id != pair.data_id or pair.target is None:
            return  # error-stream FIN, or data for a connection already finished
        pair.pending += payload
        pair.shut_after = pair.shut_after or fin
        self.flush(pair)

    # -- bytes from the pod ------------------------------------------------------------------

    def on_target(self, pair: Pair) -> None:
        assert pair.target is not None
        try:
            chunk = pair.target.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            self.send(Codec.data(pair.data_id, chunk))
        else:
            self._finish(pair)

    # -- endings -------------------------------------------------------------------------------

    def flush(self, pair: Pair) -> None:
        """Hand the pod what it will take now; the rest waits for select() to say writable."""
        target = pair.target
        if target is None:
            return
        try:
            while pair.pending:
                sent = target.send(pair.pending)
                del pair.pending[:sent]
        except BlockingIOError:
            return
        except OSError:
            self._finish(pair)
            return
        if pair.shut_after:
            pair.shut_after = False
            try:
                target.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _fail(self, pair: Pair, message: str) -> None:
        log.info("port-forward to %s: %s", self.pod, message)
        if pair.error_id:
            self.send(Codec.data(pair.error_id, message.encode()))
        self._finish(pair)

    def _finish(self, pair: Pair) -> None:
        """The pod side is done: end both streams (kubectl then reads the error stream)."""
        if pair.done:
            return
        pair.done = True
        if pair.target is not None:
            pair.target.close()
            pair.target = None
        for stream_id in (pair.data_id, pair.error_id):
            if stream_id:
                self.send(Codec.data(stream_id, b"", fin=True))
        self._drop(pair)

    def _forget(self, stream_id: int) -> None:
        pair = self.pairs.get(self.by_stream.get(stream_id, ""))
        if pair is not None:
            pair.done = True
            if pair.target is not None:
                pair.target.close()
                pair.target = None
            self._drop(pair)

    def _drop(self, pair: Pair) -> None:
        for key, value in list(self.pairs.items()):
            if value is pair:
                del self.pairs[key]
        for sid in (pair.data_id, pair.error_id):
            self.by_stream.pop(sid, None)

    def close(self) -> None:
        for pair in list(self.pairs.values()):
            if pair.target is not None:
                pair.target.close()
                pair.target = None
        self.pairs.clear()

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        conn = self.conn
        while True:
            targets = {p.target: p for p in self.pairs.values() if p.target is not None}
            waiting = [t for t, p in targets.items() if p.pending]
            # TLS may hold decrypted bytes that select() cannot see
            if isinstance(conn, ssl.SSLSocket) and conn.pending() > 0:
                ready, writable = [conn], []
            else:
                ready, writable, _ = select.select([conn, *targets], waiting, [], 30.0)
            for sock in writable:
                if targets[sock].target is sock:
                    self.flush(targets[sock])
            for sock in ready:
                if sock is conn:
                    data = conn.recv(READ_SIZE)
                    if not data:
                        return
                    for frame in self.codec.feed(data):
                        if not self.on_frame(frame):
                            return
                elif sock in targets and targets[sock].target is sock:
                    self.on_target(targets[sock])


def serve(conn: socket.socket, host: str, pod: str, uid: str = "") -> None:
    """Serve an upgraded connection until kubectl hangs up; never raises."""
    session = Session(conn, host, pod, uid)
    try:
        session.run()
    except ProtocolError as e:
        log.warning("port-forward to %s: closing connection: %s", pod, e)
    except (OSError, ValueError) as e:  # the client went away mid-write, or a closed socket
        log.debug("port-forward to %s ended: %s", pod, e)
    except Exception:
        log.exception("port-forward to %s failed", pod)
    finally:
        session.close()
