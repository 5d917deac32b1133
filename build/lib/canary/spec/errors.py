"""Spec problems: each names the field path and what is wrong with it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(ValueError):
    """An object that cannot be run; ``problems`` lists every field that is wrong."""

    def __init__(self, kind: str, name: str, problems: list[Problem]) -> None:
        self.kind = kind
        self.name = name
        self.problems = problems
        super().__init__(f"invalid {kind} {name}: " + "; ".join(str(p) for p in problems))

    def summary(self) -> str:
        return "; ".join(str(p) for p in self.problems)
