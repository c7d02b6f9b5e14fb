"""guardrail_notify through its real entry point, the way splunkd runs it.

``bin/guardrail_notify.py --execute`` is spawned under the Pythons Splunk ships, with Splunk's JSON
payload on stdin (results_file as gzip CSV, configuration, session_key, server_uri). The secret comes
from a loopback splunkd stand-in; messages go to a scripted HTTPS webhook on 127.0.0.1 whose
self-signed certificate is made here and trusted through ``param.ca_bundle``. The webhook's loopback
address is allowed the documented way, by ``param.allowed_addresses = 127.0.0.1``.

Most runs go through a network guard: a Python audit hook, installed before the script runs as
``__main__``, that records every ``socket.connect`` and ``socket.getaddrinfo`` of the action and
blocks any that would leave loopback. Tests assert on that record: a refused destination shows no
connection attempt at all.
"""

from __future__ import annotations

import csv
import gzip
import json
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from tests.protocol.webhook_stub import (
    ENDLESS,
    ConnectProxy,
    Reply,
    Silent,
    Splunkd,
    Webhook,
    make_certificate,
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bin" / "guardrail_notify.py"
SESSION_KEY = "sessKEY-7f3c1e9a0b2d4c6e8f10a2b4c6d8e0f1"
TOKEN_PATH = "/hooks/T0001/B0002/SeCrEtWeBhOoKtOkEn42"
BEARER = "bearer-SeCrEt-0d9c8b7a"

ROWS = [
    {
        "finding": "7 denials of user:avery.lin@example-corp.com on aiplatform.googleapis.com",
        "identified_user": "avery.lin@example-corp.com",
        "match_status": "identified",
        "match_confidence": "0.92",
        "candidate_users": "avery.lin@example-corp.com\nsam.otieno@example-corp.com",
        "gcp_project": "ml-sandbox-7",
        "gcp_service": "aiplatform.googleapis.com",
        "caller_ip": "203.0.113.10",
        "denials": "7",
    },
    {
        "finding": "5 denials of ip:198.51.100.7 ua:curl/8.5.0 on storage.googleapis.com",
        "identified_user": "",
        "match_status": "unidentified",
        "match_confidence": "0.0",
        "candidate_users": "",
        "gcp_project": "finance-prod",
        "gcp_service": "storage.googleapis.com",
        "caller_ip": "198.51.100.7",
        "denials": "5",
    },
    {
        "finding": "<!channel> crafted <https://evil.example|click>",
        "identified_user": "",
        "match_status": "ambiguous",
        "match_confidence": "0.41",
        "candidate_users": "a@example-corp.com\nb@example-corp.com",
        "gcp_project": "p3",
        "gcp_service": "bigquery.googleapis.com",
        "caller_ip": "192.0.2.1",
        "denials": "5",
    },
]


# Runs the action script as __main__ under an audit hook (python -c GUARD <log> <script> --execute).
# Connections off loopback and lookups of any name but localhost are recorded and blocked.
GUARD = r"""
import json, os, runpy, sys
log_path, script = sys.argv[1], sys.argv[2]
sys.argv = [script, *sys.argv[3:]]
sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
out = open(log_path, "a", buffering=1, encoding="utf-8")

def loopback(host):
    return host == "::1" or host.startswith("127.") or host.startswith("::ffff:127.")

def watch(event, args):
    if event == "socket.connect" and isinstance(args[1], tuple):
        host, port = str(args[1][0]), int(args[1][1])
        out.write(json.dumps(["connect", host, port]) + "\n")
        if not loopback(host):
            raise PermissionError("network guard: connection off loopback blocked")
    elif event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        out.write(json.dumps(["lookup", host, 0]) + "\n")
        if host != "localhost" and not loopback(host):
            raise PermissionError("network guard: lookup blocked")

sys.addaudithook(watch)
runpy.run_path(script, run_name="__main__")
"""


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def write_results(path: Path, rows: List[Dict[str, str]]) -> Path:
    """Splunk's results.csv.gz: plain columns (multivalues newline-joined) plus __mv_ columns."""
    fields = list(rows[0])
    header = fields + [f"__mv_{f}" for f in fields]
    with gzip.open(path, "wt", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            mv = [
                ";".join("$" + v.replace("$", "$$") + "$" for v in row[f].split("\n")) if "\n" in row[f] else ""
                for f in fields
            ]
            writer.writerow([row[f] for f in fields] + mv)
    return path


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    events: List[Tuple[str, str, int]] = field(default_factory=list)

    @property
    def connects(self) -> List[Tuple[str, int]]:
        return [(host, port) for kind, host, port in self.events if kind == "connect"]

    @property
    def lookups(self) -> List[str]:
        return [host for kind, host, _ in self.events if kind == "lookup"]


class Harness:
    def __init__(self, python: str, tmp: Path, cert: Tuple[Path, Path]) -> None:
        self.python = python
        self.tmp = tmp
        self.cert = cert
        self.results = write_results(tmp / "results.csv.gz", ROWS)

    def payload(self, splunkd: Splunkd, **conf: str) -> Dict[str, Any]:
        configuration = {
            "format": "json",
            "secret_name": "ops_hook",
            "secret_realm": "gcp_guardrail",
            "allowed_hosts": "127.0.0.1",
            "allowed_addresses": "127.0.0.1",
            "severity": "5",
            "max_rows": "5",
            "timeout": "2",
            "max_attempts": "3",
            "backoff_base": "0.05",
            "backoff_max": "0.2",
            "ca_bundle": str(self.cert[0]),
        }
        configuration.update(conf)
        return {
            "app": "gcp_guardrail",
            "owner": "nobody",
            "results_file": str(self.results),
            "results_link": "https://splunk.example-corp.com:8000/app/gcp_guardrail/@go?sid=scheduler__nobody__gcp_guardrail__RMD5abc_at_1764360000_42",
            "search_uri": "/servicesNS/nobody/gcp_guardrail/saved/searches/guardrail_repeated_denials",
            "server_host": "sh1",
            "server_uri": splunkd.uri,
            "session_key": SESSION_KEY,
            "sid": "scheduler__nobody__gcp_guardrail__RMD5abc_at_1764360000_42",
            "search_name": "guardrail_repeated_denials",
            "configuration": configuration,
            "result": ROWS[0],
        }

    def run(self, payload: Dict[str, Any], timeout: float = 60, guard: bool = True) -> Outcome:
        """Run the action; with ``guard`` under the network guard, else exactly as splunkd does."""
        events = self.tmp / "network.jsonl"
        events.unlink(missing_ok=True)
        command = [self.python, "-c", GUARD, str(events)] if guard else [self.python]
        proc = subprocess.run(
            [*command, str(SCRIPT), "--execute"],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(self.tmp),
            env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )
        seen = [tuple(json.loads(line)) for line in events.read_text().splitlines()] if events.exists() else []
        return Outcome(proc.returncode, proc.stdout, proc.stderr, seen)  # type: ignore[arg-type]


@pytest.fixture
def harness(splunk_python: str, tmp_path: Path, cert: Tuple[Path, Path]) -> Harness:
    return Harness(splunk_python, tmp_path, cert)


def splunkd_for(cert: Tuple[Path, Path], url: str) -> Splunkd:
    return Splunkd(cert, SESSION_KEY, {"gcp_guardrail:ops_hook:": url})


def assert_no_secret(outcome: Outcome, *extra: str) -> None:
    for text in (outcome.stdout, outcome.stderr):
        for secret in (SESSION_KEY, TOKEN_PATH, "SeCrEtWeBhOoKtOkEn42", BEARER, *extra):
            assert secret not in text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def webhook(cert: Tuple[Path, Path]) -> Iterator[Webhook]:
    with Webhook(cert) as hook:
        yield hook


def last_log(outcome: Outcome) -> str:
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert lines, "the action logged nothing"
    return lines[-1]


# --- success -------------------------------------------------------------------------------------


def test_success_json_message(harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]) -> None:
    with splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd))
    assert outcome.code == 0, outcome.stderr
    # splunkd for the secret, then the webhook's checked address: nothing else, no name looked up.
    assert outcome.connects == [("127.0.0.1", splunkd.port), ("127.0.0.1", webhook.port)]
    assert outcome.lookups == []
    assert len(webhook.received) == 1
    request = webhook.received[0]
    assert request.method == "POST" and request.path == TOKEN_PATH
    body = request.json()
    assert body["alert"] == "guardrail_repeated_denials"
    assert body["severity"] == "high"
    assert body["result_count"] == 3
    assert body["results_link"].startswith("https://splunk.example-corp.com:8000/app/gcp_guardrail/@go?sid=")
    assert body["rows"][0]["who"] == "avery.lin@example-corp.com"
    assert body["rows"][0]["confidence"] == "0.92"
    assert body["rows"][0]["candidate_users"] == "avery.lin@example-corp.com, sam.otieno@example-corp.com"
    assert body["rows"][1]["match_status"] == "unidentified"
    assert "outcome=sent" in last_log(outcome)
    assert_no_secret(outcome)
    assert SESSION_KEY not in request.body.decode() and TOKEN_PATH not in request.body.decode()


