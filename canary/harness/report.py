"""``reports/rollouts.html``: one self-contained file (inline CSS and SVG, no scripts, no fetches)
with, per scenario, a timeline chart (canary weight, phase bands, Prometheus success rate,
failed-request share seen by clients), the events, the verdict and failure diagnostics."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from canary.harness.timeline import (
    Timeline,
    client_deltas,
    events_for,
    phase_changes,
    route_canary_weights,
)
from canary.harness.timescale import caveats

PHASE_COLORS = {
    "Initializing": "#d9d9d9", "Initialized": "#cfe2f3", "Waiting": "#fff2cc",
    "Progressing": "#fce5cd", "WaitingPromotion": "#fff2cc", "Promoting": "#d9ead3",
    "Finalising": "#b6d7a8", "Succeeded": "#93c47d", "Failed": "#ea9999",
    "Terminating": "#d5a6bd", "Deleted": "#eeeeee",
}
WEIGHT_COLOR = "#1f5fbf"
SR_COLOR = "#2e8b57"
PRIMARY_SR_COLOR = "#888888"
FAIL_COLOR = "#c0392b"
SHARE_COLOR = "#8e44ad"
MAX_DIAG_CHARS = 30_000


@dataclass
class ScenarioRecord:
    nodeid: str
    feature: str
    name: str
    outcome: str  # passed | failed | skipped | error
    duration: float = 0.0
    message: str = ""
    tags: list[str] = field(default_factory=list)
    timeline_file: str | None = None
    diagnostics: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")
    return s[:120] or "scenario"


# -- the chart ------------------------------------------------------------------------------


class _Scale:
    def __init__(self, d0: float, d1: float, r0: float, r1: float) -> None:
        self.d0, self.d1, self.r0, self.r1 = d0, d1 if d1 != d0 else d0 + 1, r0, r1

    def __call__(self, v: float) -> float:
        return round(self.r0 + (v - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0), 1)


def _nice_step(span: float, target: int = 8) -> float:
    raw = span / target
    mag = 10 ** int(f"{raw:e}".split("e")[1])
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _pooled(deltas: list[dict[str, Any]], min_requests: int = 10) -> list[dict[str, Any]]:
    """Merge consecutive client samples until each holds enough requests to show a share."""
    out: list[dict[str, Any]] = []
    acc: dict[str, Any] | None = None
    for d in deltas:
        if acc is None:
            acc = {"t0": d["t0"], "t1": d["t1"], "requests": 0, "failures": 0, "by_version": {}}
        acc["t1"] = d["t1"]
        acc["requests"] += d["requests"]
        acc["failures"] += d["failures"]
        for v, n in d["by_version"].items():
            acc["by_version"][v] = acc["by_version"].get(v, 0) + n
        if acc["requests"] >= min_requests:
            out.append(acc)
            acc = None
    if acc is not None and acc["requests"]:
        out.append(acc)
    return out


def chart_svg(tl: Timeline, width: int = 960) -> str:
    """The scenario's timeline as an inline SVG (x: spec seconds since the first record)."""
    e = html.escape
    entries = tl.entries
    top_h, bot_h, left, right, gap = 220, 90, 52, 16, 34
    height = 28 + top_h + gap + bot_h + 44
    if not entries:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60" '
                f'role="img"><text x="10" y="35">no timeline recorded</text></svg>')
    t0 = min(x["t"] for x in entries)
    t1 = max(x["t"] for x in entries)
    t1 = max(t1, t0 + 1e-3)
    scale = tl.time_scale or 1.0
    x = _Scale(0, (t1 - t0) / scale, left, width - right)
    ty0 = 28
    y = _Scale(0, 100, ty0 + top_h, ty0)
    by0 = ty0 + top_h + gap

    def sx(t: float) -> float:
        return x((t - t0) / scale)

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" class="chart" font-family="sans-serif" '
        f'font-size="11">',
        f'<title>{e(tl.scenario)}: canary weight, phases, success rate and client failures'
        f'</title>',
        f'<rect x="{left}" y="{ty0}" width="{width - left - right}" height="{top_h}" '
        f'fill="#fff" stroke="#999"/>',
    ]
    # phase bands for every canary in the timeline
    canaries = sorted({(c.get("namespace"), c.get("name")) for c in tl.of("canary")})
    for ns, name in canaries:
        changes = phase_changes(tl, name, ns)
        for i, (ts, phase) in enumerate(changes):
            te = changes[i + 1][0] if i + 1 < len(changes) else t1
            x0, x1 = sx(ts), sx(te)
            color = PHASE_COLORS.get(phase, "#eeeeee")
            out.append(f'<rect class="phase" x="{x0}" y="{ty0}" width="{max(x1 - x0, 0.5)}" '
                       f'height="{top_h}" fill="{color}" opacity="0.55">'
                       f'<title>{e(name)}: {e(phase or "(none)")}</title></rect>')
            if x1 - x0 > 40:
                out.append(f'<text x="{x0 + 3}" y="{ty0 + 12}" fill="#444">{e(phase)}</text>')
    # grid + axes
    for v in (0, 25, 50, 75, 100):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v)}" y2="{y(v)}" '
                   f'stroke="#ddd"/><text x="{left - 6}" y="{y(v) + 4}" '
                   f'text-anchor="end">{v}%</text>')
    span = (t1 - t0) / scale
    step = _nice_step(span)
    tick = 0.0
    while tick <= span + 1e-9:
        out.append(f'<line x1="{x(tick)}" x2="{x(tick)}" y1="{by0 + bot_h}" '
                   f'y2="{by0 + bot_h + 4}" stroke="#666"/><text x="{x(tick)}" '
                   f'y="{by0 + bot_h + 16}" text-anchor="middle">{tick:g}s</text>')
        tick += step
    out.append(f'<text x="{(width) / 2}" y="{by0 + bot_h + 32}" text-anchor="middle" '
               f'fill="#444">spec time since first record (time scale {scale:g}: '
               f'{t1 - t0:.1f}s wall)</text>')
    # canary weight per route: a step line
    for ns, rname in sorted({(r.get("namespace"), r.get("name")) for r in tl.of("route")}):
        pts = route_canary_weights(tl, rname, ns)
        if not pts:
            continue
        d = f"M{sx(pts[0][0])},{y(pts[0][1])}"
        for (_, w_prev), (t, w) in zip(pts, pts[1:], strict=False):
            d += f" H{sx(t)} V{y(w)}" if w != w_prev else f" H{sx(t)}"
        d += f" H{sx(t1)}"
        out.append(f'<path class="weight" d="{d}" fill="none" stroke="{WEIGHT_COLOR}" '
                   f'stroke-width="2.5"><title>{e(rname)} canary weight</title></path>')
        for t, w in pts:
            out.append(f'<circle cx="{sx(t)}" cy="{y(w)}" r="2.5" fill="{WEIGHT_COLOR}">'
                       f'<title>{e(rname)} canary weight {w}% at '
                       f'{(t - t0) / scale:.1f}s</title></circle>')
    # Prometheus success rates
    for key, color, dash in (("success_rate", SR_COLOR, ""),
                             ("primary_success_rate", PRIMARY_SR_COLOR, ' stroke-dasharray="4 3"')):
        pts2 = [(p["t"], p[key]) for p in tl.of("prometheus") if p.get(key) is not None]
        if pts2:
            poly = " ".join(f"{sx(t)},{y(min(max(v, 0), 100))}" for t, v in pts2)
            out.append(f'<polyline class="{key}" points="{poly}" fill="none" stroke="{color}" '
                       f'stroke-width="1.5"{dash}/>')
    # observed canary share from the clients (if the canary version is known)
    cv = tl.meta.get("canary_version")
    deltas = _pooled(client_deltas(tl))
    if cv:
        for d in deltas:
            n = sum(d["by_version"].values())
            if n:
                share = 100.0 * d["by_version"].get(cv, 0) / n
                out.append(f'<circle class="share" cx="{sx((d["t0"] + d["t1"]) / 2)}" '
                           f'cy="{y(share)}" r="1.8" fill="{SHARE_COLOR}" opacity="0.6"/>')
    # bottom panel: failed-request share seen by clients
    fails = [((d["t0"] + d["t1"]) / 2, 100.0 * d["failures"] / d["requests"])
             for d in deltas if d["requests"]]
    top = max([5.0] + [f for _, f in fails])
    yb = _Scale(0, top, by0 + bot_h, by0)
    out.append(f'<rect x="{left}" y="{by0}" width="{width - left - right}" height="{bot_h}" '
               f'fill="#fff" stroke="#999"/>')
    for v in (0, top / 2, top):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{yb(v)}" y2="{yb(v)}" '
                   f'stroke="#eee"/><text x="{left - 6}" y="{yb(v) + 4}" '
                   f'text-anchor="end">{v:.3g}%</text>')
    if fails:
        poly = " ".join(f"{sx(t)},{yb(v)}" for t, v in fails)
        out.append(f'<polyline class="client_failures" points="{poly}" fill="none" '
                   f'stroke="{FAIL_COLOR}" stroke-width="1.5"/>')
    else:
        out.append(f'<text x="{left + 8}" y="{by0 + bot_h / 2}" fill="#999">no client samples'
                   f'</text>')
    out.append(f'<text x="{left}" y="{by0 - 6}" fill="{FAIL_COLOR}">failed requests seen by the '
               f'load generator (share per sample)</text>')
    # legend
    legend = [(WEIGHT_COLOR, "canary weight (HTTPRoute)"), (SR_COLOR, "canary success rate"),
              (PRIMARY_SR_COLOR, "primary success rate")]
    if cv:
        legend.append((SHARE_COLOR, f"canary share seen by clients (v{cv})"))
    lx = left
    for color, label in legend:
        out.append(f'<rect x="{lx}" y="8" width="12" height="8" fill="{color}"/>'
                   f'<text x="{lx + 16}" y="16">{e(label)}</text>')
        lx += 22 + 6.2 * len(label)
    out.append("</svg>")
    return "\n".join(out)


