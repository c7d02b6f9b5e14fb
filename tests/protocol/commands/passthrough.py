"""A minimal streaming command for testing the protocol harness itself: tags and returns rows."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "bin", "lib"))

from splunklib.searchcommands import Configuration, StreamingCommand, dispatch


@Configuration()
class PassthroughCommand(StreamingCommand):
    def stream(self, records):
        for record in records:
            record["seen_by"] = "passthrough"
            yield record


dispatch(PassthroughCommand, sys.argv, sys.stdin, sys.stdout, __name__)