def test_success_slack_escapes_crafted_values(harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]) -> None:
    with splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd, format="slack", max_rows="3"), guard=False)
    assert outcome.code == 0, outcome.stderr
    body = webhook.received[0].json()
    text = json.dumps(body)
    assert body["text"].startswith("[HIGH] guardrail_repeated_denials: 3 results")
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<https://splunk.example-corp.com:8000/app/gcp_guardrail/@go?sid=" in text
    assert "avery.lin@example-corp.com (confidence 0.92)" in text


def test_success_teams_with_bearer_token(harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]) -> None:
    secret = json.dumps({"url": webhook.url(TOKEN_PATH), "token": BEARER})
    with Splunkd(cert, SESSION_KEY, {"gcp_guardrail:ops_hook:": secret}) as splunkd:
        outcome = harness.run(harness.payload(splunkd, format="teams"), guard=False)
    assert outcome.code == 0, outcome.stderr
    request = webhook.received[0]
    assert request.headers["authorization"] == f"Bearer {BEARER}"
    card = request.json()["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["actions"][0]["url"].startswith("https://splunk.example-corp.com:8000/")
    assert_no_secret(outcome)


def test_success_through_a_connect_proxy(harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]) -> None:
    with ConnectProxy() as proxy, splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd, proxy=proxy.url))
    assert outcome.code == 0, outcome.stderr
    assert proxy.targets == [f"127.0.0.1:{webhook.port}"]  # splunkd was reached directly
    assert len(webhook.received) == 1 and webhook.received[0].path == TOKEN_PATH
    assert outcome.connects == [("127.0.0.1", splunkd.port), ("127.0.0.1", proxy.port)]


