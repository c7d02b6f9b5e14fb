"""Splunk's multivalue encoding in search-result CSV: one codec for every reader and writer.

A multivalue field travels twice: its values joined with newlines in the field's own column, and
exactly in its ``__mv_<field>`` column as ``$a$;$b$`` (each value between ``$``, a ``$`` inside a
value doubled, values separated by ``;``). A single value leaves the ``__mv_`` column empty.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

MV_PREFIX = "__mv_"


def encode_mv(values: Sequence[str]) -> Tuple[str, str]:
    """``(field text, __mv_ text)`` of a field's values as Splunk's CSV carries them."""
    if not values:
        return "", ""
    if len(values) == 1:
        return values[0], ""
    return "\n".join(values), encode_mv_column(values)


def encode_mv_column(values: Sequence[str]) -> str:
    """The ``__mv_`` text of ``values``, whatever their number (``$a$;$b$``, ``$$`` inside)."""
    return ";".join("$" + v.replace("$", "$$") + "$" for v in values)


def decode_mv(text: str) -> Optional[List[str]]:
    """The values of an ``__mv_`` column, or None when ``text`` is not in that encoding.

    Reads the encoding as written: a ``$$`` pair is one ``$`` of a value wherever it stands, so
    ``$a$$;$$b$`` is the single value ``a$;$b``, not two values.
    """
    if not text:
        return None
    values: List[str] = []
    i, n = 0, len(text)
    while True:
        if i >= n or text[i] != "$":
            return None
        i += 1
        part: List[str] = []
        while True:
            j = text.find("$", i)
            if j < 0:
                return None
            part.append(text[i:j])
            if j + 1 < n and text[j + 1] == "$":
                part.append("$")
                i = j + 2
                continue
            i = j + 1
            break
        values.append("".join(part))
        if i == n:
            return values
        if text[i] != ";":
            return None
        i += 1
