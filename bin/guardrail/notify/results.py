"""Read Splunk's results file within fixed bounds: the rows a message shows, and a count of the rest.

The file (``results_file`` in the payload, gzip-compressed CSV) can be large: a digest alert over a
busy hour, or rows with multi-megabyte ``_raw`` fields. Its values come from logs an attacker can
shape. So the reader

* decompresses at most :data:`MAX_RESULTS_BYTES`; past that, or past damaged gzip data, it stops and
  the excerpt says it is incomplete: the message still goes out, marked so, with the rows read;
* holds one block of the file at a time, the header's names, and the wanted fields of the rows a
  message shows, each cut to :data:`FIELD_KEPT` bytes; every later row is only counted, by the
  quote parity of each newline (a newline inside a quoted field does not end a row);
* does not use the ``csv`` module, which refuses NUL bytes on Python 3.9 and builds every row whole.

It reads the CSV dialect splunkd writes (comma, ``"`` quoting with ``""`` inside quotes, ``\\n`` or
``\\r\\n``). Where a header names a column twice, the first one counts.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple

from .config import ConfigError

MAX_RESULTS_BYTES = 64 * 1024 * 1024
BLOCK = 256 * 1024
FIELD_KEPT = 8 * 1024
MAX_COLUMNS = 10_000

_SPECIAL = re.compile(rb'[",\n]')
_QUOTE, _COMMA, _CR = 0x22, 0x2C, 0x0D


@dataclass(frozen=True)
class Results:
    """The shown rows (wanted columns only), how many rows the file holds, and whether it was read
    to the end (``problem`` says why not; ``count`` then covers the rows read)."""

    rows: Tuple[Mapping[str, str], ...]
    count: int
    complete: bool = True
    problem: str = ""


class _Scanner:
    """A CSV state machine fed block by block. It parses the header and the first ``keep`` rows
    (collecting only wanted fields), then switches to counting the remaining rows."""

    def __init__(self, wanted: FrozenSet[str], keep: int) -> None:
        self.wanted = wanted
        self.keep = keep
        self.in_quotes = False
        self.after_quote = False  # the byte before closed a quoted section: a '"' now is a literal quote
        self.skipping = False  # the rest of the current row holds no wanted column
        self.header: Optional[List[str]] = None
        self.columns: Dict[int, str] = {}
        self.last_column = -1
        self.names: List[str] = []
        self.index = 0
        self.field = bytearray()
        self.record: Dict[str, str] = {}
        self.started = False
        self.rows: List[Dict[str, str]] = []
        self.counting = False
        self.counted = 0
        self.pending = False  # counting: bytes of a row not yet ended by a newline

    # -- parsing the header and the shown rows ------------------------------------------------------

    def _collecting(self) -> bool:
        if self.header is None:
            return self.index < MAX_COLUMNS
        return self.index in self.columns

    def _take(self, data: bytes, start: int, end: int) -> None:
        if end - start > 1 or data[start] != _CR:
            self.started = True
        if self._collecting():
            room = FIELD_KEPT - len(self.field)
            if room > 0:
                self.field += data[start:min(end, start + room)]

    def _end_field(self, at_newline: bool) -> None:
        if at_newline and self.field.endswith(b"\r"):
            del self.field[-1:]
        if self._collecting():
            text = self.field.decode("utf-8", "replace")
            if self.header is None:
                self.names.append(text)
            else:
                self.record[self.columns[self.index]] = text
        self.field.clear()
        self.index += 1
        if self.header is None:
            self.skipping = self.index >= MAX_COLUMNS
        else:
            self.skipping = self.index > self.last_column

    def _end_record(self) -> bool:
        """Close the current row; True once the shown rows are complete (counting starts)."""
        if self.header is None:
            self.header = self.names
            for position, name in enumerate(self.names):
                if name in self.wanted and name not in self.columns.values():
                    self.columns[position] = name
            self.last_column = max(self.columns, default=-1)
        elif self.started:  # a blank line is no row
            self.rows.append(self.record)
        self.record = {}
        self.index = 0
        self.field.clear()
        self.started = self.after_quote = self.skipping = self.in_quotes = False
        self.counting = len(self.rows) >= self.keep and self.header is not None
        return self.counting

    def _skip(self, data: bytes, pos: int) -> int:
        """Move past the rest of a row without collecting it; the position after its newline."""
        size = len(data)
        while pos < size:
            self.started = True
            if self.in_quotes:
                quote = data.find(b'"', pos)
                if quote < 0:
                    return size
                self.in_quotes = False
                pos = quote + 1
                continue
            newline = data.find(b"\n", pos)
            quote = data.find(b'"', pos, size if newline < 0 else newline)
            if quote >= 0:
                self.in_quotes = True
                pos = quote + 1
                continue
            if newline < 0:
                return size
            self.skipping = False
            return newline + 1
        return size

    def _parse(self, data: bytes) -> int:
        """Parse from the start of ``data``; the position where counting takes over (or the end)."""
        size = len(data)
        pos = 0
        while pos < size:
            if self.skipping:
                pos = self._skip(data, pos)
                if self.skipping:
                    return size
                if self._end_record():
                    return pos
                continue
            if self.in_quotes:
                quote = data.find(b'"', pos)
                end = size if quote < 0 else quote
                if end > pos:
                    self._take(data, pos, end)
                if quote < 0:
                    return size
                self.in_quotes, self.after_quote = False, True
                pos = quote + 1
                continue
            match = _SPECIAL.search(data, pos)
            end = size if match is None else match.start()
            if end > pos:
                self._take(data, pos, end)
                self.after_quote = False
            if match is None:
                return size
            pos = end + 1
            self.started = True
            char = data[end]
            if char == _QUOTE:
                if self.after_quote:
                    self._take(b'"', 0, 1)
                self.in_quotes, self.after_quote = True, False
            elif char == _COMMA:
                self.after_quote = False
                self._end_field(at_newline=False)
            else:
                # A '\r' before the newline is part of the line end only outside quotes.
                self._end_field(at_newline=not self.after_quote)
                self.after_quote = False
                if self._end_record():
                    return pos
        return size

    # -- counting the rest --------------------------------------------------------------------------

    def _count(self, chunk: bytes) -> None:
        # Between two quote characters the parity flips: newlines in the even parts (odd, when the
        # chunk starts inside quotes) end rows; the others sit inside quoted fields.
        parts = chunk.split(b'"')
        first = 1 if self.in_quotes else 0
        self.counted += b"".join(parts[first::2]).count(b"\n")
        final = parts[-1]
        final_outside = (len(parts) - 1 - first) % 2 == 0
        if not final_outside:
            self.pending = True
        elif b"\n" in final:
            self.pending = bool(final.rsplit(b"\n", 1)[1].strip(b"\r"))
        elif len(parts) > 1:
            self.pending = True
        else:
            self.pending = self.pending or bool(final.strip(b"\r"))
        self.in_quotes = not final_outside

    # -- driving ------------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        pos = 0 if self.counting else self._parse(data)
        if self.counting and pos < len(data):
            self._count(data[pos:] if pos else data)

    def finish(self) -> None:
        if self.counting:
            self.counted += 1 if self.pending else 0
        elif self.started or self.index or self.field:
            if not self.skipping:
                self._end_field(at_newline=not self.after_quote)
            self._end_record()

    @property
    def count(self) -> int:
        return len(self.rows) + self.counted


def read_results(
    path: str, keep: int, wanted: FrozenSet[str], limit: int = MAX_RESULTS_BYTES, block: int = BLOCK,
) -> Results:
    """Read the first ``keep`` rows' ``wanted`` columns and count every row, within ``limit`` bytes."""
    if not path:
        raise ConfigError("results_file", "missing from the payload")
    scanner = _Scanner(wanted, keep)
    problem = ""
    done = 0
    try:
        handle = gzip.open(path, "rb")
    except OSError as err:
        raise ConfigError("results_file", f"cannot be read ({type(err).__name__})") from None
    with handle:
        while True:
            try:
                data = handle.read(min(block, limit - done + 1))
            except (OSError, EOFError, zlib.error) as err:
                if done == 0:
                    raise ConfigError("results_file", f"cannot be read ({type(err).__name__})") from None
                problem = f"damaged after {done:,} bytes ({type(err).__name__})"
                break
            if not data:
                break
            if done + len(data) > limit:
                scanner.feed(data[: limit - done])
                problem = f"over {limit / 1048576:g} MiB decompressed"
                break
            done += len(data)
            scanner.feed(data)
    scanner.finish()
    return Results(rows=tuple(scanner.rows), count=scanner.count, complete=not problem, problem=problem)