def test_success_through_an_https_proxy(harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]) -> None:
    # TLS to the proxy (verified against its name), and TLS to the webhook inside that tunnel.
    with ConnectProxy(cert) as proxy, splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd, proxy=proxy.url))
    assert outcome.code == 0, outcome.stderr
    assert proxy.url.startswith("https://")
    assert proxy.targets == [f"127.0.0.1:{webhook.port}"]
    assert webhook.received[0].json()["alert"] == "guardrail_repeated_denials"


# --- retries -------------------------------------------------------------------------------------


def test_429_then_success_honours_retry_after(harness: Harness, cert: Tuple[Path, Path]) -> None:
    replies = [Reply(429, {"Retry-After": "1"}, "slow down"), Reply(200)]
    with Webhook(cert, replies) as hook, splunkd_for(cert, hook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd))
    assert outcome.code == 0, outcome.stderr
    assert len(hook.received) == 2
    # Retry-After: 1 is capped by backoff_max (0.2 s) and said so in the log.
    assert "status=429" in outcome.stderr and "retry_in=0.20s" in outcome.stderr
    assert "attempts=2" in last_log(outcome)
    assert_no_secret(outcome)


def test_repeated_5xx_gives_up_after_max_attempts(harness: Harness, cert: Tuple[Path, Path]) -> None:
    replies = [Reply(503), Reply(502), Reply(500), Reply(200)]
    with Webhook(cert, replies) as hook, splunkd_for(cert, hook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd))
    assert outcome.code == 3
    assert len(hook.received) == 3  # max_attempts, never the fourth
    line = last_log(outcome)
    assert line.startswith("ERROR action=guardrail_notify")
    assert "outcome=failed stage=delivery attempts=3 status=500" in line
    assert "host 127.0.0.1" in line
    assert_no_secret(outcome)


