"""The modules another engineer writes (smp, selectors, tables), with stand-ins until they land."""

from __future__ import annotations

# ruff: noqa: F401
try:
    from .smp import PatchError, strategic_merge
except ImportError:
    from ._fallback import PatchError, strategic_merge
try:
    from .selectors import SelectorError, parse_field_selector, parse_label_selector
except ImportError:
    from ._fallback import SelectorError, parse_field_selector, parse_label_selector
try:
    from .tables import to_table
except ImportError:
    from ._fallback import to_table
