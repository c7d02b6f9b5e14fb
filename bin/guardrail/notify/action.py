"""``guardrail_notify`` end to end: payload -> config -> secret -> destination -> message -> delivery.

:func:`run` is what the adapter calls. It returns the process exit code and writes log lines through
``log`` (the adapter sends them to stderr, which splunkd files in ``_internal`` under
``sendmodalert``). Every line passes through :func:`redact` with the secret and the session key, so
neither can reach a log even through an unexpected message. The run's total deadline
(``total_timeout``) starts with it: the secret lookup, the results file and every delivery attempt
and wait end well inside the action's ``maxtime``.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterable, Mapping, Optional

from .config import NotifyError, check_destination, parse_config
from .message import SHOWN_FIELDS, build_message, summarise
from .results import read_results
from .secret import SecretError, fetch_secret
from .send import DeliveryError, deliver
from .transport import HttpClient

ACTION = "guardrail_notify"
INTERNAL_ERROR = 4


def redact(line: str, secrets: Iterable[Optional[str]]) -> str:
    """Replace every occurrence of each non-trivial secret in ``line``."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            line = line.replace(secret, "<redacted>")
    return line


def _quote(value: object) -> str:
    return json.dumps(str(value), ensure_ascii=True)


def run(
    payload: Mapping[str, Any],
    client: HttpClient,
    log: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Send one notification for the alert in ``payload``; 0 on success, the error's code otherwise.

    Exit codes: 2 configuration, secret or destination; 3 delivery; 4 an unexpected internal error.
    """
    started = clock()
    session_key = str(payload.get("session_key") or "")
    secrets: list[Optional[str]] = [session_key]

    def emit(line: str) -> None:
        log(redact(line, secrets))

    search = str(payload.get("search_name") or "")
    sid = str(payload.get("sid") or "")
    context = f"action={ACTION} search_name={_quote(search)} sid={_quote(sid)}"
    try:
        conf = payload.get("configuration")
        config = parse_config(conf if isinstance(conf, Mapping) else {})
        secret = fetch_secret(
            client, str(payload.get("server_uri") or ""), session_key,
            config.secret_realm, config.secret_name, config.ca_bundle,
        )
        secrets.extend([secret.url, secret.token])
        url = check_destination(secret.url, config.allowed_hosts)
        if secret.token is not None and not all(" " < ch < "\x7f" for ch in secret.token):
            raise SecretError("secret", '"token" holds whitespace, control or non-ASCII characters')
        results = read_results(str(payload.get("results_file") or ""), config.max_rows, SHOWN_FIELDS)
        summary = summarise(
            search, config.severity, results, config.max_rows,
            str(payload.get("results_link") or ""), sid, str(payload.get("app") or ""),
        )
        if not results.complete:
            emit(f"WARNING {context} results_file read in part ({results.problem}): "
                 f"sending rows={len(summary.rows)} count={results.count} marked truncated")
        body = json.dumps(build_message(config.fmt, summary), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": f"{ACTION}/1"}
        if secret.token:
            headers["Authorization"] = f"Bearer {secret.token}"
        result = deliver(
            client, url, body, headers, config.retry, config.allowed_hosts,
            verify=config.ca_bundle or True, sleep=sleep, log=emit, proxy=config.proxy,
            allowed_addresses=config.allowed_addresses, clock=clock,
            deadline=started + config.retry.total_timeout,
        )
    except DeliveryError as err:
        emit(f"ERROR {context} outcome=failed stage=delivery attempts={err.attempts} "
             f"status={err.status if err.status is not None else '-'} reason={_quote(err.message)}")
        return err.exit_code
    except NotifyError as err:
        emit(f"ERROR {context} outcome=failed stage={err.where} reason={_quote(err.message)}")
        return err.exit_code
    except Exception as err:
        # An unforeseen error's message or traceback could quote the webhook URL: name its type only.
        emit(f"ERROR {context} outcome=failed stage=internal reason={_quote(type(err).__name__)}")
        return INTERNAL_ERROR
    emit(f"INFO {context} outcome=sent format={config.fmt} rows={summary.count} "
         f"complete={'yes' if summary.complete else 'no'} status={result.status} attempts={result.attempts}")
    return 0
