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
    client_sources,
    events_for,
    phase_changes,
    route_canary_weights,
    weight_steps,
)
from canary.harness.timescale import caveats

PHASE_COLORS = {
    "Initializing": "#d9d9d9", "Initialized": "#cfe2f3", "Waiting": "#fff2cc",
    "Progressing": "#fce5cd", "WaitingPromotion": "#fff2cc", "Promoting": "#d9ead3",
    "Finalising": "#b6d7a8", "Succeeded": "#93c47d", "Failed": "#ea9999",
    "Terminating": "#d5a6bd", "Deleted": "#eeeeee",
    # Argo Rollouts
    "Healthy": "#b6d7a8", "Paused": "#ffd966", "Degraded": "#e06666",
}
WEIGHT_COLOR = "#1f5fbf"
SR_COLOR = "#2e8b57"
PRIMARY_SR_COLOR = "#888888"
FAIL_COLOR = "#c0392b"
SHARE_COLOR = "#8e44ad"
# one failed-request line per load source
SOURCE_COLORS = ("#c0392b", "#d35400", "#7f8c8d", "#16a085", "#2c3e50")
STEP_COLOR = "#555555"
STEPS_HEADER_BG = "#dde7f5"  # the step table's header, so a screenshot can find it
CHAR_W = 6.2  # px per character at font-size 11, to keep labels from overlapping
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
    # Gherkin steps: {"keyword", "text", "outcome" (passed|failed|undefined|skipped), "message"}
    steps: list[dict[str, str]] = field(default_factory=list)

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
    # headroom above 100%: a success rate of 100% stays visible instead of merging into the frame
    y = _Scale(0, 100, ty0 + top_h, ty0 + 18)
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
            if x1 - x0 > CHAR_W * len(phase) + 8:  # a label that fits its band, or none
                out.append(f'<text class="phase-label" x="{x0 + 3}" y="{ty0 + 12}" '
                           f'fill="#444">{e(phase)}</text>')
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
    # step markers: one numbered tick per weight step, matching the rows of the step table
    for ns, rname in sorted({(r.get("namespace"), r.get("name")) for r in tl.of("route")}):
        for i, st in enumerate(weight_steps(tl, rname, ns), start=1):
            xs = sx(st["t0"])
            out.append(f'<line class="step-marker" x1="{xs}" x2="{xs}" y1="{ty0}" '
                       f'y2="{ty0 + top_h}" stroke="{STEP_COLOR}" stroke-dasharray="2 3">'
                       f'<title>step {i}: weight {st["weight"]}%</title></line>'
                       f'<text x="{xs + 2}" y="{ty0 + 24}" fill="{STEP_COLOR}" '
                       f'font-size="9">{i}</text>')
    # Prometheus success rates
    for key, color, dash in (("success_rate", SR_COLOR, ""),
                             ("primary_success_rate", PRIMARY_SR_COLOR, ' stroke-dasharray="4 3"')):
        pts2 = [(p["t"], p[key]) for p in tl.of("prometheus") if p.get(key) is not None]
        if pts2:
            poly = " ".join(f"{sx(t)},{y(min(max(v, 0), 100))}" for t, v in pts2)
            out.append(f'<polyline class="{key}" points="{poly}" fill="none" stroke="{color}" '
                       f'stroke-width="2"{dash}/>')
    # observed canary share from the clients (if the canary version is known)
    cv = tl.meta.get("canary_version")
    if cv:
        for src in client_sources(tl):
            for d in _pooled(client_deltas(tl, src)):
                n = sum(d["by_version"].values())
                if n:
                    share = 100.0 * d["by_version"].get(cv, 0) / n
                    out.append(f'<circle class="share" data-source="{e(src)}" '
                               f'cx="{sx((d["t0"] + d["t1"]) / 2)}" cy="{y(share)}" r="1.8" '
                               f'fill="{SHARE_COLOR}" opacity="0.6"><title>{e(src)}: '
                               f'{share:.1f}% v{e(str(cv))}</title></circle>')
    # bottom panel: failed-request share seen by each load source (one line each: a source
    # sending to a broken canary directly must not hide what the users' traffic saw)
    sources = client_sources(tl)
    per_source = {src: [((d["t0"] + d["t1"]) / 2, 100.0 * d["failures"] / d["requests"])
                        for d in _pooled(client_deltas(tl, src)) if d["requests"]]
                  for src in sources}
    top = max([5.0] + [f for pts3 in per_source.values() for _, f in pts3])
    top = min(100.0, top * 1.1)
    yb = _Scale(0, top, by0 + bot_h, by0 + 4)
    out.append(f'<rect x="{left}" y="{by0}" width="{width - left - right}" height="{bot_h}" '
               f'fill="#fff" stroke="#999"/>')
    for v in (0, top / 2, top):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{yb(v)}" y2="{yb(v)}" '
                   f'stroke="#eee"/><text x="{left - 6}" y="{yb(v) + 4}" '
                   f'text-anchor="end">{v:.3g}%</text>')
    colors = {src: SOURCE_COLORS[i % len(SOURCE_COLORS)] for i, src in enumerate(sources)}
    for src, pts3 in per_source.items():
        if pts3:
            poly = " ".join(f"{sx(t)},{yb(v)}" for t, v in pts3)
            out.append(f'<polyline class="client_failures" data-source="{e(src)}" '
                       f'points="{poly}" fill="none" stroke="{colors[src]}" stroke-width="2">'
                       f'<title>failed requests seen by {e(src)}</title></polyline>')
    if not any(per_source.values()):
        out.append(f'<text x="{left + 8}" y="{by0 + bot_h / 2}" fill="#999">no client samples'
                   f'</text>')
    label = "failed requests per load source (share per sample):"
    out.append(f'<text x="{left}" y="{by0 - 6}" fill="#444">{label}</text>')
    sx0 = left + CHAR_W * len(label) + 8
    for src in sources:
        out.append(f'<rect x="{sx0}" y="{by0 - 14}" width="12" height="8" '
                   f'fill="{colors[src]}"/><text x="{sx0 + 16}" y="{by0 - 6}">{e(src)}</text>')
        sx0 += 26 + CHAR_W * len(src)
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
table.steps-table th{background:""" + STEPS_HEADER_BG + """}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px;max-height:400px}
.summary td{text-align:center}.meta{color:#666;font-size:12px}
.overall{font-size:18px;margin:12px 0} .overall a{color:inherit}
ol.gherkin{font-size:13px;padding-left:22px} li.step{margin:2px 0}
li.step-failed,li.step-undefined{background:#fdecea} li.step-skipped{color:#999}
li.step-passed .mark{color:#2e8b57}
li.step-failed .mark,li.step-undefined .mark{color:#c0392b;font-weight:bold}
.off{color:#c0392b;font-weight:bold} ul.toc{font-size:13px}
.shots{display:flex;gap:16px} figure.browser{margin:0;font-size:12px}
figure.browser img{border:1px solid #999}
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


def _pct(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{100 * v:.{digits}f}%"


def _latency(f: dict[str, float | None]) -> str:
    if f.get("p50") is None and f.get("p99") is None:
        return "–"
    return " / ".join("–" if f.get(k) is None else f"{f[k]:.0f} ms" for k in ("p50", "p99"))


def _step_table(tl: Timeline) -> str:
    """One row per weight step; the numbers in the first column are the chart's step ticks."""
    from canary.harness.step_table import step_rows

    rows = step_rows(tl)
    if not rows:
        return ""
    e = html.escape
    sources = list(dict.fromkeys(src for r in rows for src in r.sources))
    latency = any(r.latency for r in rows)
    pages = any(r.page_loads for r in rows)
    head = ("<tr><th>#</th><th>route</th><th>declared weight</th><th>held (spec s)</th>"
            + "".join(f"<th>{e(src)}: requests</th><th>{e(src)}: canary share "
                      f"(± 1σ)</th><th>{e(src)}: failed</th>" for src in sources)
            + "<th>success rate canary / primary</th>"
            + ("<th>Linkerd requests canary / primary</th><th>latency p50 / p99 canary</th>"
               "<th>latency p50 / p99 primary</th>" if latency else "")
            + ("<th>page loads by version</th>" if pages else "")
            + "<th>failed checks</th><th>ended by</th></tr>")
    body = []
    for r in rows:
        cells = [str(r.index), e(r.route), f"{r.weight}%",
                 f"{r.held_s:.1f}" + (" (in force at the end)" if r.in_force else "")]
        for src in sources:
            sh = r.sources.get(src)
            if sh is None:
                cells += ["–", "–", "–"]
                continue
            share, sigma = sh.share(), r.sampling_error(src)
            off = (share is not None and sigma is not None and not r.promoted
                   and abs(share - r.weight / 100) > 3 * sigma)
            share_txt = _pct(share) + (f" ± {_pct(sigma)}" if share is not None
                                       and sigma is not None else "")
            if r.promoted and share is not None:
                share_txt += " (promoted: the primary runs that version too)"
            cells += [str(sh.requests),
                      f"<span class='{'off' if off else ''}'>{share_txt}</span>",
                      _pct(sh.failures / sh.requests if sh.requests else None, 2)]
        sr = r.success_rate
        cells.append(" / ".join(f"{sr[b]:.1f}%" if b in sr else "–"
                                for b in ("canary", "primary")))
        if latency:
            cells.append(" / ".join(f"{r.backend_requests[b]:.0f}" if b in r.backend_requests
                                    else "–" for b in ("canary", "primary")))
            cells += [_latency(r.latency.get(b) or {}) for b in ("canary", "primary")]
        if pages:
            n = sum(r.page_loads.values())
            cells.append("–" if not n else ", ".join(
                f"v{e(v)} {100 * sh:.0f}%" for v, sh in r.page_share().items()) + f" of {n}")
        cells += ["–" if r.failed_checks is None else str(r.failed_checks), e(r.ended_by)]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f"<h3>Weight steps</h3><table class='steps-table'>{head}{''.join(body)}</table>"
            "<p class='meta'>canary share: requests a load source got answered by the canary "
            "version; ± one standard deviation of that share for a route that splits exactly "
            "at the declared weight (red: more than 3σ off)"
            + ("; success rate, requests and latency (spec ms) per backend: Linkerd's "
               "response_total and response_latency_ms histogram over the step's window"
               if latency else "; success rate: mean of the recorder's 1m samples")
            + ("; page loads: the frontend loaded as a user refreshing it, one load per spec "
               "second" if pages else "") + "</p>")


def _weights(tl: Timeline) -> str:
    from canary.harness.step_table import weight_sequences

    exp, obs = weight_sequences(tl)
    if exp is None and obs is None:
        return ""
    same = exp == obs
    e = html.escape
    return ("<table class='weights'>"
            f"<tr><th>expected weights</th><td>{e(str(exp if exp is not None else '–'))}</td></tr>"
            f"<tr class='{'' if same else 'Warning'}'><th>observed weights</th>"
            f"<td>{e(str(obs if obs is not None else '–'))}</td></tr></table>")


def _settings(tl: Timeline) -> str:
    import yaml

    latest: dict[tuple[Any, Any, Any], Any] = {}
    for s_ in tl.of("settings"):
        latest[(s_.get("resource"), s_.get("namespace"), s_.get("name"))] = s_.get("settings")
    if not latest:
        return ""
    e = html.escape
    out = []
    for (kind, ns, name), val in latest.items():
        what = "spec.analysis" if kind == "Canary" else "spec.strategy"
        out.append(f"<details open><summary>{e(str(kind))} {e(str(ns))}/{e(str(name))} "
                   f"{what}</summary><pre>{e(yaml.safe_dump(val, sort_keys=False))}</pre>"
                   "</details>")
    return "<h3>Analysis settings</h3>" + "".join(out)


def _browser(tl: Timeline) -> str:
    """The frontend as headless Chromium showed it (inline PNGs: the page stays offline)."""
    shots = tl.meta.get("browser") or []
    if not shots:
        return ""
    e = html.escape
    t0 = min(x["t"] for x in tl.entries) if tl.entries else 0.0
    scale = tl.time_scale or 1.0
    figs = "".join(
        f"<figure class='browser'><img alt='frontend at {e(str(s.get('label')))}' width='240' "
        f"src='data:image/png;base64,{e(str(s.get('png', '')))}'><figcaption>"
        f"{e(str(s.get('label')))} ({(float(s.get('t', t0)) - t0) / scale:.0f}s spec): version "
        f"{e(str(s.get('version')))}, page colour <span style='color:{e(str(s.get('colour')))}'>"
        f"&#9632;</span> {e(str(s.get('colour')))}</figcaption></figure>" for s in shots)
    return f"<h3>Browser</h3><div class='shots'>{figs}</div>"


def _stat_outputs(tl: Timeline) -> str:
    """What `linkerd viz stat` printed when the scenario ran it (per-deployment figures)."""
    outs = tl.meta.get("linkerd_stat") or []
    if not outs:
        return ""
    e = html.escape
    t0 = min(x["t"] for x in tl.entries) if tl.entries else 0.0
    scale = tl.time_scale or 1.0
    return "<h3>linkerd viz stat</h3>" + "".join(
        f"<p class='meta'>at {(float(o.get('t', t0)) - t0) / scale:.0f}s spec: "
        f"<code>{e(str(o.get('command')))}</code></p><pre>{e(str(o.get('output')))}</pre>"
        for o in outs)


def _gherkin_steps(rec: ScenarioRecord) -> str:
    if not rec.steps:
        return ""
    e = html.escape
    items = []
    for st in rec.steps:
        outcome = st.get("outcome", "")
        msg = st.get("message") or ""
        items.append(f"<li class='step step-{e(outcome)}'><span class='mark'>"
                     f"{e(STEP_MARKS.get(outcome, outcome))}</span> <b>{e(st.get('keyword', ''))}"
                     f"</b> {e(st.get('text', ''))}"
                     + (f"<pre class='message'>{e(msg)}</pre>" if msg else "") + "</li>")
    return f"<ol class='gherkin'>{''.join(items)}</ol>"


STEP_MARKS = {"passed": "✔ passed", "failed": "✘ FAILED", "undefined": "? undefined",
              "skipped": "– not run"}


def render_scenario(rec: ScenarioRecord, tl: Timeline | None) -> str:
    e = html.escape
    parts = [f"<section class='scenario' id='{e(slug(rec.nodeid))}'>",
             f"<h2>{e(rec.feature)}: {e(rec.name)}</h2>",
             f"<p><span class='verdict {e(rec.outcome)}'>{e(rec.outcome.upper())}</span> "
             f"<span class='meta'>{rec.duration:.1f}s &middot; {e(rec.nodeid)}"
             f"{' &middot; tags: ' + e(', '.join(rec.tags)) if rec.tags else ''}</span></p>"]
    failed_step = any(st.get("outcome") in ("failed", "undefined") for st in rec.steps)
    if rec.message and not failed_step:  # else the message is shown under its step
        parts.append(f"<pre class='message'>{e(rec.message)}</pre>")
    parts.append(_gherkin_steps(rec))
    if tl is not None and tl.entries:
        parts.append(_settings(tl))
        parts.append(_weights(tl))
        parts.append(chart_svg(tl))
        parts.append(_step_table(tl))
        parts.append(_stat_outputs(tl))
        parts.append(_browser(tl))
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


def _overall(records: Sequence[ScenarioRecord]) -> str:
    """The verdict of the whole run first, then every scenario linked, failures first."""
    e = html.escape
    if not records:
        return ""
    bad = [r for r in records if r.outcome in ("failed", "error")]
    ran = [r for r in records if r.outcome != "skipped"]
    verdict = "failed" if bad else "passed" if ran else "skipped"
    text = (f"{len(bad)} of {len(ran)} scenarios failed" if bad else
            f"all {len(ran)} scenarios passed" if ran else "every scenario was skipped")
    order = bad + [r for r in records if r not in bad]
    items = "".join(f"<li><span class='verdict {e(r.outcome)}'>{e(r.outcome.upper())}</span> "
                    f"<a href='#{e(slug(r.nodeid))}'>{e(r.feature)}: {e(r.name)}</a></li>"
                    for r in order)
    return (f"<p class='overall'><span class='verdict {verdict}'>{verdict.upper()}</span> "
            f"{text}</p><ul class='toc'>{items}</ul>")


def render_report(records: Sequence[ScenarioRecord], timelines: dict[str, Timeline | None],
                  title: str = "Canary rollouts", context: dict[str, str] | None = None) -> str:
    e = html.escape
    summary = conformance_summary(records)
    srows = "".join(f"<tr><td style='text-align:left'>{e(f)}</td><td>{c['passed']}</td>"
                    f"<td>{c['failed']}</td><td>{c['skipped']}</td></tr>"
                    for f, c in summary.items())
    ctx = " &middot; ".join(f"{e(k)}: {e(v)}" for k, v in (context or {}).items())
    body = "\n".join(render_scenario(r, timelines.get(r.nodeid)) for r in records)
    overall = _overall(records)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>{CSS}</style></head><body>
<h1>{e(title)}</h1>
<p class="meta">generated {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}
{' &middot; ' + ctx if ctx else ''}</p>
{overall}
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
