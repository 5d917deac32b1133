"""``setHeaderRoute`` and ``setMirrorRoute`` steps and ``trafficRouting.managedRoutes``.

Messages follow argoproj/argo-rollouts pkg/apis/rollouts/validation/validation.go:334-383
(traffic routing required, managedRoutes required and naming every step's route, one of
exact/regex/prefix per StringMatch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from canary.spec.rollout import Step

MATCH_KINDS = ("exact", "prefix", "regex")
MULTIPLE = "StringMatch match value must have exactly one of the following: exact, regex, prefix"
MISSED = ("StringMatch value missed, match value must have one of the following: exact, regex, "
          "prefix")
NOT_MANAGED = ("Steps define a route that does not exist in "
               "spec.strategy.canary.trafficRouting.managedRoutes")
MANAGED_PATH = "spec.strategy.canary.trafficRouting.managedRoutes"


def _string_match(val: Any, path: str, errors: list[str]) -> tuple[str, str] | None:
    """(kind, value) of an Argo StringMatch, or None after adding the problem to ``errors``."""
    if not isinstance(val, dict):
        errors.append(f"{path}: {MISSED}")
        return None
    for key in val:
        if key not in MATCH_KINDS:
            errors.append(f"{path}.{key}: unknown field (one of exact, prefix, regex)")
    set_ = [(k, val[k]) for k in MATCH_KINDS if val.get(k) not in (None, "")]
    if not set_:
        errors.append(f"{path}: {MISSED}")
        return None
    if len(set_) > 1:
        errors.append(f"{path}: {MULTIPLE}")
        return None
    kind, value = set_[0]
    if not isinstance(value, str):
        errors.append(f"{path}.{kind}: must be a string, got {value!r}")
        return None
    return kind, value


def parse_route_step(kind: str, val: Any, path: str, errors: list[str]) -> Step:
    from canary.spec.rollout import HeaderMatch, Step

    spath = f"{path}.{kind}"
    if not isinstance(val, dict):
        errors.append(f"{spath}: must be an object with a name")
        return Step("invalid")
    known = ("name", "match") if kind == "setHeaderRoute" else ("name", "match", "percentage")
    for key in val:
        if key not in known:
            errors.append(f"{spath}.{key}: unknown field (one of {', '.join(known)})")
    name = val.get("name")
    if not isinstance(name, str) or not name:
        errors.append(f"{spath}.name: required (a route listed in {MANAGED_PATH})")
        return Step("invalid")
    match = val.get("match")
    if match is not None and not isinstance(match, list):
        errors.append(f"{spath}.match: must be a list")
        return Step("invalid")
    if kind == "setMirrorRoute":
        for j, m in enumerate(match or []):
            mpath = f"{spath}.match[{j}]"
            if not isinstance(m, dict):
                errors.append(f"{mpath}: must be an object of method, path, headers")
                continue
            for key in ("method", "path"):
                if m.get(key) is not None:
                    _string_match(m[key], f"{mpath}.{key}", errors)
            for hname, hval in (m.get("headers") or {}).items():
                _string_match(hval, f"{mpath}.headers.{hname}", errors)
        pct = val.get("percentage")
        if pct is not None and (isinstance(pct, bool) or not isinstance(pct, int)
                                or not 0 <= pct <= 100):
            errors.append(f"{spath}.percentage: must be an integer from 0 to 100, got {pct!r}")
        return Step(kind, route=name)
    if not match:
        # No match: the step removes the managed route (argo-rollouts types.go SetHeaderRoute).
        return Step(kind, route=name, headers=None)
    headers: list[HeaderMatch] = []
    for j, m in enumerate(match):
        mpath = f"{spath}.match[{j}]"
        if not isinstance(m, dict) or not isinstance(m.get("headerName"), str) \
                or not m.get("headerName"):
            errors.append(f"{mpath}.headerName: required")
            continue
        got = _string_match(m.get("headerValue"), f"{mpath}.headerValue", errors)
        if got is not None:
            headers.append(HeaderMatch(m["headerName"], got[0], got[1]))
    return Step(kind, route=name, headers=tuple(headers))


def parse_managed_routes(tr: Any, errors: list[str]) -> list[str] | None:
    """The names in ``managedRoutes`` (None when the field is absent)."""
    if not isinstance(tr, dict) or tr.get("managedRoutes") is None:
        return None
    raw = tr["managedRoutes"]
    if not isinstance(raw, list):
        errors.append(f"{MANAGED_PATH}: must be a list of {{name}}")
        return []
    out: list[str] = []
    for i, r in enumerate(raw):
        if not isinstance(r, dict) or not isinstance(r.get("name"), str) or not r["name"]:
            errors.append(f"{MANAGED_PATH}[{i}].name: required")
            continue
        if r["name"] in out:
            errors.append(f"{MANAGED_PATH}[{i}].name: {r['name']!r} is listed twice")
            continue
        out.append(r["name"])
    return out


def check_route_steps(steps: list[Step], managed: list[str] | None, routed: bool,
                      errors: list[str]) -> None:
    """Each header/mirror step needs traffic routing and a route named in managedRoutes."""
    for i, step in enumerate(steps):
        if step.kind not in ("setHeaderRoute", "setMirrorRoute"):
            continue
        spath = f"spec.strategy.canary.steps[{i}].{step.kind}"
        if not routed:
            what = ("SetHeaderRoute requires TrafficRouting, supports Istio and ALB and Apisix"
                    if step.kind == "setHeaderRoute"
                    else "SetMirrorRoute requires TrafficRouting, supports Istio and Plugins")
            errors.append(f"{spath}: {what}")
        elif managed is None:
            errors.append(f"{spath}: Rollout has missing field '{MANAGED_PATH}'")
        elif step.route not in managed:
            errors.append(f"{spath}.name: {NOT_MANAGED} ({step.route!r} is not one of "
                          f"{managed or 'no routes'})")
