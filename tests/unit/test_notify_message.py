"""Messages of guardrail_notify: content, formats, escaping of hostile values, results file reading."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Dict, List

import pytest
from guardrail.notify.message import SHOWN_FIELDS, build_message, clip, summarise
from guardrail.notify.results import Results, read_results

LINK = "https://splunk.example-corp.com:8000/app/gcp_guardrail/@go?sid=abc"
ROWS: List[Dict[str, str]] = [
    {"finding": "7 denials", "identified_user": "avery.lin@example-corp.com", "match_confidence": "0.917",
     "match_status": "identified", "candidate_users": "avery.lin@example-corp.com\nsam@example-corp.com",
     "gcp_project": "ml-sandbox-7"},
    {"finding": "<!channel> *bold* [x](https://evil.example)", "actor": "198.51.100.7",
     "match_confidence": "", "gcp_project": "p2"},
    {"gcp_principal": "svc@p.iam.gserviceaccount.com", "gcp_method": "SetIamPolicy"},
]


def summary(max_rows: int = 5, complete: bool = True):  # type: ignore[no-untyped-def]
    results = Results(tuple(ROWS), len(ROWS), complete, "" if complete else "over 64 MiB decompressed")
    return summarise("guardrail_repeated_denials", "high", results, max_rows, LINK, "sid1", "gcp_guardrail")


def test_summary_picks_who_what_confidence() -> None:
    s = summary()
    assert s.count == 3
    assert [r.who for r in s.rows] == ["avery.lin@example-corp.com", "198.51.100.7", "svc@p.iam.gserviceaccount.com"]
    assert s.rows[0].confidence == "0.92" and s.rows[1].confidence == ""
    assert ("candidate_users", "avery.lin@example-corp.com, sam@example-corp.com") in s.rows[0].details
    assert s.rows[2].what == "SetIamPolicy"


def test_count_covers_all_rows_when_truncated() -> None:
    body = build_message("json", summary(max_rows=1))
    assert body["result_count"] == 3 and len(body["rows"]) == 1 and body["rows_truncated"] is True


def test_json_message() -> None:
    body = build_message("json", summary())
    assert body["alert"] == "guardrail_repeated_denials" and body["severity"] == "high"
    assert body["results_link"] == LINK
    assert body["rows"][0]["confidence"] == "0.92"


def test_slack_escapes_mentions_and_links() -> None:
    body = build_message("slack", summary())
    texts = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    joined = "\n".join(texts)
    assert "<!channel>" not in joined and "&lt;!channel&gt;" in joined
    assert texts[-1] == f"<{LINK}|Open the results in Splunk>"
    assert body["text"] == "[HIGH] guardrail_repeated_denials: 3 results"


def test_teams_adaptive_card_escapes_markdown_links() -> None:
    body = build_message("teams", summary())
    card = body["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["actions"][0]["url"] == LINK
    row_text = card["body"][3]["items"][0]["text"]
    assert row_text == r"198.51.100.7: \<!channel\> \*bold\* \[x\]\(https://evil.example\)"


@pytest.mark.parametrize("link", ["javascript:alert(1)", "https://x.example/a|b>", ""])
def test_unsafe_results_link_dropped(link: str) -> None:
    s = summarise("a", "high", Results(tuple(ROWS), 3), 5, link)
    assert build_message("json", s)["results_link"] == ""
    assert not any("Open the results" in str(b) for b in build_message("slack", s)["blocks"])


def test_clip_bounds_length_and_strips_control_characters() -> None:
    assert clip("a\x00b\x1b[31mc") == "a b [31mc"
    assert len(clip("x" * 1000)) == 160


def test_only_shown_fields_are_read(tmp_path: Path) -> None:
    path = tmp_path / "results.csv.gz"
    with gzip.open(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["_raw", "identified_user", "candidate_users", "__mv_candidate_users"])
        writer.writerow(["x" * 5000, "a", "a\nb", "$a$;$b$"])
    results = read_results(str(path), 5, SHOWN_FIELDS)
    assert [dict(r) for r in results.rows] == [{"identified_user": "a", "candidate_users": "a\nb"}]
    assert "_raw" not in SHOWN_FIELDS and "identified_user" in SHOWN_FIELDS


@pytest.mark.parametrize("fmt", ["slack", "teams", "json"])
def test_partly_read_results_are_marked_in_every_format(fmt: str) -> None:
    whole = json.dumps(build_message(fmt, summary()))
    part = json.dumps(build_message(fmt, summary(complete=False)))
    assert "at least 3" not in whole and "read only in part" not in whole
    if fmt == "json":
        body = build_message(fmt, summary(complete=False))
        assert body["results_truncated"] is True and body["result_count"] == 3
        assert body["results_problem"] == "over 64 MiB decompressed"
        assert build_message(fmt, summary())["results_truncated"] is False
    else:
        assert "at least 3" in part and "read only in part" in part and "64 MiB decompressed" in part
