"""Turn an alert's results into a short, readable webhook message (Slack, Teams or generic JSON).

Result values come from audit logs and user agents an attacker can shape, so every value is cut to
a bounded length and escaped for the target's markup: a crafted user agent must not become a Slack
``<!channel>`` mention or a Teams link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from .results import Results

MAX_VALUE = 160

# Which column names what, best first: the alerts put their verdict in `finding` and the person in
# `identified_user`; other searches that use the action may only have the raw fields.
WHO_FIELDS = ("identified_user", "actor", "gcp_principal", "caller_key", "caller_ip")
WHAT_FIELDS = ("finding", "gcp_method", "gcp_service")
DETAIL_FIELDS = (
    "match_status",
    "match_confidence",
    "candidate_users",
    "gcp_project",
    "gcp_service",
    "caller_ip",
    "denials",
    "triage_status",
)
# The only columns read from the results file (results.read_results keeps no other).
SHOWN_FIELDS = frozenset((*WHO_FIELDS, *WHAT_FIELDS, *DETAIL_FIELDS, "match_confidence"))


@dataclass(frozen=True)
class Row:
    """One result row reduced to what a message shows."""

    who: str
    what: str
    confidence: str
    details: Tuple[Tuple[str, str], ...]


@dataclass(frozen=True)
class AlertSummary:
    """Everything a message says about one alert firing."""

    alert: str
    severity: str
    count: int
    rows: Tuple[Row, ...]
    results_link: str
    sid: str
    app: str
    complete: bool = True  # False: the results file was read only in part; count covers that part
    problem: str = ""


def clip(value: str, limit: int = MAX_VALUE) -> str:
    """One line, at most ``limit`` characters (multivalue results arrive newline-joined)."""
    text = ", ".join(part.strip() for part in value.splitlines() if part.strip())
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first(row: Mapping[str, str], names: Iterable[str]) -> str:
    for name in names:
        value = row.get(name, "")
        if value.strip():
            return clip(value)
    return ""


def _confidence(row: Mapping[str, str]) -> str:
    raw = row.get("match_confidence", "").strip()
    if not raw:
        return ""
    try:
        return f"{float(raw.splitlines()[0]):.2f}"
    except ValueError:
        return clip(raw, 16)


def summarise(
    alert: str,
    severity: str,
    results: Results,
    max_rows: int,
    results_link: str,
    sid: str = "",
    app: str = "",
) -> AlertSummary:
    """Pick the top ``max_rows`` rows (in the search's own order) and what to say about each."""
    top: List[Row] = []
    for row in results.rows[:max_rows]:
        who = _first(row, WHO_FIELDS) or "unknown caller"
        what = _first(row, WHAT_FIELDS)
        details = tuple(
            (name, clip(row[name]))
            for name in DETAIL_FIELDS
            if row.get(name, "").strip() and name != "match_confidence"
        )
        top.append(Row(who=who, what=what, confidence=_confidence(row), details=details))
    return AlertSummary(
        alert=clip(alert or "unnamed search", 120),
        severity=severity,
        count=results.count,
        rows=tuple(top),
        results_link=results_link.strip(),
        sid=clip(sid, 120),
        app=clip(app, 60),
        complete=results.complete,
        problem=results.problem,
    )


def _title(summary: AlertSummary) -> str:
    noun = "result" if summary.count == 1 else "results"
    count = f"{summary.count}" if summary.complete else f"at least {summary.count}"
    return f"[{summary.severity.upper()}] {summary.alert}: {count} {noun}"


def _truncation_note(summary: AlertSummary) -> Optional[str]:
    if summary.complete:
        return None
    return (f"The results file was read only in part ({summary.problem}): "
            f"{summary.count} rows counted; open the results in Splunk for all of them.")


def _safe_link(link: str) -> Optional[str]:
    # A results link always comes from splunkd; refuse anything that is not plain http(s).
    if re.match(r"^https?://[^\s<>|\[\]()]+$", link):
        return link
    return None


_SLACK_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


def slack_escape(text: str) -> str:
    """Escape the characters Slack reads as control sequences (links, mentions: ``<!channel>``).

    Slack has no escape for ``*`` or ``_``; they can only change emphasis, not add a link or mention.
    """
    for old, new in _SLACK_ESCAPES:
        text = text.replace(old, new)
    return text


def markdown_escape(text: str) -> str:
    """Backslash-escape the Markdown characters that make links, emphasis or code in a Teams card.

    Underscores stay: CommonMark ignores them inside words, and GCP names are full of them.
    """
    return re.sub(r"([\\`*\[\]()<>~])", r"\\\1", text)


def _row_line(row: Row, escape: Any) -> str:
    who = escape(row.who)
    conf = f" (confidence {row.confidence})" if row.confidence else ""
    what = f": {escape(row.what)}" if row.what else ""
    return f"{who}{conf}{what}"


def slack_message(summary: AlertSummary) -> Dict[str, Any]:
    """Slack incoming-webhook body: a fallback ``text`` plus Block Kit sections."""
    title = _title(summary)
    blocks: List[Dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, 150)}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*Severity:* {slack_escape(summary.severity)}   *Results:* "
                    f"{summary.count if summary.complete else f'at least {summary.count}'}",
            },
        },
    ]
    for row in summary.rows:
        lines = ["• " + _row_line(row, slack_escape)]
        lines.extend(f"    {name}: {slack_escape(value)}" for name, value in row.details)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip_block("\n".join(lines))}})
    if summary.count > len(summary.rows):
        more = summary.count - len(summary.rows)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"and {more} more"}]})
    note = _truncation_note(summary)
    if note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(note)}]})
    link = _safe_link(summary.results_link)
    if link:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"<{link}|Open the results in Splunk>"}})
    return {"text": slack_escape(title), "blocks": blocks}


