"""Exceptions that say where: which option, which row, which field."""

from __future__ import annotations


class GuardrailError(Exception):
    """Base class of the engine's errors."""


class OptionError(GuardrailError, ValueError):
    """A command option has a value the command cannot use; the message names the option."""

    def __init__(self, option: str, value: str, reason: str) -> None:
        super().__init__(f"Invalid value for {option}={value!r}: {reason}")
        self.option = option
        self.value = value
        self.reason = reason


class RowError(GuardrailError):
    """A row the command could not read; counted per ``reason`` and reported, never fatal."""

    def __init__(self, reason: str, source: str = "", field: str = "") -> None:
        where = ", ".join(p for p in (f"source={source}" if source else "", f"field={field}" if field else "") if p)
        super().__init__(reason + (f" ({where})" if where else ""))
        self.reason = reason
        self.source = source
        self.field = field