def test_other_4xx_is_not_retried(harness: Harness, cert: Tuple[Path, Path]) -> None:
    with Webhook(cert, [Reply(403, body="invalid_token")]) as hook, \
            splunkd_for(cert, hook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd))
    assert outcome.code == 3
    assert len(hook.received) == 1
    assert "HTTP 403" in last_log(outcome)


def test_timeout_is_retried_then_fails(harness: Harness, cert: Tuple[Path, Path]) -> None:
    replies = [Reply(200, delay=3.0), Reply(200, delay=3.0)]
    with Webhook(cert, replies) as hook, splunkd_for(cert, hook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd, timeout="0.5", max_attempts="2"))
    assert outcome.code == 3
    assert len(hook.received) == 2
    assert "last: timeout" in last_log(outcome)
    assert_no_secret(outcome)


def test_connection_refused_is_retried_then_fails(harness: Harness, cert: Tuple[Path, Path]) -> None:
    url = f"https://127.0.0.1:{free_port()}{TOKEN_PATH}"
    with splunkd_for(cert, url) as splunkd:
        outcome = harness.run(harness.payload(splunkd))
    assert outcome.code == 3
    line = last_log(outcome)
    assert "attempts=3" in line and "last: connection" in line
    assert outcome.stderr.count("WARNING guardrail_notify attempt=") == 2
    assert_no_secret(outcome)


# --- destination rules ---------------------------------------------------------------------------


def test_disallowed_host_is_never_contacted(harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]) -> None:
    with splunkd_for(cert, webhook.url(TOKEN_PATH, host="localhost")) as splunkd:
        outcome = harness.run(harness.payload(splunkd))
    assert outcome.code == 2
    assert webhook.received == []
    assert "host localhost is not in param.allowed_hosts" in last_log(outcome)
    assert outcome.connects == [("127.0.0.1", splunkd.port)] and outcome.lookups == []
    assert_no_secret(outcome)


def test_plain_http_is_refused(harness: Harness, cert: Tuple[Path, Path]) -> None:
    with Webhook(None) as plain, splunkd_for(cert, plain.url(TOKEN_PATH, scheme="http")) as splunkd:
        outcome = harness.run(harness.payload(splunkd))
    assert outcome.code == 2
    assert plain.received == []
    assert "only https is allowed" in last_log(outcome)
    assert_no_secret(outcome)


def test_redirect_to_another_host_is_not_followed(harness: Harness, cert: Tuple[Path, Path]) -> None:
    with Webhook(cert) as elsewhere:
        target = elsewhere.url("/collect", host="localhost")
        with Webhook(cert, [Reply(307, {"Location": target})]) as hook, \
                splunkd_for(cert, hook.url(TOKEN_PATH)) as splunkd:
            outcome = harness.run(harness.payload(splunkd, allowed_hosts="127.0.0.1, localhost"))
        assert len(hook.received) == 1
        assert elsewhere.received == []
    assert outcome.code == 2
    assert "redirect to another origin refused" in last_log(outcome)
    assert_no_secret(outcome)


