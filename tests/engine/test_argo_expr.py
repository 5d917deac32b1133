"""Argo's analysis conditions, evaluated the way argo-rollouts utils/evaluate/evaluate.go does
(expr-lang over ``result`` and Argo's helper functions), never with Python's eval."""

from __future__ import annotations

import math

import pytest

from canary.engine.argo_analysis import evaluate
from canary.engine.argo_expr import ExprError, eval_condition
from canary.spec.analysis import parse_metric


@pytest.mark.parametrize(("condition", "result", "expected"), [
    ("result[0] >= 0.99", [0.995], True),
    ("result[0] >= 0.99", [0.97], False),
    ("len(result) == 0 || result[0] >= 0.99", [], True),
    ("result[0] >= 0.95 && result[0] <= 1", [0.97], True),
    ("result[0] < 0.9 or result[0] > 1", [0.97], False),
    ("isNaN(result[0])", [math.nan], True),
    ("!isNaN(result[0]) && result[0] > 0.5", [math.nan], False),
    ("not isNaN(result[0])", [0.5], True),
    ("isInf(result)", math.inf, True),
    ("all(result, {# >= 0.9})", [0.95, 0.91], True),
    ("all(result, # >= 0.9)", [0.95, 0.81], False),
    ("any(result, {# < 0.5})", [0.95, 0.41], True),
    ("none(result, # < 0.5)", [0.95], True),
    ("len(filter(result, # > 0.9)) == 1", [0.95, 0.2], True),
    ("result[-1] == 0.2", [0.95, 0.2], True),
    ("result == 3", 3.0, True),  # a scalar compares with an int literal
    ("asInt(result) == 3", 3.9, True),  # asInt truncates
    ("asFloat('0.5') * 2 == 1", None, True),
    ("isNil(result)", None, True),
    ("default(result, 7) == 7", None, True),
    ("1 + 2 * 3 == 7 && 2 ** 3 == 8 && 7 % 4 == 3", None, True),
    ("-result[0] < 0", [0.5], True),
    ("result[0] in [0.5, 1]", [0.5], True),
    ("result[0] >= 0.99 ? false : true", [0.5], True),
    ("'podinfo' startsWith 'pod' && 'x' matches '^x$'", None, True),
])
def test_conditions_as_argo_evaluates_them(condition: str, result: object,
                                            expected: bool) -> None:
    assert eval_condition(result, condition) is expected


@pytest.mark.parametrize(("condition", "result", "message"), [
    ("result[0] >= 0.99", [], "index out of range: 0 (array length is 0)"),
    ("result[0]", [0.5], "expected bool, but got float64"),
    ("result >= 1", [0.5], "mismatched types"),
    ("result[0] >=", [0.5], "unexpected token"),
    ("__import__('os')", None, "unknown func __import__"),
    ("result.__class__", [0.5], "cannot use string as index"),
    ("isNaN(1)", None, "to call isNaN"),
])
def test_bad_conditions_are_errors_not_crashes(condition: str, result: object,
                                               message: str) -> None:
    with pytest.raises(ExprError, match=message.replace("(", r"\(").replace(")", r"\)")):
        eval_condition(result, condition)


def metric(**fields: object) -> object:
    problems: list[str] = []
    m = parse_metric({"name": "success-rate", "provider": {"prometheus": {
        "address": "http://prometheus.linkerd-viz:9090", "query": "vector(1)"}}, **fields},
        "metrics[0]", problems)
    assert not problems, problems
    return m


@pytest.mark.parametrize(("fields", "result", "phase"), [
    ({}, [0.1], "Successful"),  # no conditions: always Successful
    ({"successCondition": "result[0] >= 0.99"}, [0.97], "Failed"),
    ({"successCondition": "result[0] >= 0.99"}, [0.995], "Successful"),
    ({"failureCondition": "result[0] < 0.9"}, [0.95], "Successful"),
    ({"failureCondition": "result[0] < 0.9"}, [0.85], "Failed"),
    ({"successCondition": "result[0] >= 0.99", "failureCondition": "result[0] < 0.9"},
     [0.95], "Inconclusive"),
    ({"successCondition": "result[0] > 0", "failureCondition": "result[0] > 0"},
     [0.95], "Failed"),  # a failure match always wins
])
def test_evaluate_result_truth_table(fields: dict, result: object, phase: str) -> None:
    assert evaluate(result, metric(**fields))[0] == phase


def test_an_empty_result_is_an_error_naming_the_condition() -> None:
    phase, message = evaluate([], metric(successCondition="result[0] >= 0.99"))
    assert phase == "Error"
    assert message == ('could not evaluate successCondition "result[0] >= 0.99": metric result '
                       "is nil or empty: no data returned from the metric provider")


def test_a_condition_that_does_not_compile_is_a_spec_problem() -> None:
    problems: list[str] = []
    parse_metric({"name": "m", "successCondition": "result[0] >=",
                  "provider": {"prometheus": {"query": "q"}}}, "spec.metrics[0]", problems)
    assert any(p.startswith("spec.metrics[0].successCondition: cannot compile") for p in problems)
