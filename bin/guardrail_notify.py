"""Custom alert action ``guardrail_notify``: post an alert summary to a Slack, Teams or JSON webhook.

Splunk runs ``guardrail_notify.py --execute`` with the JSON payload on stdin (``payload_format =
json`` in alert_actions.conf). The work happens in ``guardrail.notify``; this file only supplies a
``requests``-backed HTTP client and maps the outcome to an exit code. Log lines go to stderr, which
splunkd records in ``_internal`` (``splunkd.log``, component ``sendmodalert``).
"""

import json
import sys

import bootstrap  # noqa: F401  (puts bin/lib on sys.path before requests is imported)
import requests
from guardrail.notify.action import run
from guardrail.notify.transport import HttpResponse, TransportError

MAX_BODY = 1024 * 1024


class RequestsClient:
    """HttpClient over requests: no redirects followed, library errors mapped to a kind."""

    def __init__(self):
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy or netrc surprises from the splunkd environment

    def _call(self, method, url, headers, timeout, verify, body=None, proxy=None):
        try:
            response = self.session.request(
                method, url, data=body, headers=headers, timeout=timeout, verify=verify,
                allow_redirects=False, proxies={"https": proxy} if proxy else None,
            )
            text = response.content[:MAX_BODY].decode("utf-8", "replace")
        except requests.exceptions.SSLError:
            raise TransportError("tls") from None
        except requests.exceptions.Timeout:
            raise TransportError("timeout") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError):
            raise TransportError("connection") from None
        except requests.exceptions.RequestException:
            raise TransportError("request") from None
        headers = {k.lower(): v for k, v in response.headers.items()}
        return HttpResponse(status=response.status_code, headers=headers, text=text)

    def post(self, url, body, headers, timeout, verify, proxy=None):
        return self._call("POST", url, headers, timeout, verify, body, proxy)

    def get(self, url, headers, timeout, verify):
        return self._call("GET", url, headers, timeout, verify)


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
    return run(payload, RequestsClient(), log)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
