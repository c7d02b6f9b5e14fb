"""Runs bin/correlatepolicydenied.py unchanged, with splunklib's own per-chunk record path watched.

``scp_fastpath.FastChunkMixin`` replaces ``SearchCommand._execute_chunk_v2`` and hands a chunk back
to the SDK's implementation only when the record writer does not look like splunklib 2.1.1's. That
hand-back is silent and halves the command's speed, so this wrapper writes a marker line to stderr
each time the SDK's implementation runs; tests/protocol/test_fastpath_guard.py fails on it.

``FASTPATH_GUARD_SIMULATE=other_buffer`` makes the record writer buffer in another type, as a
future SDK might, to show that the guard sees a fallback.
"""

import csv
import io
import os
import runpy
import sys

BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bin")
sys.path[:0] = [os.path.abspath(BIN), os.path.abspath(os.path.join(BIN, "lib"))]

from splunklib.searchcommands import internals, search_command  # noqa: E402

MARK = "FASTPATH-GUARD: splunklib record path ran for a chunk"
_sdk_chunk = search_command.SearchCommand._execute_chunk_v2


def _watched(self, process, chunk):
    sys.stderr.write(MARK + "\n")
    sys.stderr.flush()
    return _sdk_chunk(self, process, chunk)


search_command.SearchCommand._execute_chunk_v2 = _watched


class _OtherBuffer:
    """A text buffer that is not an ``io.StringIO`` (what another SDK version might use)."""

    def __init__(self):
        self._text = io.StringIO()

    def write(self, data):
        return self._text.write(data)

    def getvalue(self):
        return self._text.getvalue()

    def seek(self, *args):
        return self._text.seek(*args)

    def truncate(self, *args):
        return self._text.truncate(*args)

    def tell(self):
        return self._text.tell()


if os.environ.get("FASTPATH_GUARD_SIMULATE") == "other_buffer":
    _init = internals.RecordWriter.__init__

    def _init_other(self, *args, **kwargs):
        _init(self, *args, **kwargs)
        self._buffer = _OtherBuffer()
        self._writer = csv.writer(self._buffer, dialect=internals.CsvDialect)
        self._writerow = self._writer.writerow

    internals.RecordWriter.__init__ = _init_other

runpy.run_path(os.path.join(os.path.abspath(BIN), "correlatepolicydenied.py"), run_name="__main__")
