"""Small typed readers for CRD fields that collect problems instead of raising."""

from __future__ import annotations

from typing import Any

from canary.clock import parse_duration
from canary.spec.errors import Problem


class Reader:
    """Reads fields of one object, appending a :class:`Problem` for each bad one."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def bad(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def mapping(self, value: Any, path: str, required: bool = False) -> dict:
        if value is None:
            if required:
                self.bad(path, "required")
            return {}
        if not isinstance(value, dict):
            self.bad(path, f"must be an object, got {type(value).__name__}")
            return {}
        return value

    def list_(self, value: Any, path: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad(path, f"must be a list, got {type(value).__name__}")
            return []
        return value

    def string(self, value: Any, path: str, required: bool = False, default: str = "") -> str:
        if value is None or value == "":
            if required:
                self.bad(path, "required")
            return default
        if not isinstance(value, str):
            self.bad(path, f"must be a string, got {value!r}")
            return default
        return value

    def integer(self, value: Any, path: str, default: int = 0, minimum: int | None = None,
                maximum: int | None = None, required: bool = False) -> int:
        if value is None:
            if required:
                self.bad(path, "required")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                self.bad(path, f"must be an integer, got {value!r}")
                return default
        if minimum is not None and value < minimum:
            self.bad(path, f"must be >= {minimum}, got {value}")
            return default
        if maximum is not None and value > maximum:
            self.bad(path, f"must be <= {maximum}, got {value}")
            return default
        return value

    def number(self, value: Any, path: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.bad(path, f"must be a number, got {value!r}")
            return None
        return float(value)

    def boolean(self, value: Any, path: str, default: bool = False) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.bad(path, f"must be true or false, got {value!r}")
            return default
        return value

    def duration(self, value: Any, path: str, default: float | None) -> float | None:
        """A Go duration ("10s", "1m"); bad text is a problem and yields ``default``."""
        if value is None or value == "":
            return default
        try:
            return parse_duration(value)
        except ValueError:
            self.bad(path, f"invalid duration {value!r} (expected e.g. 30s or 1m)")
            return default

    def str_map(self, value: Any, path: str) -> dict[str, str]:
        m = self.mapping(value, path)
        out: dict[str, str] = {}
        for k, v in m.items():
            if isinstance(v, str):
                out[str(k)] = v
            elif isinstance(v, bool | int | float):
                out[str(k)] = str(v).lower() if isinstance(v, bool) else str(v)
            else:
                self.bad(f"{path}.{k}", f"must be a string, got {v!r}")
        return out