def test_redirect_on_same_origin_is_followed(harness: Harness, cert: Tuple[Path, Path]) -> None:
    with Webhook(cert) as hook:
        hook.replies = [Reply(308, {"Location": "/hooks/moved"}), Reply(200)]
        with splunkd_for(cert, hook.url(TOKEN_PATH)) as splunkd:
            outcome = harness.run(harness.payload(splunkd))
    assert outcome.code == 0, outcome.stderr
    assert [r.path for r in hook.received] == [TOKEN_PATH, "/hooks/moved"]


def test_untrusted_certificate_fails_without_retry(harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]) -> None:
    with splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        payload = harness.payload(splunkd)
        del payload["configuration"]["ca_bundle"]  # the public CA bundle does not know our test CA
        outcome = harness.run(payload)
    assert outcome.code == 3
    assert "tls failure" in last_log(outcome)
    assert_no_secret(outcome)


# --- secret handling -----------------------------------------------------------------------------


def test_missing_secret_is_reported_not_guessed(harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]) -> None:
    with splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd, secret_name="no_such_hook"))
    assert outcome.code == 2
    assert webhook.received == []
    assert "no such credential" in last_log(outcome)
    assert_no_secret(outcome)


def test_wrong_session_key_is_refused_and_not_logged(
    harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]
) -> None:
    with splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        payload = harness.payload(splunkd)
        payload["session_key"] = "another-session-key-123456"
        outcome = harness.run(payload)
    assert outcome.code == 2
    assert "HTTP 401" in last_log(outcome)
    assert_no_secret(outcome, "another-session-key-123456")


def test_no_execute_flag_exits_non_zero(harness: Harness) -> None:
    proc = subprocess.run([harness.python, str(SCRIPT)], input="{}", capture_output=True, text=True,
                          timeout=30, check=False)
    assert proc.returncode == 1
    assert "--execute" in proc.stderr


# --- URLs the check and an HTTP client could read differently (the allowlist bypass) -------------

HOSTILE_URLS = [
    # (URL with {port}, allowed_hosts, words in the refusal)
    ("https://localhost\\.x.webhook.office.com:{port}/hooks/T1", "*.webhook.office.com", "backslash"),
    ("https://127.0.0.1\\@hooks.webhook.office.com:{port}/hooks/T1", "*.webhook.office.com", "backslash"),
    ("https://127.0.0.1:{port}@hooks.webhook.office.com/hooks/T1", "*.webhook.office.com", "user info"),
    ("https://127.0.0.1%2f.webhook.office.com:{port}/hooks/T1", "*.webhook.office.com", "percent-encoded"),
    ("https://127.0.0.1\t.webhook.office.com:{port}/hooks/T1", "*.webhook.office.com", "whitespace"),
    ("https://hooks.webhook.office.com#@127.0.0.1:{port}/hooks/T1", "*.webhook.office.com, 127.0.0.1", "fragment"),
    ("https://2130706433:{port}/hooks/T1", "127.0.0.1", "not a dotted-quad"),
    ("https://0x7f.1:{port}/hooks/T1", "127.0.0.1", "not a dotted-quad"),
    ("https://127.1:{port}/hooks/T1", "127.0.0.1", "not a dotted-quad"),
    ("https://127.0.0.1.:{port}/hooks/T1", "127.0.0.1", "empty label"),
]


@pytest.mark.parametrize(("template", "allowed", "words"), HOSTILE_URLS, ids=[w for _, _, w in HOSTILE_URLS])
def test_url_two_parsers_could_read_differently_is_refused(
    harness: Harness, webhook: Webhook, cert: Tuple[Path, Path], template: str, allowed: str, words: str
) -> None:
    secret = json.dumps({"url": template.format(port=webhook.port), "token": BEARER})
    with Splunkd(cert, SESSION_KEY, {"gcp_guardrail:ops_hook:": secret}) as splunkd:
        outcome = harness.run(harness.payload(splunkd, allowed_hosts=allowed))
    assert outcome.code == 2, outcome.stderr
    line = last_log(outcome)
    assert "stage=webhook" in line and words in line
    assert webhook.received == []
    # The guard saw one connection, to splunkd for the secret: the webhook's host was never tried.
    assert outcome.connects == [("127.0.0.1", splunkd.port)] and outcome.lookups == []
    assert_no_secret(outcome, "/hooks/T1")


