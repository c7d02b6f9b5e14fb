"""Exceptions that say where: which option, which row, which field, which parameter.

Every error the engine raises derives from :class:`GuardrailError`; each product keeps its own
errors beside its code and derives them from this root (a test holds this tree to the code)::

    GuardrailError
    ├── OptionError           a search command option the command cannot use (also a ValueError)
    ├── RowError              a row the correlation could not read: counted, never fatal
    ├── NotifyError           notify.config: the alert action's errors, each with its exit code
    │   ├── ConfigError       notify.config: a bad or missing action parameter or payload key
    │   ├── DestinationError  notify.config: a webhook URL that breaks the destination rules
    │   ├── SecretError       notify.secret: the webhook secret could not be read
    │   └── DeliveryError     notify.send: the webhook did not take the message
    ├── TransportError        notify.transport: a request that produced no HTTP response
    └── ConfigCostError       configcost.model: a row the cost estimator cannot use
        ├── BadChange         configcost.model: a CloudTrail change row lacking what it needs
        └── BadPrice          configcost.model: an unreadable pricing lookup row
"""

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
