"""The values SPL evaluation passes around, and the error it raises."""

from __future__ import annotations

from typing import Dict, List, Union

Value = Union[None, str, float, int, bool, List[str]]
Fields = Dict[str, Value]


class EvalError(Exception):
    """An expression this module cannot evaluate faithfully (syntax, unknown function, misuse)."""