# --- address rules: loopback, link-local, private only when an admin lists the address -----------


@pytest.mark.parametrize(
    ("host", "allowed_hosts", "words"),
    [
        ("127.0.0.1", "127.0.0.1", "127.0.0.1 loopback"),
        ("[::1]", "::1", "::1 loopback"),
        ("localhost", "localhost", "127.0.0.1 loopback"),
        ("169.254.169.254", "169.254.169.254", "169.254.169.254 link-local"),
        ("10.0.0.5", "10.0.0.5", "10.0.0.5 private"),
        ("[fd00::5]", "fd00::5", "fd00::5 private"),
    ],
)
def test_refused_address_is_never_connected_to(
    harness: Harness, webhook: Webhook, cert: Tuple[Path, Path], host: str, allowed_hosts: str, words: str
) -> None:
    with splunkd_for(cert, webhook.url(TOKEN_PATH, host=host)) as splunkd:
        outcome = harness.run(harness.payload(splunkd, allowed_hosts=allowed_hosts, allowed_addresses=""))
    assert outcome.code == 2, outcome.stderr
    line = last_log(outcome)
    assert "refused addresses" in line and words in line and "param.allowed_addresses" in line
    assert webhook.received == []
    assert outcome.connects == [("127.0.0.1", splunkd.port)]
    assert outcome.lookups == (["localhost"] if host == "localhost" else [])
    assert_no_secret(outcome)


def test_name_is_looked_up_once_and_the_checked_address_is_used(
    harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]
) -> None:
    # localhost resolves to loopback, allowed here by listing 127.0.0.1; TLS is still verified
    # against the name (the test certificate's SAN holds localhost).
    with splunkd_for(cert, webhook.url(TOKEN_PATH, host="localhost")) as splunkd:
        outcome = harness.run(harness.payload(splunkd, allowed_hosts="localhost"))
    assert outcome.code == 0, outcome.stderr
    assert outcome.lookups == ["localhost"]
    assert outcome.connects == [("127.0.0.1", splunkd.port), ("127.0.0.1", webhook.port)]
    assert webhook.received[0].headers["host"] == f"localhost:{webhook.port}"


def test_certificate_must_match_the_url_host_not_the_address(
    harness: Harness, webhook: Webhook, cert: Tuple[Path, Path], tmp_path: Path
) -> None:
    other = make_certificate(tmp_path)  # trusted, but for another key: a different CA altogether
    with splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd, ca_bundle=str(other[0])))
    assert outcome.code == 3
    assert "tls failure" in last_log(outcome)
    assert webhook.received == []


@pytest.mark.parametrize(
    ("proxy", "words"),
    [("http://127.0.0.1:{port}", "127.0.0.1 loopback"), ("http://169.254.169.254:3128", "169.254.169.254 link-local"),
     ("http://[fe80::1]:3128", "fe80::1 link-local"), ("http://192.168.1.1:3128", "192.168.1.1 private")],
)
def test_proxy_gets_the_same_address_rules(
    harness: Harness, webhook: Webhook, cert: Tuple[Path, Path], proxy: str, words: str
) -> None:
    with ConnectProxy() as stub, splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        payload = harness.payload(splunkd, proxy=proxy.format(port=stub.port), allowed_addresses="")
        outcome = harness.run(payload)
    assert outcome.code == 2, outcome.stderr
    line = last_log(outcome)
    assert "stage=param.proxy" in line and words in line
    assert stub.targets == [] and webhook.received == []
    assert outcome.connects == [("127.0.0.1", splunkd.port)]


# --- deadlines: drip, stall, total ----------------------------------------------------------------


