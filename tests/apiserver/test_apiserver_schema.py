"""Structural schema handling (prune, default, validate) against the CRDs the sandbox ships.

Expected wording: kube-openapi pkg/validation/errors/schema.go messages inside the field errors
of apiextensions-apiserver pkg/apiserver/validation/validation.go (kubeOpenAPIResultToFieldErrors).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from support import CRDS

from canary.sandbox.apiserver import schema

MANIFESTS = CRDS.parent


def _schema(file: str, version: str) -> dict[str, Any]:
    crd = yaml.safe_load((CRDS / file).read_text())
    found = schema.version_schema(crd, version)
    assert found is not None
    return found


CANARY = _schema("flagger.app_canaries.yaml", "v1beta1")
ROLLOUT = _schema("argoproj.io_rollouts.yaml", "v1alpha1")


def _manifest(file: str, kind: str) -> dict[str, Any]:
    for doc in yaml.safe_load_all((MANIFESTS / file).read_text()):
        if doc and doc.get("kind") == kind:
            return doc
    raise AssertionError(f"no {kind} in {file}")


def _messages(sch: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    return [f"{c['field']}: {c['message']}" for c in schema.validate(sch, obj)]


@pytest.mark.parametrize(("file", "kind", "sch"), [
    ("podinfo-canary.yaml", "Canary", CANARY),
    ("argo-rollout-corrected.yaml", "Rollout", ROLLOUT),
])
def test_the_seed_objects_pass_untouched(file: str, kind: str, sch: dict[str, Any]) -> None:
    obj = _manifest(file, kind)
    before = copy.deepcopy(obj)
    assert schema.prune(sch, obj) == []
    assert obj == before
    assert schema.validate(sch, obj) == []


def test_wrong_types_and_patterns_are_named_as_the_api_server_names_them() -> None:
    obj = _manifest("podinfo-canary.yaml", "Canary")
    obj["spec"]["service"]["port"] = "ninety"
    obj["spec"]["analysis"]["interval"] = "10 seconds"
    causes = {c["field"]: c for c in schema.validate(CANARY, obj)}
    assert causes["spec.service.port"] == {
        "reason": "FieldValueTypeInvalid", "field": "spec.service.port",
        # Flagger declares the port `type: number`
        "message": 'Invalid value: "string": spec.service.port in body must be of type '
                   'number: "string"'}
    assert causes["spec.analysis.interval"]["message"] == (
        'Invalid value: "10 seconds": spec.analysis.interval in body should match '
        "'^[0-9]+(m|s)'")
    assert causes["spec.analysis.interval"]["reason"] == "FieldValueInvalid"


def test_enum_required_and_one_of() -> None:
    obj = _manifest("podinfo-canary.yaml", "Canary")
    obj["spec"]["provider"] = "linkred"
    del obj["spec"]["targetRef"]["name"]
    obj["spec"]["analysis"]["iterations"] = 10  # with stepWeight: two oneOf branches hold
    msgs = _messages(CANARY, obj)
    assert any(m.startswith('spec.provider: Unsupported value: "linkred": supported values: '
                            '"apisix", "appmesh"') for m in msgs)
    assert "spec.targetRef.name: Required value" in msgs
    assert ('<nil>: Invalid value: "": "spec.analysis" must validate one and only one schema '
            "(oneOf). Found 2 valid alternatives") in msgs


def test_a_typo_is_pruned_and_reported_by_path() -> None:
    obj = _manifest("podinfo-canary.yaml", "Canary")
    obj["spec"]["analysis"]["stepweight"] = 5
    obj["spec"]["analysis"]["metrics"][0]["tresholdRange"] = {"min": 99}
    dropped = schema.prune(CANARY, obj)
    assert dropped == ["spec.analysis.metrics[0].tresholdRange", "spec.analysis.stepweight"]
    assert "stepweight" not in obj["spec"]["analysis"]


def test_preserve_unknown_fields_keeps_what_upstream_keeps() -> None:
    sch = {"type": "object", "properties": {"spec": {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True,
        "properties": {"n": {"type": "integer", "maximum": 100}}}}}
    obj = {"spec": {"n": 150, "free": {"x": 1}}}
    assert schema.prune(sch, obj) == []
    assert obj["spec"]["free"] == {"x": 1}
    assert _messages(sch, obj) == [
        "spec.n: Invalid value: 150: spec.n in body should be less than or equal to 100"]


def test_int_or_string_nullable_and_defaults() -> None:
    sch = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "maxSurge": {"x-kubernetes-int-or-string": True},
        "note": {"type": "string", "nullable": True},
        "count": {"type": "integer", "default": 3},
        "name": {"type": "string", "maxLength": 3},
        "items": {"type": "array", "maxItems": 1, "items": {"type": "string"}}}}}}
    ok = {"spec": {"maxSurge": "25%", "note": None}}
    schema.default(sch, ok)
    assert ok["spec"]["count"] == 3
    assert _messages(sch, ok) == []
    assert _messages(sch, {"spec": {"maxSurge": 1}}) == []
    assert _messages(sch, {"spec": {"maxSurge": True, "name": "long", "items": ["a", "b"]}}) \
        == ['spec.maxSurge: Invalid value: "boolean": spec.maxSurge in body must be of type '
            'integer,string: "boolean"',
            "spec.name: Too long: may not be more than 3 bytes",
            "spec.items: Too many: 2: must have at most 1 item"]


def test_rollout_typo_in_a_step_is_pruned_and_wrong_weight_type_refused() -> None:
    obj = _manifest("argo-rollout-corrected.yaml", "Rollout")
    steps = obj["spec"]["strategy"]["canary"]["steps"]
    steps[0]["setWieght"] = 10
    first_weight = next(i for i, s in enumerate(steps) if "setWeight" in s)
    steps[first_weight]["setWeight"] = "ten"
    dropped = schema.prune(ROLLOUT, obj)
    assert dropped == ["spec.strategy.canary.steps[0].setWieght"]
    fields = [c["field"] for c in schema.validate(ROLLOUT, obj)]
    assert f"spec.strategy.canary.steps[{first_weight}].setWeight" in fields
