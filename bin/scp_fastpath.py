"""A faster record path for splunklib chunked commands, keeping the SDK's protocol handling.

splunklib turns every CSV row into an OrderedDict and writes every output value through a
per-field type dispatch; for a command that reads a million rows and writes a few percent of
them that costs more than the work itself. This mixin replaces only the per-chunk body handling
(``SearchCommand._execute_chunk_v2``): the body is read with ``csv.reader`` into plain lists and
the reply table is written with one ``csv.writer.writerows``. Everything else stays the SDK's:
getinfo and option parsing, metadata, the ``finished`` flag, inspector messages, error reporting.

The reply table is written as UTF-8 straight into a bytes buffer, which the SDK's record writer
then sends as the chunk body. (Its own buffer is a ``StringIO`` whose text it encodes when it
sends the chunk: a large reply, such as the denied events still held when the last chunk
arrives, would exist at once as that text, at up to four bytes per character, and its UTF-8 copy.)

It relies on four attributes of splunklib 2.1.1's RecordWriter (``_buffer``, ``_writer``,
``_pending_record_count`` and ``_write_chunk``, which sends ``_buffer.getvalue().encode("utf-8")``);
if a future SDK lacks them, the SDK's own record path is used.
"""

import csv
import io

# A single field over splunklib's 10 MiB limit would otherwise abort the chunk; the engine
# counts absurd sizes itself and passes such rows through unparsed.
csv.field_size_limit(2**31 - 1)


def _lines(body):
    """Lines of ``body`` with their endings, without a copy of the whole body.

    (``io.StringIO`` would hold a 4-byte-per-character copy of a 50k-row chunk as long as the
    chunk is read; csv.reader joins lines again inside quoted fields.)
    """
    start = 0
    find = body.find
    while True:
        end = find("\n", start)
        if end < 0:
            if start < len(body):
                yield body[start:]
            return
        yield body[start : end + 1]
        start = end + 1


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


class FastChunkMixin:
    """Mixin for a splunklib ``SearchCommand`` that defines ``fast_chunk(header, rows, finished)``.

    ``fast_chunk`` returns ``(header, rows)`` of the reply table (rows as lists of strings).
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
        reader = csv.reader(_lines(body))
        header = next(reader, None)
        out_header, out_rows = self.fast_chunk(header or [], reader if header else iter(()), self._finished)
        if out_rows:
            buffer.writer.writerow(out_header)
            buffer.writer.writerows(out_rows)
            writer._pending_record_count += len(out_rows)