def test_headers_dripped_a_byte_at_a_time_end_at_the_attempt_deadline(
    harness: Harness, cert: Tuple[Path, Path]
) -> None:
    # 0.1 s per byte: the reply head alone would take about 8 s; each attempt ends after 1 s.
    replies = [Reply(200, drip_head=0.1), Reply(200, drip_head=0.1)]
    with Webhook(cert, replies) as hook, splunkd_for(cert, hook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd, timeout="1", max_attempts="2"))
        received = list(hook.received)
    assert outcome.code == 3, outcome.stderr
    assert "attempts=2" in last_log(outcome) and "last: timeout" in last_log(outcome)
    assert len(received) == 2
    assert not any(r.finished for r in received)  # the client hung up on both, mid-drip
    assert all(0 < r.sent < 80 for r in received)


def test_body_dripped_after_a_2xx_is_delivered_and_cut_at_the_deadline(
    harness: Harness, cert: Tuple[Path, Path]
) -> None:
    replies = [Reply(200, drip_body=0.1, body_bytes=600)]
    with Webhook(cert, replies) as hook, splunkd_for(cert, hook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd, timeout="1", max_attempts="3"))
        received = list(hook.received)
    assert outcome.code == 0, outcome.stderr  # the status was in: the message was taken, once
    assert "attempts=1" in last_log(outcome)
    assert len(received) == 1 and not received[0].finished


def test_server_that_never_speaks_times_out_each_attempt(harness: Harness, cert: Tuple[Path, Path]) -> None:
    with Silent() as silent, splunkd_for(cert, silent.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd, timeout="1", max_attempts="2"))
        accepted = len(silent.accepted)
    assert outcome.code == 3, outcome.stderr
    assert accepted == 2
    assert "attempts=2" in last_log(outcome) and "last: timeout" in last_log(outcome)


def test_total_deadline_stops_retries(harness: Harness, cert: Tuple[Path, Path]) -> None:
    with Silent() as silent, splunkd_for(cert, silent.url(TOKEN_PATH)) as splunkd:
        payload = harness.payload(splunkd, timeout="2", max_attempts="6", total_timeout="3")
        outcome = harness.run(payload)
        accepted = len(silent.accepted)
    assert outcome.code == 3, outcome.stderr
    assert "total_timeout of 3s reached" in last_log(outcome)
    assert 1 <= accepted < 6


# --- reply bodies are streamed and cut at the kept size --------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [Reply(200, body_bytes=400 * 1024 * 1024), Reply(200, body_bytes=ENDLESS, chunked=True),
     Reply(200, body_bytes=ENDLESS)],
    ids=["400MiB-content-length", "endless-chunked", "endless-until-close"],
)
def test_huge_reply_body_is_not_read_past_the_kept_size(
    harness: Harness, cert: Tuple[Path, Path], reply: Reply
) -> None:
    with Webhook(cert, [reply]) as hook, splunkd_for(cert, hook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd))
        received = list(hook.received)
    assert outcome.code == 0, outcome.stderr
    assert len(received) == 1 and not received[0].finished
    # What the socket buffers took before the client closed: far below the 400 MiB or forever.
    assert received[0].sent < 64 * 1024 * 1024


# --- redirects through the same parser ---------------------------------------------------------------


def test_redirect_to_a_backslash_host_is_refused(harness: Harness, cert: Tuple[Path, Path]) -> None:
    with Webhook(cert) as elsewhere:
        location = f"https://localhost\\.x.webhook.office.com:{elsewhere.port}/collect"
        with Webhook(cert, [Reply(307, {"Location": location})]) as hook, \
                splunkd_for(cert, hook.url(TOKEN_PATH)) as splunkd:
            outcome = harness.run(harness.payload(splunkd, allowed_hosts="127.0.0.1, *.webhook.office.com"))
        assert elsewhere.received == []
    assert outcome.code == 2
    assert "redirect refused" in last_log(outcome) and "backslash" in last_log(outcome)
    assert outcome.connects == [("127.0.0.1", splunkd.port), ("127.0.0.1", hook.port)]


