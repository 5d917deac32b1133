"""The pieces written alongside the server: strategic merge, selectors, tables (one import spot)."""

from __future__ import annotations

from .selectors import SelectorError, parse_field_selector, parse_label_selector
from .smp import PatchError, strategic_merge
from .tables import to_table

__all__ = ["PatchError", "SelectorError", "parse_field_selector", "parse_label_selector",
           "strategic_merge", "to_table"]