# -- the page -------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px} h2{font-size:18px;margin-top:36px;border-bottom:1px solid #ccc}
.verdict{display:inline-block;padding:2px 10px;border-radius:10px;color:#fff;font-weight:bold}
.passed{background:#2e8b57}.failed,.error{background:#c0392b}.skipped{background:#999}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4} tr.Warning td{background:#fdecea}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px;max-height:400px}
.summary td{text-align:center}.meta{color:#666;font-size:12px}
"""


ROLLOUT_KINDS = ("Canary/", "Rollout/")


def _events_table(tl: Timeline) -> str:
    """The rollout objects' events first; everything else (pods, replica sets) folded away."""
    evs = events_for(tl)
    if not evs:
        return "<p class='meta'>no events recorded</p>"
    main = [e for e in evs if str(e.get("object", "")).startswith(ROLLOUT_KINDS)]
    rest = [e for e in evs if e not in main]
    html_ = _event_rows(tl, main) if main else "<p class='meta'>no Canary/Rollout events</p>"
    if rest:
        html_ += (f"<details><summary>other events ({len(rest)})</summary>"
                  f"{_event_rows(tl, rest)}</details>")
    return html_


def _event_rows(tl: Timeline, evs: list[dict[str, Any]]) -> str:
    t0 = min(x["t"] for x in tl.entries)
    scale = tl.time_scale or 1.0
    rows = "".join(
        f"<tr class='{html.escape(ev.get('type', ''))}'><td>{(ev['t'] - t0) / scale:.1f}s</td>"
        f"<td>{html.escape(ev.get('type', ''))}</td><td>{html.escape(ev.get('reason', ''))}</td>"
        f"<td>{html.escape(ev.get('object', ''))}</td>"
        f"<td>{html.escape(ev.get('message', ''))}</td></tr>" for ev in evs)
    return ("<table class='events'><tr><th>at (spec)</th><th>type</th><th>reason</th>"
            f"<th>object</th><th>message</th></tr>{rows}</table>")


def render_scenario(rec: ScenarioRecord, tl: Timeline | None) -> str:
    e = html.escape
    parts = [f"<section class='scenario' id='{e(slug(rec.nodeid))}'>",
             f"<h2>{e(rec.feature)}: {e(rec.name)}</h2>",
             f"<p><span class='verdict {e(rec.outcome)}'>{e(rec.outcome.upper())}</span> "
             f"<span class='meta'>{rec.duration:.1f}s &middot; {e(rec.nodeid)}"
             f"{' &middot; tags: ' + e(', '.join(rec.tags)) if rec.tags else ''}</span></p>"]
    if rec.message:
        parts.append(f"<pre class='message'>{e(rec.message)}</pre>")
    if tl is not None and tl.entries:
        parts.append(chart_svg(tl))
        parts.append("<h3>Events</h3>" + _events_table(tl))
    elif rec.outcome != "skipped":
        parts.append("<p class='meta'>no rollout timeline was recorded</p>")
    if tl is not None and tl.time_scale and caveats(tl.time_scale):
        items = "".join(f"<li>{e(c)}</li>" for c in caveats(tl.time_scale))
        parts.append(f"<details class='timescale'><summary>time scale {tl.time_scale:g}: what "
                     f"it does not keep invariant</summary><ul>{items}</ul></details>")
    for name, text in rec.diagnostics.items():
        parts.append(f"<details><summary>{e(name)}</summary><pre>"
                     f"{e(text[-MAX_DIAG_CHARS:])}</pre></details>")
    parts.append("</section>")
    return "\n".join(parts)


def conformance_summary(records: Sequence[ScenarioRecord]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in records:
        row = out.setdefault(r.feature, {"passed": 0, "failed": 0, "skipped": 0})
        key = "failed" if r.outcome in ("failed", "error") else r.outcome
        row[key] = row.get(key, 0) + 1
    return out


def render_report(records: Sequence[ScenarioRecord], timelines: dict[str, Timeline | None],
                  title: str = "Canary rollouts", context: dict[str, str] | None = None) -> str:
    e = html.escape
    summary = conformance_summary(records)
    srows = "".join(f"<tr><td style='text-align:left'>{e(f)}</td><td>{c['passed']}</td>"
                    f"<td>{c['failed']}</td><td>{c['skipped']}</td></tr>"
                    for f, c in summary.items())
    ctx = " &middot; ".join(f"{e(k)}: {e(v)}" for k, v in (context or {}).items())
    body = "\n".join(render_scenario(r, timelines.get(r.nodeid)) for r in records)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>{CSS}</style></head><body>
<h1>{e(title)}</h1>
<p class="meta">generated {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}
{' &middot; ' + ctx if ctx else ''}</p>
<table class="summary"><tr><th>feature</th><th>passed</th><th>failed</th><th>skipped</th></tr>
{srows}</table>
{body or '<p>no scenarios ran</p>'}
</body></html>
"""


def write_report(report_dir: Path, records: Sequence[ScenarioRecord],
                 context: dict[str, str] | None = None) -> Path:
    """Write rollouts.html (and conformance.json) from records and their timeline files."""
    report_dir.mkdir(parents=True, exist_ok=True)
    timelines: dict[str, Timeline | None] = {}
    for r in records:
        tl = None
        if r.timeline_file:
            p = Path(r.timeline_file)
            p = p if p.is_absolute() else report_dir / p
            try:
                tl = Timeline.load(p)
            except (OSError, ValueError):
                tl = None
        timelines[r.nodeid] = tl
    path = report_dir / "rollouts.html"
    path.write_text(render_report(records, timelines, context=context))
    (report_dir / "scenarios.json").write_text(
        json.dumps([r.to_dict() for r in records], indent=1))
    return path


def write_conformance(report_dir: Path, records: Sequence[ScenarioRecord],
                      context: dict[str, str]) -> Path:
    doc = {**context, "features": conformance_summary(records),
           "scenarios": [{"feature": r.feature, "scenario": r.name, "result": r.outcome,
                          "tags": r.tags} for r in records]}
    path = report_dir / "conformance.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m canary.harness.report`` re-renders a report directory, or ``--sample PATH``
    writes a report from a synthetic rollout (to preview the charts without a cluster)."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m canary.harness.report", description=main.__doc__)
    p.add_argument("--sample", metavar="HTML", help="write a sample report to this file")
    p.add_argument("--report-dir", default="reports",
                   help="re-render rollouts.html from REPORT_DIR/scenarios.json")
    args = p.parse_args(argv)
    if args.sample:
        from canary.harness.samples import sample_records

        out = Path(args.sample).resolve()
        records = sample_records(out.parent / "timelines")
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = write_report(out.parent, records, context={"environment": "sample"})
        if tmp != out:
            tmp.replace(out)
        print(out)
        return 0
    rd = Path(args.report_dir)
    try:
        raw = json.loads((rd / "scenarios.json").read_text())
    except (OSError, ValueError) as e:
        print(f"cannot read {rd / 'scenarios.json'}: {e}")
        return 2
    print(write_report(rd, [ScenarioRecord(**r) for r in raw]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
