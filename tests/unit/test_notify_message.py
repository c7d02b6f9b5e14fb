"""Messages of guardrail_notify: content, formats, escaping of hostile values, results file reading."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import Dict, List

import pytest
from guardrail.notify.config import ConfigError
from guardrail.notify.message import build_message, clip, read_results, summarise

LINK = "https://splunk.example-corp.com:8000/app/gcp_guardrail/@go?sid=abc"
ROWS: List[Dict[str, str]] = [
    {"finding": "7 denials", "identified_user": "avery.lin@example-corp.com", "match_confidence": "0.917",
     "match_status": "identified", "candidate_users": "avery.lin@example-corp.com\nsam@example-corp.com",
     "gcp_project": "ml-sandbox-7"},
    {"finding": "<!channel> *bold* [x](https://evil.example)", "actor": "198.51.100.7",
     "match_confidence": "", "gcp_project": "p2"},
    {"gcp_principal": "svc@p.iam.gserviceaccount.com", "gcp_method": "SetIamPolicy"},
]


def summary(max_rows: int = 5):  # type: ignore[no-untyped-def]
    return summarise("guardrail_repeated_denials", "high", ROWS, max_rows, LINK, "sid1", "gcp_guardrail")


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
    s = summarise("a", "high", ROWS, 5, link)
    assert build_message("json", s)["results_link"] == ""
    assert not any("Open the results" in str(b) for b in build_message("slack", s)["blocks"])


def test_clip_bounds_length_and_strips_control_characters() -> None:
    assert clip("a\x00b\x1b[31mc") == "a b [31mc"
    assert len(clip("x" * 1000)) == 160


def test_read_results_drops_mv_columns(tmp_path: Path) -> None:
    path = tmp_path / "results.csv.gz"
    with gzip.open(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["identified_user", "candidate_users", "__mv_candidate_users"])
        writer.writerow(["a", "a\nb", "$a$;$b$"])
    assert read_results(str(path)) == [{"identified_user": "a", "candidate_users": "a\nb"}]


def test_read_results_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        read_results(str(tmp_path / "missing.csv.gz"))
    assert err.value.where == "results_file"
    with pytest.raises(ConfigError):
        read_results("")
