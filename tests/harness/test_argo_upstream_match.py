"""The chainsaw-style matcher behind `the httproute ... matches within ...:` (the Gateway API
plugin's assertion files): what a mismatch says, and that parenthesised projections apply."""

from __future__ import annotations

import pytest
import yaml

from canary.harness.argo_upstream import mismatches

ROUTE = yaml.safe_load("""
spec:
  rules:
    - backendRefs:
        - {name: stable, port: 80, weight: 70}
        - {name: canary, port: 80, weight: 30}
    - name: canary-route1
      matches: [{headers: [{name: X-Test, type: Exact, value: test}]}]
      backendRefs: [{group: "", kind: Service, name: canary, port: 80}]
""")


def test_subset_with_length_and_field_projections_matches() -> None:
    want = yaml.safe_load("""
spec:
  (length(rules)): 2
  rules:
    - backendRefs:
        - name: stable
          (weight): 70
        - name: canary
          (weight): 30
    - name: canary-route1
      backendRefs:
        - name: canary
""")
    assert mismatches(want, ROUTE) == []


def test_each_difference_is_named_by_its_path() -> None:
    want = yaml.safe_load("""
spec:
  (length(rules)): 1
  rules:
    - backendRefs:
        - name: stable
          (weight): 100
    - name: other
    - name: third
""")
    assert mismatches(want, ROUTE) == [
        "spec(length(rules)): expected 1, found 2",
        "spec.rules[0].backendRefs[0](weight): expected 100, found 70",
        "spec.rules[1].name: expected 'other', found 'canary-route1'",
        "spec.rules[2]: missing (the list has 2 items)",
    ]


def test_unsupported_expression_is_refused_with_its_text() -> None:
    with pytest.raises(AssertionError, match=r"\(rules\[0\]\) is not supported"):
        mismatches({"spec": {"(rules[0])": 1}}, ROUTE)
