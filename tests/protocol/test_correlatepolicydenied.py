"""correlatepolicydenied spawned like splunkd does (SCP v2) under Splunk's Pythons (3.9 and 3.13)."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

from devtools.scp import ROOT, ScpSession, decode_rows, frame, run_command
from tests.unit.correlate_builders import T0, dhcp, gcloud_agent, gcp_row, logon, nat, newest_first, proxy

SCRIPT = ROOT / "bin" / "correlatepolicydenied.py"
FIXTURE = ROOT / "tests" / "fixtures" / "correlate_shared_egress"
RECORDING = ROOT / "tests" / "fixtures" / "splunkd_countmatches" / "countmatches.input.gz"
OUTPUT_FIELDS = ("match_status", "identified_user", "identified_user_key", "identified_host", "match_confidence",
                 "candidate_users", "match_evidence", "caller_ip", "caller_user_agent", "gcp_project", "gcp_service",
                 "gcp_method", "gcp_resource", "gcp_principal", "gcp_violation")
EGRESS = "203.0.113.10"


def fixture_rows() -> List[Dict[str, Any]]:
    return decode_rows((FIXTURE / "input.csv").read_text(encoding="utf-8"))


def insert_id(row: Dict[str, Any]) -> str:
    try:
        doc = json.loads(row["_raw"])
    except ValueError:
        return "(unreadable)"
    return str(doc.get("data", doc).get("insertId"))


def text(value: Any) -> str:
    return value[0] if isinstance(value, list) else value


def test_getinfo_asks_to_run_on_the_search_head(splunk_python: str) -> None:
    with ScpSession(SCRIPT, splunk_python) as session:
        info = session.getinfo()
        assert info.metadata["type"] == "stateful"  # centralized streaming: never on the indexers
        assert "error" not in info.metadata and not info.messages
        session.close()


@pytest.mark.parametrize("chunk", [1, 4, 50000])
@pytest.mark.parametrize("order", ["desc", "asc"])
def test_fixture_verdicts_through_the_protocol(splunk_python: str, chunk: int, order: str) -> None:
    rows = fixture_rows()
    if order == "asc":
        rows.reverse()
    run = run_command(SCRIPT, splunk_python, [], rows, chunk_size=chunk)
    assert run.returncode == 0, run.stderr
    with (FIXTURE / "expected.csv").open(newline="") as fh:
        expected = {r["insertId"]: (r["match_status"], r["identified_user"]) for r in csv.DictReader(fh)}
    got = {insert_id(row): (text(row["match_status"]), text(row["identified_user"])) for row in run.rows}
    assert len(run.rows) == len(expected)  # evidence and the allowed audit entry are dropped, no duplicates
    assert got == expected
    for row in run.rows:
        assert set(OUTPUT_FIELDS) <= set(row)
    [first] = [row for row in run.rows if insert_id(row) == "attempt-1"]
    assert first["identified_host"] == "LAPTOP-0142" and first["caller_ip"] == "203.0.113.24"
    assert first["gcp_violation"] == "constraints/compute.vmExternalIpAccess"
    assert isinstance(first["match_evidence"], list) and any("DHCP" in e for e in first["match_evidence"])
    [same] = [row for row in run.rows if insert_id(row) == "same-second"]
    assert sorted(same["candidate_users"]) == ["CORP\\avery.lin", "CORP\\jordan.reyes"]
    # one person, two spellings (CORP\\avery.lin, avery.lin@example-corp.com): one key to group by
    keys = {insert_id(row): row["identified_user_key"] for row in run.rows}
    assert keys == {"attempt-1": "avery.lin", "attempt-2": "avery.lin", "same-second": "", "unknown-ip": "",
                    "visible": "morgan.silva", "agent": "jordan.reyes", "(unreadable)": ""}
    messages = [m for m in run.messages if m[0] in ("WARN", "INFO")]
    assert any("1 truncated or malformed _raw read in part" in m[1] for m in messages)


def test_keep_evidence_passes_every_row(splunk_python: str) -> None:
    rows = fixture_rows()
    run = run_command(SCRIPT, splunk_python, ["keep_evidence=true"], rows, chunk_size=10)
    assert run.returncode == 0, run.stderr
    assert len(run.rows) == len(rows)
    evidence = [row for row in run.rows if row.get("tag")]
    assert evidence and all(row["match_status"] == "" for row in evidence)
    assert all(isinstance(row["tag"], list) for row in evidence)  # __mv_ columns pass through


def test_held_events_wait_for_their_evidence_across_chunks(splunk_python: str) -> None:
    agent = gcloud_agent("0f4b2c3d-1111-4222-8333-944455556666")
    rows = newest_first([gcp_row(T0, ip=EGRESS, agent=agent), nat(T0, "10.1.2.3", EGRESS),
                         nat(T0, "10.1.2.4", EGRESS), proxy(T0, "", "10.1.2.3", "compute.googleapis.com", agent),
                         dhcp(T0 - 4 * 3600, "10.1.2.3", "LAPTOP-A"), logon(T0 - 3 * 3600, "a.b", "LAPTOP-A"),
                         dhcp(T0 - 4 * 3600, "10.1.2.4", "LAPTOP-B"), logon(T0 - 3 * 3600, "c.d", "LAPTOP-B")])
    with ScpSession(SCRIPT, splunk_python, ["lookback=5h"]) as session:
        session.getinfo()
        first = session.execute(rows[:4])
        assert first.rows == []  # the lease and logon have not streamed past yet
        second = session.execute(rows[4:])
        assert second.rows == []
        last = session.execute([], finished=True)  # an empty last chunk, as splunkd may send
        assert [(r["match_status"], r["identified_user"], r["identified_user_key"], r["identified_host"])
                for r in last.rows] == [("identified", "a.b", "a.b", "LAPTOP-A")]
        assert session.close() == 0


@pytest.mark.parametrize("args,words", [
    (["window=soon"], "window='soon'"), (["min_confidence=2"], "between 0 and 1"),
    (["keep_evidence=maybe"], "true or false"), (["max_buffer=-1"], "max_buffer"), (["colour=red"], "colour"),
    (["evidence=no_such_lookup"], "no lookup file no_such_lookup.csv"), (["evidence=../default/app.conf"], "evidence"),
])
def test_option_errors_reach_the_inspector(splunk_python: str, args: List[str], words: str) -> None:
    with ScpSession(SCRIPT, splunk_python, args) as session:
        info = session.getinfo()
        errors = [m[1] for m in info.messages if m[0] == "ERROR"]
        assert errors and words in errors[0]
        assert session.close() == 1


def test_bad_bytes_and_rows_never_end_the_search(splunk_python: str) -> None:
    good = gcp_row(T0, ip=EGRESS, insert_id="good")
    body = io.StringIO()
    writer = csv.writer(body, lineterminator="\r\n")
    writer.writerow(["_time", "_raw", "tag", "src_ip", "src_translated_ip"])
    writer.writerow([good["_time"], good["_raw"], "", "", ""])
    writer.writerow([str(T0 - 1), "", "network\ncommunicate", "10.1.2.3", EGRESS])
    writer.writerow(["not-a-time", "", "network\ncommunicate", "10.1.2.3", EGRESS])
    writer.writerow([str(T0 - 2), "", "something\nelse", "", ""])
    data = body.getvalue().encode("utf-8") + b"1790000000.5,\xff\xfe broken \xc3,,,\r\n"
    with ScpSession(SCRIPT, splunk_python) as session:
        session.getinfo()
        reply = session.execute([], finished=True, body=data)
        assert [insert_id(r) for r in reply.rows] == ["good"]
        assert reply.rows[0]["match_status"] == "unidentified"
        report = " ".join(m[1] for m in reply.messages)
        assert "1 evidence rows without a usable _time" in report
        assert "1 rows with tags the command does not use" in report
        assert session.close() == 0


def _recording_with_args(args: List[str]) -> bytes:
    """The real splunkd stream with our arguments in its getinfo chunk (and its byte count fixed)."""
    data = gzip.decompress(RECORDING.read_bytes())
    header, rest = data.split(b"\n", 1)
    meta_len = int(header.split(b",")[1])
    meta = json.loads(rest[:meta_len])
    meta["searchinfo"]["args"] = list(args)
    meta["searchinfo"]["raw_args"] = list(args)
    meta["searchinfo"]["dispatch_dir"] = "."
    return frame(meta) + rest[meta_len:]


@pytest.mark.parametrize("args,out", [([], 0), (["keep_evidence=true"], 500)])
def test_replay_of_a_real_splunkd_stream(splunk_python: str, args: List[str], out: int) -> None:
    data = _recording_with_args(args)
    with ScpSession(SCRIPT, splunk_python) as session:
        session.send_raw(data)
        info = session.read_reply()
        assert "error" not in info.metadata and not [m for m in info.messages if m[0] == "ERROR"]
        reply = session.read_reply()
        assert reply.metadata.get("finished") is True
        assert len(reply.rows) == out
        report = " ".join(m[1] for m in reply.messages)
        assert re.search(r"rows=500 denied=0 .*unrecognised=500", report)
        if out:
            texts = [r["text"] for r in reply.rows]
            assert any("👀" in t for t in texts) and any("\n" in t for t in texts)
            assert all(r["match_status"] == "" for r in reply.rows)
        assert session.close() == 0


def test_script_finds_its_libraries_next_to_itself(splunk_python: str, tmp_path: Path) -> None:
    # splunkd starts the command in the dispatch directory with nothing of the app on the path
    with ScpSession(SCRIPT, splunk_python, env={"PYTHONPATH": str(tmp_path)}) as session:
        assert session.getinfo().metadata["type"] == "stateful"
        session.close()
