"""Chunk bodies read so that no input ends a search, and a faster record path for splunklib commands.

:class:`SafeInputMixin` hardens what splunklib 2.1.1 does with a chunk body, on its own record
path (``_read_csv_records``) and on the fast one below alike:

* the CSV field size limit is raised before every chunk: splunklib sets it to 10 MiB when it is
  imported, and a single larger field (a ``_raw`` can be that large) would end the search;
* NUL characters are read as U+FFFD, as undecodable bytes already are: Python 3.9's ``csv``
  refuses a line holding NUL (3.11 and later accept it), and one would end the search under
  Splunk 9.x. Replacing them on every Python keeps the output the same under 3.9 and 3.13;
* a row ``csv`` cannot read (a carriage return outside quotes, which splunkd never writes) is read
  again as one line with the carriage return kept in its field, instead of ending the search;
* on the SDK's record path, a column name that appears twice keeps its first column (the
  duplicate is counted, :meth:`SafeInputMixin.columns_repeated`), a row with a wrong column
  count is padded or cut to the header and counted, and a field's value is its plain column's
  text, as the fast path's engine reads them all;
* inspector messages are never format strings: splunklib formats every message with
  ``str.format``, so an option value such as ``window={0}`` in its own "Unrecognized option"
  message would replace that message with a traceback.

What was repaired is counted in :attr:`SafeInputMixin.input_counts` under the correlation
engine's reason keys (``bad:``/``fixed:`` prefixes); each command reports them.

:class:`FastChunkMixin` replaces only the per-chunk body handling (``SearchCommand._execute_chunk_v2``):
splunklib turns every CSV row into an OrderedDict and writes every output value through a
per-field type dispatch; for a command that reads a million rows and writes a few percent of
them that costs more than the work itself. The body is read with ``csv.reader`` into plain lists
and the reply table is written with one ``csv.writer.writerows``. Everything else stays the SDK's:
getinfo and option parsing, metadata, the ``finished`` flag, inspector messages, error reporting.

The reply table is written as UTF-8 straight into a bytes buffer, which the SDK's record writer
then sends as the chunk body. (Its own buffer is a ``StringIO`` whose text it encodes when it
sends the chunk: a large reply, such as the denied events still held when the last chunk
arrives, would exist at once as that text, at up to four bytes per character, and its UTF-8 copy.)

It relies on four attributes of splunklib 2.1.1's RecordWriter (``_buffer``, ``_writer``,
``_pending_record_count`` and ``_write_chunk``, which sends ``_buffer.getvalue().encode("utf-8")``);
if a future SDK lacks them, the SDK's own record path is used (hardened as above).
"""

import csv
import io
import re
from collections import Counter, OrderedDict

FIELD_SIZE_LIMIT = 2**31 - 1
NUL_CHARACTERS = "fixed:NUL characters read as U+FFFD"
BARE_CARRIAGE_RETURNS = "fixed:rows with a carriage return outside quotes read as one line"
WRONG_WIDTH = "bad:rows with a wrong column count"
DUPLICATE_COLUMNS = "fixed:duplicate column names (first kept)"
_MV = "__mv_"


def _lines(body, last):
    """Lines of ``body`` with their endings, without a copy of the whole body.

    (``io.StringIO`` would hold a 4-byte-per-character copy of a 50k-row chunk as long as the
    chunk is read; csv.reader joins lines again inside quoted fields.) ``last[0]`` is the line
    handed out last.
    """
    start = 0
    find = body.find
    while True:
        end = find("\n", start)
        if end < 0:
            if start < len(body):
                last[0] = body[start:]
                yield last[0]
            return
        line = last[0] = body[start : end + 1]
        yield line
        start = end + 1


def _file_lines(lines, last, counts):
    """Lines of a text file (the SDK's SCP v1 input), NUL characters read as U+FFFD."""
    for line in lines:
        if "\0" in line:
            counts[NUL_CHARACTERS] += line.count("\0")
            line = line.replace("\0", "\ufffd")
        last[0] = line
        yield line


def _read_again(line):
    """The fields of one line that ``csv`` refused, carriage returns kept where they stand."""
    text = line[:-2] if line.endswith("\r\n") else line.rstrip("\n")
    mark = next((chr(c) for c in range(0xE000, 0xF900) if chr(c) not in text), None)
    if mark is None:  # every private-use character is in the line: a run longer than any in it
        mark = "\ue000" * (max(len(run) for run in re.findall("\ue000+", text)) + 1)
    fields = next(csv.reader([text.replace("\r", mark)]), [])
    return [field.replace(mark, "\r") for field in fields]


def _rows(reader, last, counts):
    while True:
        try:
            yield from reader
            return
        except csv.Error:
            counts[BARE_CARRIAGE_RETURNS] += 1
            yield _read_again(last[0])


def read_table(source, counts):
    """``(header, rows)`` of a CSV body (a ``str``) or of a text file's lines, never raising.

    ``header`` is None for an empty body; ``rows`` yields lists of strings. Repairs are added to
    ``counts``.
    """
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    last = [""]
    if isinstance(source, str):
        if "\0" in source:
            counts[NUL_CHARACTERS] += source.count("\0")
            source = source.replace("\0", "\ufffd")
        lines = _lines(source, last)
    else:
        lines = _file_lines(source, last, counts)
    rows = _rows(csv.reader(lines), last, counts)
    return next(rows, None), rows


