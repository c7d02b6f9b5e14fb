"""correlatepolicydenied on splunklib's own record path: the SDK reads each chunk into records and
writes the reply, the command's ``stream`` hands the records to ``Correlator.feed_records``.

The app takes this path when an SDK lacks the record writer attributes the fast path relies on;
this script takes it always, so the protocol tests can hold both paths to the same answers.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bin"))

import correlatepolicydenied as adapter  # its dispatch runs only as __main__
from splunklib.searchcommands import StreamingCommand, dispatch


class SdkPathCommand(adapter.CorrelatePolicyDeniedCommand):
    """The command itself (its configuration and options inherited), minus the fast path."""

    _execute_chunk_v2 = StreamingCommand._execute_chunk_v2

    def stream(self, records):
        if not getattr(self, "_announced", False):  # so a test can tell which path answered
            self._announced = True
            self.write_debug("record path: splunklib")
        yield from super().stream(records)


dispatch(SdkPathCommand, sys.argv, sys.stdin, sys.stdout, __name__, allow_empty_input=True)