def clip_block(text: str, limit: int = 2900) -> str:
    """Slack rejects section text over 3000 characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def teams_message(summary: AlertSummary) -> Dict[str, Any]:
    """Teams (Workflows / incoming webhook) body: one Adaptive Card."""
    body: List[Dict[str, Any]] = [
        {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": True,
         "text": _title(summary)},  # the saved search name is set by an admin
        {"type": "FactSet", "facts": [
            {"title": "Severity", "value": markdown_escape(summary.severity)},
            {"title": "Results", "value": str(summary.count) if summary.complete else f"at least {summary.count}"},
        ]},
    ]
    for row in summary.rows:
        body.append({"type": "Container", "separator": True, "items": [
            {"type": "TextBlock", "wrap": True, "text": _row_line(row, markdown_escape)},
            {"type": "FactSet", "facts": [
                {"title": name, "value": markdown_escape(value)} for name, value in row.details
            ]},
        ]})
    if summary.count > len(summary.rows):
        body.append({"type": "TextBlock", "isSubtle": True,
                     "text": f"and {summary.count - len(summary.rows)} more"})
    note = _truncation_note(summary)
    if note:
        body.append({"type": "TextBlock", "isSubtle": True, "wrap": True, "text": markdown_escape(note)})
    card: Dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    link = _safe_link(summary.results_link)
    if link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the results in Splunk", "url": link}]
    return {
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
    }


def json_message(summary: AlertSummary) -> Dict[str, Any]:
    """Generic JSON body for SOAR, ticketing or chat bridges."""
    return {
        "source": "gcp_guardrail",
        "alert": summary.alert,
        "severity": summary.severity,
        "result_count": summary.count,
        "results_link": _safe_link(summary.results_link) or "",
        "sid": summary.sid,
        "app": summary.app,
        "rows": [
            {"who": r.who, "what": r.what, "confidence": r.confidence, **dict(r.details)}
            for r in summary.rows
        ],
        "rows_truncated": summary.count > len(summary.rows),
        "results_truncated": not summary.complete,
        "results_problem": summary.problem,
    }


def build_message(fmt: str, summary: AlertSummary) -> Dict[str, Any]:
    """The webhook body for ``fmt`` (slack, teams or json)."""
    if fmt == "slack":
        return slack_message(summary)
    if fmt == "teams":
        return teams_message(summary)
    return json_message(summary)
