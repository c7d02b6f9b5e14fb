"""The benchmark floor: a trivial chunked command that reads every row and writes only the denied ones.

It does what any command in that place must do at least (splunklib's reader and writer, one look at
each row), so ``make bench`` can say how much the correlation costs on top of merely reading rows.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bin", "lib"))

from splunklib.searchcommands import Configuration, StreamingCommand, dispatch

POLICY_LOG = "cloudaudit.googleapis.com%2Fpolicy"


@Configuration()
class FloorCommand(StreamingCommand):
    def stream(self, records):
        for record in records:
            raw = record.get("_raw") or ""
            log = record.get("data.logName") or record.get("logName") or ""
            if (POLICY_LOG in raw or POLICY_LOG in log
                    or ("constraints/" in raw and "PreconditionFailure" in raw)):
                yield record


dispatch(FloorCommand, sys.argv, sys.stdin, sys.stdout, __name__)
