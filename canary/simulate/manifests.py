"""Read the objects a user applies (multi-document YAML files) into engine specs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from canary.spec.canary import API_VERSION, CanarySpec, parse_canary
from canary.spec.errors import SpecError
from canary.spec.metrictemplate import MetricTemplateSpec, parse_metric_template


class SimulationError(ValueError):
    """Input the simulator cannot run, with a message naming the file, object or field."""


@dataclass
class Manifests:
    canaries: list[tuple[CanarySpec, dict[str, Any]]] = field(default_factory=list)
    templates: dict[str, MetricTemplateSpec] = field(default_factory=dict)  # "name.namespace"
    rollouts: list[dict[str, Any]] = field(default_factory=list)
    analysis_templates: list[dict[str, Any]] = field(default_factory=list)


def load(paths: list[str | Path]) -> Manifests:
    out = Manifests()
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise SimulationError(f"{path}: no such file")
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as e:
            raise SimulationError(f"{path}: not valid YAML: {e}") from None
        for i, doc in enumerate(docs):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise SimulationError(f"{path}: document {i + 1} is not a mapping")
            _add(out, path, doc)
    return out


def _add(out: Manifests, path: Path, doc: dict[str, Any]) -> None:
    kind, api = doc.get("kind"), doc.get("apiVersion")
    md = doc.get("metadata") or {}
    where = f"{path}: {kind} {md.get('name', '?')}"
    try:
        if kind == "Canary" and api == API_VERSION:
            out.canaries.append((parse_canary(doc), doc))
        elif kind == "MetricTemplate" and api == API_VERSION:
            t = parse_metric_template(doc)
            out.templates[f"{t.name}.{t.namespace}"] = t
        elif kind == "Rollout" and str(api).startswith("argoproj.io/"):
            out.rollouts.append(doc)
        elif kind in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
            out.analysis_templates.append(doc)
    except SpecError as e:
        raise SimulationError(f"{where}: {e.summary()}") from None
