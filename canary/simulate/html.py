"""The sweep as a self-contained HTML page: an inline SVG operating-characteristic curve
(P(promoted) and P(rolled back) per error rate) and the table. No scripts, no external files."""

from __future__ import annotations

from html import escape
from pathlib import Path

from canary.simulate.stats import Summary

W, H, PAD = 640, 320, 48


def oc_svg(rows: list[Summary]) -> str:
    pts = [r for r in rows if r.error_rate is not None]
    n = max(1, len(pts) - 1)

    def x(i: int) -> float:
        return PAD + (W - 2 * PAD) * i / n

    def y(p: float) -> float:
        return H - PAD - (H - 2 * PAD) * p

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
             f'viewBox="0 0 {W} {H}" role="img" aria-label="operating characteristic">',
             f'<rect width="{W}" height="{H}" fill="white"/>']
    for p in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{PAD}" x2="{W - PAD}" y1="{y(p):.1f}" y2="{y(p):.1f}" '
                     f'stroke="#ddd"/><text x="{PAD - 6}" y="{y(p) + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{p * 100:.0f}%</text>')
    for i, r in enumerate(pts):
        parts.append(f'<text x="{x(i):.1f}" y="{H - PAD + 16}" font-size="11" '
                     f'text-anchor="middle">{escape(f"{r.error_rate * 100:g}%")}</text>')
    for attr, color, name in (("p_promoted", "#2a9d4b", "P(promoted)"),
                              ("p_rolled_back", "#c0392b", "P(rolled back)")):
        coords = " ".join(f"{x(i):.1f},{y(getattr(r, attr)):.1f}" for i, r in enumerate(pts))
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" '
                     f'stroke-width="2"/>')
        for i, r in enumerate(pts):
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(getattr(r, attr)):.1f}" r="3" '
                         f'fill="{color}"><title>{name} at {r.error_rate * 100:g}%: '
                         f'{getattr(r, attr) * 100:.1f}%</title></circle>')
    parts.append(f'<text x="{W / 2}" y="{H - 8}" font-size="12" text-anchor="middle">'
                 f'error rate of the new version (sweep points, evenly spaced)</text>')
    parts.append(f'<text x="{W - PAD}" y="{PAD - 20}" font-size="12" text-anchor="end" '
                 f'fill="#2a9d4b">P(promoted)</text><text x="{W - PAD}" y="{PAD - 6}" '
                 f'font-size="12" text-anchor="end" fill="#c0392b">P(rolled back)</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def page(title: str, rows: list[Summary], table_text: str, notes: list[str]) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;"
            "padding:1em}</style></head><body>"
            f"<h1>{escape(title)}</h1>{oc_svg(rows)}<pre>{escape(table_text)}</pre>"
            + "".join(f"<p>{escape(n)}</p>" for n in notes) + "</body></html>\n")


def write(path: Path, title: str, rows: list[Summary], table_text: str,
          notes: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(title, rows, table_text, notes))
    return path