class SafeInputMixin:
    """Mixin for a splunklib ``SearchCommand``: chunk bodies and messages that cannot end the search."""

    @property
    def input_counts(self):
        """Repairs made while reading input, by reason (a ``Counter``)."""
        counts = self.__dict__.get("_input_counts")
        if counts is None:
            counts = self.__dict__["_input_counts"] = Counter()
        return counts

    def columns_repeated(self, names):
        """The names a chunk's header repeats, on the SDK's record path; counted unless a command
        overrides this (the fast path hands the header on as it came)."""
        self.input_counts[DUPLICATE_COLUMNS] += len(names)

    def take_input_counts(self):
        """The repairs counted since the last call."""
        counts = Counter(self.input_counts)
        self.input_counts.clear()
        return counts

    # splunklib formats every message with str.format; a message without arguments is plain text.
    def write_debug(self, message, *args):
        super().write_debug(*_literal(message, args))

    def write_error(self, message, *args):
        super().write_error(*_literal(message, args))

    def write_fatal(self, message, *args):
        super().write_fatal(*_literal(message, args))

    def write_info(self, message, *args):
        super().write_info(*_literal(message, args))

    def write_warning(self, message, *args):
        super().write_warning(*_literal(message, args))

    def _read_csv_records(self, ifile):
        # The SDK's record path (its SCP v2 chunks arrive as a StringIO of the body).
        counts = self.input_counts
        source = ifile.getvalue() if isinstance(ifile, io.StringIO) else ifile
        header, rows = read_table(source, counts)
        if header is None:
            return
        first = {}
        repeated = []
        for i, name in enumerate(header):
            if name in first:
                repeated.append(name)
            else:
                first[name] = i
        if repeated:
            self.columns_repeated(repeated)
        plain = [(name, i) for name, i in first.items() if not name.startswith(_MV)]
        multi = [(name[len(_MV):], i) for name, i in first.items()
                 if name.startswith(_MV) and name[len(_MV):] in first]
        width = len(header)
        decode = self._decode_list
        for values in rows:
            if len(values) != width:
                counts[WRONG_WIDTH] += 1
                values = (values + [""] * width)[:width]
            record = OrderedDict([(name, values[i]) for name, i in plain])
            # A field is its plain column's text, as the fast path reads it; an ``__mv_`` column
            # that says the same makes it a list (written back as multivalue), one that does not
            # (splunkd never sends that) is ignored.
            for name, i in multi:
                if values[i]:
                    items = decode(values[i])
                    if "\n".join(items) == record[name]:
                        record[name] = items
            yield record


def _literal(message, args):
    return (message, *args) if args else ("{}", message)


class _Utf8Text(str):
    """An empty ``str`` standing for a chunk body already encoded as UTF-8.

    The record writer sends ``body.encode("utf-8")``; this returns the bytes as they are.
    """

    def __new__(cls, data):
        text = super().__new__(cls, "")
        text.data = data
        return text

    def encode(self, encoding="utf-8", errors="strict"):
        return self.data


class _Utf8Buffer:
    """Stands in for the record writer's ``StringIO`` buffer: holds the reply body as UTF-8 bytes.

    ``writer`` is a ``csv.writer`` with the SDK's dialect writing into it; ``getvalue`` hands the
    bytes to the record writer without a copy, ``seek(0)`` + ``truncate()`` (the writer's
    ``_clear``) start the next body.
    """

    def __init__(self, dialect):
        self._bytes = io.BytesIO()
        self._text = io.TextIOWrapper(self._bytes, encoding="utf-8", newline="", write_through=True)
        self.writer = csv.writer(self._text, dialect=dialect)

    def getvalue(self):
        self._text.flush()
        return _Utf8Text(self._bytes.getvalue())

    def seek(self, pos, whence=0):
        self._text.flush()
        return self._bytes.seek(pos, whence)

    def truncate(self, size=None):
        self._text.flush()
        return self._bytes.truncate(size)


class FastChunkMixin(SafeInputMixin):
    """Mixin for a splunklib ``SearchCommand`` that defines ``fast_chunk(header, rows, finished)``.

    ``fast_chunk`` gets the chunk's header as it came (duplicate names included) and its rows as
    lists of strings, and returns ``(header, rows)`` of the reply table (rows as lists of strings).
    """

    def _execute_chunk_v2(self, process, chunk):
        writer = getattr(self, "_record_writer", None)
        names = ("_buffer", "_writer", "_pending_record_count", "_write_chunk")
        if not all(hasattr(writer, name) for name in names):
            return super()._execute_chunk_v2(process, chunk)
        buffer = writer._buffer
        if not isinstance(buffer, _Utf8Buffer):
            if not isinstance(buffer, io.StringIO) or buffer.tell():
                return super()._execute_chunk_v2(process, chunk)
            buffer = writer._buffer = _Utf8Buffer(writer._writer.dialect)
            writer._writer = buffer.writer  # the SDK's own record path writes there too from now on
            writer._writerow = buffer.writer.writerow
        _metadata, body = chunk
        header, rows = read_table(body, self.input_counts)
        out_header, out_rows = self.fast_chunk(header or [], rows if header else iter(()), self._finished)
        if out_rows:
            buffer.writer.writerow(out_header)
            buffer.writer.writerows(out_rows)
            writer._pending_record_count += len(out_rows)
