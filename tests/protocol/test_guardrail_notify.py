"""guardrail_notify through its real entry point, the way splunkd runs it.

``bin/guardrail_notify.py --execute`` is spawned under the Pythons Splunk ships, with Splunk's JSON
payload on stdin (results_file as gzip CSV, configuration, session_key, server_uri). The secret comes
from a loopback splunkd stand-in; messages go to a scripted HTTPS webhook on 127.0.0.1 whose
self-signed certificate is made here and trusted through ``param.ca_bundle``.
"""

from __future__ import annotations

import csv
import gzip
import json
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from tests.protocol.webhook_stub import ConnectProxy, Reply, Splunkd, Webhook, make_certificate

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

    def run(self, payload: Dict[str, Any], timeout: float = 60) -> Outcome:
        proc = subprocess.run(
            [self.python, str(SCRIPT), "--execute"],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(self.tmp),
            env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )
        return Outcome(proc.returncode, proc.stdout, proc.stderr)


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
        outcome = harness.run(harness.payload(splunkd, format="slack", max_rows="3"))
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
        outcome = harness.run(harness.payload(splunkd, format="teams"))
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
