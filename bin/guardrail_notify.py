"""Custom alert action ``guardrail_notify``: post an alert summary to a Slack, Teams or JSON webhook.

Splunk runs ``guardrail_notify.py --execute`` with the JSON payload on stdin (``payload_format =
json`` in alert_actions.conf). The work happens in ``guardrail.notify``, including the HTTP client
(standard-library sockets, so the URL is parsed once and the connection goes to the address that was
checked); this file only picks the CA bundle and maps the outcome to an exit code. Log lines go to
stderr, which splunkd records in ``_internal`` (``splunkd.log``, component ``sendmodalert``).
"""

import json
import sys

import bootstrap  # noqa: F401  (puts bin/lib on sys.path before certifi is imported)
from guardrail.notify.action import run
from guardrail.notify.client import SocketClient


def ca_bundle():
    """The vendored public CA bundle; Splunk's own Python may not find the system's CAs."""
    try:
        import certifi
    except ImportError:
        return None
    return certifi.where()


def log(line):
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def main(argv):
    if len(argv) < 2 or argv[1] != "--execute":
        log("FATAL action=guardrail_notify reason=\"run by Splunk with --execute and a JSON payload on stdin\"")
        return 1
    try:
        payload = json.loads(sys.stdin.read())
    except ValueError:
        log("FATAL action=guardrail_notify reason=\"stdin is not a JSON payload\"")
        return 1
    if not isinstance(payload, dict):
        log("FATAL action=guardrail_notify reason=\"payload is not a JSON object\"")
        return 1
    return run(payload, SocketClient(cafile=ca_bundle()), log)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