def test_redirect_loop_is_bounded(harness: Harness, cert: Tuple[Path, Path]) -> None:
    replies = [Reply(307, {"Location": "/hooks/again"}) for _ in range(6)]
    with Webhook(cert, replies) as hook, splunkd_for(cert, hook.url(TOKEN_PATH)) as splunkd:
        outcome = harness.run(harness.payload(splunkd))
    assert outcome.code == 2
    assert "more than 3 redirects" in last_log(outcome)
    assert len(hook.received) == 4


# --- results files: bounded, counted, never fatal ---------------------------------------------------


@pytest.fixture(scope="module")
def tiny_rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """32 MiB decompressed: a header and 16M rows of one character."""
    path = tmp_path_factory.mktemp("results") / "tiny.csv.gz"
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(b"identified_user\n")
        for _ in range(16):
            handle.write(b"a\n" * 1_000_000)
    return path


def test_sixteen_million_tiny_rows_are_counted_not_held(
    harness: Harness, webhook: Webhook, cert: Tuple[Path, Path], tiny_rows: Path
) -> None:
    with splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        payload = harness.payload(splunkd)
        payload["results_file"] = str(tiny_rows)
        outcome = harness.run(payload)
    assert outcome.code == 0, outcome.stderr
    body = webhook.received[0].json()
    assert body["result_count"] == 16_000_000
    assert body["results_truncated"] is False and body["rows_truncated"] is True
    assert [r["who"] for r in body["rows"]] == ["a"] * 5


def test_results_file_over_the_limit_goes_out_marked_truncated(
    harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]
) -> None:
    header = b"identified_user,finding\n"
    row = b"avery.lin@example-corp.com,\"3 denials, one \"\"quoted\"\"\nacross lines\"\n"
    rows = (80 * 1024 * 1024) // len(row)
    path = harness.tmp / "big.csv.gz"
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(header)
        for _ in range(rows // 10_000):
            handle.write(row * 10_000)
    limit = 64 * 1024 * 1024
    whole, partial = divmod(limit - len(header), len(row))
    with splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        payload = harness.payload(splunkd, format="slack")
        payload["results_file"] = str(path)
        outcome = harness.run(payload)
    assert outcome.code == 0, outcome.stderr
    body = webhook.received[0].json()
    assert body["text"].endswith(f"at least {whole + (1 if partial else 0)} results")
    assert "read only in part (over 64 MiB decompressed)" in json.dumps(body)
    assert "read in part" in outcome.stderr and "outcome=sent" in last_log(outcome)


def test_damaged_results_file_still_sends_what_was_read(
    harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]
) -> None:
    rows = [dict(ROWS[0], denials=str(n)) for n in range(20_000)]
    path = write_results(harness.tmp / "whole.csv.gz", rows)
    damaged = harness.tmp / "damaged.csv.gz"
    data = path.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    with splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        payload = harness.payload(splunkd)
        payload["results_file"] = str(damaged)
        outcome = harness.run(payload)
    assert outcome.code == 0, outcome.stderr
    body = webhook.received[0].json()
    assert body["results_truncated"] is True and "damaged" in body["results_problem"]
    assert 0 < body["result_count"] < 20_000
    assert body["rows"][0]["who"] == "avery.lin@example-corp.com"


def test_nul_byte_in_a_result_field_does_not_fail_the_action(
    harness: Harness, webhook: Webhook, cert: Tuple[Path, Path]
) -> None:
    rows = [dict(ROWS[0], identified_user="avery\x00lin@example-corp.com", finding="x\x00y"), ROWS[1]]
    path = write_results(harness.tmp / "nul.csv.gz", rows)
    with splunkd_for(cert, webhook.url(TOKEN_PATH)) as splunkd:
        payload = harness.payload(splunkd)
        payload["results_file"] = str(path)
        outcome = harness.run(payload)
    assert outcome.code == 0, outcome.stderr
    body = webhook.received[0].json()
    assert body["result_count"] == 2
    assert body["rows"][0]["who"] == "avery lin@example-corp.com" and body["rows"][0]["what"] == "x y"
