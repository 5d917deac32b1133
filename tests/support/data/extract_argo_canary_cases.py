"""Regenerate argo_canary_cases.json from argoproj/argo-rollouts utils/replicaset/canary_test.go.

The replica-math table test (tests/engine/test_argo_replicas.py) runs upstream's own cases; this
script reads them out of the Go test file (struct literals) so no case is typed by hand:

    git --git-dir=<argo-rollouts mirror> show HEAD:utils/replicaset/canary_test.go > /tmp/c.go
    python tests/support/data/extract_argo_canary_cases.py /tmp/c.go <commit> \
        > tests/support/data/argo_canary_cases.json
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

SRC = "utils/replicaset/canary_test.go"


def _value(text: str) -> Any:
    text = text.strip().rstrip(",")
    if m := re.fullmatch(r"intstr\.FromInt\((\d+)\)", text):
        return int(m[1])
    if m := re.fullmatch(r'intstr\.FromString\("([^"]+)"\)', text):
        return m[1]
    if m := re.fullmatch(r"intPnt\((\d+)\)", text):
        return int(m[1])
    if m := re.fullmatch(r'newRS\("([^"]+)",\s*(\d+),\s*(\d+)\)', text):
        return {"spec": int(m[2]), "available": int(m[3])}
    if m := re.fullmatch(r"newSetCanaryScale\(([^,]+),\s*([^,]+),\s*(true|false)\)", text):
        def ptr(s: str) -> int | None:
            s = s.strip()
            return None if s == "nil" else int(re.fullmatch(r"intPnt\((\d+)\)", s)[1])  # type: ignore[index]
        return {"replicas": ptr(m[1]), "weight": ptr(m[2]), "matchTrafficWeight": m[3] == "true"}
    if text.startswith("&v1alpha1.RolloutTrafficRouting"):
        return True
    if text == "nil":
        return None
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text.startswith('"'):
        return json.loads(text)
    if m := re.fullmatch(r"\[\]v1alpha1\.CanaryStep\{\{SetWeight: pointer\.Int32Ptr\((\d+)\)\}\}",
                         text):
        return [int(m[1])]
    raise ValueError(f"unparsed Go value: {text}")


def _struct_cases(lines: list[str], start: int, end: int) -> list[dict[str, Any]]:
    """Cases of a `tests := []struct{...}{ {...}, ... }` table between lines start..end."""
    out: list[dict[str, Any]] = []
    depth, cur, in_table = 0, None, False
    for no in range(start, end):
        line = lines[no - 1]
        code = line.split("//")[0] if "://" not in line else line
        stripped = code.strip()
        if not in_table:
            if stripped.startswith("}{"):
                in_table, depth = True, 1
            continue
        if depth == 1 and stripped == "{":
            cur, depth = {"line": no}, 2
            continue
        if depth == 1 and stripped.startswith("{") and stripped.endswith("},"):
            # one-line case: {replicas: 0, weight: 0, ...},
            case: dict[str, Any] = {"line": no}
            for k, v in re.findall(r"(\w+):\s*([^,}]+)", stripped):
                case[k] = _value(v)
            out.append(case)
            continue
        if depth == 2 and stripped in ("},", "}", "}, {"):
            out.append(cur)  # type: ignore[arg-type]
            cur, depth = None, 1
            if stripped == "}, {":
                cur, depth = {"line": no}, 2
            continue
        if depth == 1 and stripped == "}":
            break
        if depth == 2 and cur is not None and (m := re.match(r"(\w+):\s*(.+)$", stripped)):
            cur[m[1]] = _value(m[2])
    return out


def main() -> None:
    path, commit = sys.argv[1], sys.argv[2]
    lines = open(path).read().splitlines()

    def func_range(name: str) -> tuple[int, int]:
        s = next(i for i, ln in enumerate(lines, 1) if ln.startswith(f"func {name}("))
        e = next(i for i, ln in enumerate(lines[s:], s + 1) if ln.startswith("func "))
        return s, e

    doc = {"source": f"argoproj/argo-rollouts {SRC}", "commit": commit}
    for key, fn in (("basic", "TestCalculateReplicaCountsForCanary"),
                    ("approximate", "TestApproximateWeightedNewStableReplicaCounts"),
                    ("dynamic", "TestCalculateReplicaCountsForCanaryTrafficRoutingDynamicScale")):
        doc[key] = _struct_cases(lines, *func_range(fn))
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
