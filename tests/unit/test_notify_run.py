"""guardrail_notify end to end in the engine: secret lookup, message, delivery, exit codes, redaction."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any, Dict, List

import pytest
from guardrail.notify.action import redact, run
from guardrail.notify.secret import SecretError, WebhookSecret, parse_secret, password_url
from guardrail.notify.transport import HttpResponse, TransportError

from tests.unit.notify_fakes import FakeClient, NetworkGuard

SESSION = "sk-test-0123456789"
HOOK = "https://hooks.slack.com/services/T1/B2/VerySecretPath"


@pytest.fixture
def payload(tmp_path: Path) -> Dict[str, Any]:
    results = tmp_path / "results.csv.gz"
    with gzip.open(results, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["identified_user", "match_confidence", "finding"])
        writer.writerow(["avery.lin@example-corp.com", "0.9", "7 denials"])
    return {
        "search_name": "guardrail_sensitive_method_denied",
        "sid": "scheduler_abc",
        "app": "gcp_guardrail",
        "results_file": str(results),
        "results_link": "https://sh.example:8000/app/gcp_guardrail/@go?sid=scheduler_abc",
        "server_uri": "https://127.0.0.1:8089",
        "session_key": SESSION,
        "configuration": {"secret_name": "ops", "allowed_hosts": "hooks.slack.com", "format": "slack",
                          "severity": "5", "backoff_base": "0"},
    }


@pytest.fixture(autouse=True)
def no_network() -> Any:
    with NetworkGuard() as guard:
        yield guard
    assert guard.connects == [] and guard.lookups == []


def client_with(secret: str = HOOK, steps: Any = None, dns: Any = None) -> FakeClient:
    return FakeClient(steps, {"gcp_guardrail%3Aops%3A": secret}, SESSION,
                      dns={"hooks.slack.com": ("52.96.0.1",)} if dns is None else dns)


def test_sends_and_logs_success(payload: Dict[str, Any]) -> None:
    client, lines = client_with(), []
    assert run(payload, client, lines.append, sleep=lambda _s: None) == 0
    post = client.posts[0]
    assert (post.url.host, post.url.target) == ("hooks.slack.com", "/services/T1/B2/VerySecretPath")
    assert "Authorization" not in post.headers
    assert json.loads(post.body)["text"].startswith("[HIGH] guardrail_sensitive_method_denied")
    assert lines[-1].startswith("INFO action=guardrail_notify") and "outcome=sent" in lines[-1]
    # splunkd is loopback: its own certificate is not verified, the webhook's always is.
    assert client.gets[0][2] is False and post.verify is True


def test_bearer_token_from_json_secret(payload: Dict[str, Any]) -> None:
    client = client_with(json.dumps({"url": HOOK, "token": "tok-abcdef123"}))
    assert run(payload, client, [].append) == 0
    assert client.posts[0].headers["Authorization"] == "Bearer tok-abcdef123"


@pytest.mark.parametrize("token", ["tok\r\nX-Injected: 1", "tok en", "tok\x00", "tök"])
def test_token_that_could_break_the_request_is_refused(payload: Dict[str, Any], token: str) -> None:
    client, lines = client_with(json.dumps({"url": HOOK, "token": token})), []
    assert run(payload, client, lines.append) == 2
    assert client.posts == [] and "token" in lines[-1] and "X-Injected" not in lines[-1]


def test_backslash_bypass_url_is_refused_before_anything_is_sent(payload: Dict[str, Any]) -> None:
    payload["configuration"]["allowed_hosts"] = "*.webhook.office.com"
    secret = json.dumps({"url": "https://localhost\\.x.webhook.office.com/hooks/VerySecretPath",
                         "token": "tok-abcdef123"})
    client, lines = client_with(secret, dns={}), []
    assert run(payload, client, lines.append) == 2
    assert client.posts == [] and client.lookups == []
    assert "stage=webhook" in lines[-1] and "backslash" in lines[-1]
    assert "VerySecretPath" not in "\n".join(lines) and "tok-abcdef123" not in "\n".join(lines)


def test_webhook_name_resolving_to_loopback_is_refused(payload: Dict[str, Any]) -> None:
    client, lines = client_with(dns={"hooks.slack.com": ("127.0.0.1",)}), []
    assert run(payload, client, lines.append) == 2
    assert client.posts == [] and "127.0.0.1 loopback" in lines[-1]


def test_nul_in_a_result_field_is_sent_as_a_space(payload: Dict[str, Any]) -> None:
    with gzip.open(payload["results_file"], "wb") as handle:
        handle.write(b"identified_user,finding\navery\x00lin@example-corp.com,7 denials\n")
    client = client_with()
    assert run(payload, client, [].append) == 0
    assert "avery lin@example-corp.com" in json.loads(client.posts[0].body)["blocks"][2]["text"]["text"]


def test_delivery_failure_exit_3_and_secret_free_log(payload: Dict[str, Any]) -> None:
    lines: List[str] = []
    client = client_with(steps=[TransportError("connection")] * 4)
    assert run(payload, client, lines.append, sleep=lambda _s: None) == 3
    assert len(client.posts) == 4
    assert lines[-1].startswith("ERROR") and "stage=delivery attempts=4" in lines[-1]
    joined = "\n".join(lines)
    assert "VerySecretPath" not in joined and SESSION not in joined


def test_missing_secret_exit_2(payload: Dict[str, Any]) -> None:
    lines: List[str] = []
    client = FakeClient(secrets={}, session_key=SESSION)
    assert run(payload, client, lines.append) == 2
    assert client.posts == [] and "no such credential" in lines[-1]


def test_bad_config_exit_2_before_any_request(payload: Dict[str, Any]) -> None:
    payload["configuration"]["allowed_hosts"] = ""
    client, lines = client_with(), []
    assert run(payload, client, lines.append) == 2
    assert client.gets == [] and client.posts == [] and "param.allowed_hosts" in lines[-1]


def test_remote_splunkd_is_verified(payload: Dict[str, Any]) -> None:
    payload["server_uri"] = "https://sh1.example-corp.com:8089"
    client = client_with()
    run(payload, client, [].append)
    assert client.gets[0][2] is True


def test_redact_scrubs_every_secret() -> None:
    assert redact(f"x {HOOK} y {SESSION}", [HOOK, SESSION, None, ""]) == "x <redacted> y <redacted>"


def test_secret_repr_hides_url() -> None:
    assert "Secret" not in repr(WebhookSecret(HOOK)).replace("WebhookSecret", "")
    assert "VerySecretPath" not in repr(WebhookSecret(HOOK)) and "VerySecretPath" not in str(WebhookSecret(HOOK))


@pytest.mark.parametrize("stored", ["", "{not json", '{"token": "x"}', '{"url": 5}'])
def test_unusable_stored_values(stored: str) -> None:
    with pytest.raises(SecretError):
        parse_secret(stored)


def test_password_url_escapes_the_entity() -> None:
    assert password_url("https://127.0.0.1:8089/", "gcp_guardrail", "ops") == (
        "https://127.0.0.1:8089/servicesNS/nobody/gcp_guardrail/storage/passwords/gcp_guardrail%3Aops%3A?output_mode=json"
    )


def test_splunkd_unreachable(payload: Dict[str, Any]) -> None:
    class Down(FakeClient):
        def get(self, url, headers, timeout, verify):  # type: ignore[no-untyped-def]
            raise TransportError("connection")

    lines: List[str] = []
    assert run(payload, Down(), lines.append) == 2
    assert "splunkd unreachable" in lines[-1]


def test_splunkd_unexpected_answer(payload: Dict[str, Any]) -> None:
    class Odd(FakeClient):
        def get(self, url, headers, timeout, verify):  # type: ignore[no-untyped-def]
            return HttpResponse(200, {}, '{"entry": []}')

    lines: List[str] = []
    assert run(payload, Odd(), lines.append) == 2
    assert "unexpected response shape" in lines[-1]


def test_unexpected_error_names_only_its_type(payload: Dict[str, Any]) -> None:
    class Broken(FakeClient):
        def post(self, url, route, body, headers, timeout, verify):  # type: ignore[no-untyped-def]
            raise ValueError(f"cannot post to {url.host}{url.target}")

    lines: List[str] = []
    broken = Broken(secrets={"gcp_guardrail%3Aops%3A": HOOK}, session_key=SESSION,
                    dns={"hooks.slack.com": ("52.96.0.1",)})
    assert run(payload, broken, lines.append) == 4
    assert lines[-1].endswith('stage=internal reason="ValueError"')
    assert "VerySecretPath" not in "\n".join(lines)


def test_proxy_used_for_the_webhook_only(payload: Dict[str, Any]) -> None:
    payload["configuration"]["proxy"] = "http://proxy.example-corp.com:3128"
    client = client_with(dns={"proxy.example-corp.com": ("52.1.1.1",)})
    assert run(payload, client, [].append) == 0
    route = client.posts[0].route
    assert route.proxy is not None and route.proxy.base() == "http://proxy.example-corp.com:3128"
    assert route.addresses == ("52.1.1.1",) and route.port == 3128
    assert client.lookups == [("proxy.example-corp.com", 3128)]
    assert len(client.gets) == 1  # splunkd: FakeClient.get has no proxy parameter at all
