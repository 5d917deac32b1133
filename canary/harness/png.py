"""Read the PNGs headless Chromium writes (8-bit RGB/RGBA, not interlaced): what is on screen,
for the browser view and the screenshot tests."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def pixels(path: Path | bytes) -> tuple[list[bytes], int]:
    """Rows of raw pixel bytes and the bytes per pixel (of a file or the PNG's bytes)."""
    data = path if isinstance(path, bytes) else path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{'data' if isinstance(path, bytes) else path} is not a PNG")
    pos, idat, w, h, bpp = 8, b"", 0, 0, 3
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, _depth, ctype = struct.unpack(">IIBB", body[:10])
            bpp = {2: 3, 6: 4}[ctype]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return rows, bpp


def count_colour(path: Path, hex_colour: str, tolerance: int = 24) -> int:
    """Pixels within ``tolerance`` of ``#rrggbb``."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    rows, bpp = pixels(path)
    return sum(1 for row in rows for i in range(0, len(row), bpp)
               if abs(row[i] - r) < tolerance and abs(row[i + 1] - g) < tolerance
               and abs(row[i + 2] - b) < tolerance)


def pixel(path: Path | bytes, x: int, y: int) -> str:
    """``#rrggbb`` of one pixel."""
    rows, bpp = pixels(path)
    row = rows[y]
    return "#" + "".join(f"{row[x * bpp + i]:02x}" for i in range(3))
