"""Hostile and careless input to the search commands (issue 10, items 6-13), over SCP v2 under the
Pythons Splunk ships (3.9 and 3.13).

Each test drives the real scripts the way splunkd does. ``commands/correlate_sdk_path.py`` is the
same correlation command on splunklib's own record path (the path the app falls back to when an
SDK lacks what the fast path needs); where a test takes both paths, both must give one answer.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Dict, List, Sequence

import pytest

from devtools.scp import ROOT, Reply, ScpSession, run_command
from tests.fixtures.aws_config.generate import FARGATE, records
from tests.fixtures.aws_config.pipeline import change_rows, lookup_rows
from tests.unit.correlate_builders import T0, Row, dhcp, gcp_row, logon, nat

CORRELATE = ROOT / "bin" / "correlatepolicydenied.py"
SDK_PATH = ROOT / "tests" / "protocol" / "commands" / "correlate_sdk_path.py"
CONFIGCOST = ROOT / "bin" / "configcost.py"
BOTH_PATHS = pytest.mark.parametrize("script", [CORRELATE, SDK_PATH], ids=["fast_path", "sdk_path"])
SDK_MARK = "record path: splunklib"
EGRESS = "203.0.113.10"
OVER_10_MIB = 10 * 1024 * 1024 + 4096
ENI = "AWS::EC2::NetworkInterface"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A chunk body as splunkd writes it (CRLF line ends, fields quoted where needed)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def body(rows: Sequence[Row]) -> str:
    header: List[str] = []
    for row in rows:
        header += [name for name in row if name not in header]
    return table(header, [[row.get(name, "") for name in header] for row in rows])


def chain(t: float, insert_id: str, internal: str, host: str, user: str) -> List[Row]:
    """A masked denied call from the egress and the NAT -> DHCP -> logon chain that names ``user``.

    No two rows share a time, and none shares one with another chain at a different ``t``.
    """
    return [gcp_row(t, ip=EGRESS, insert_id=insert_id), nat(t - 0.25, internal, EGRESS),
            logon(t - 1800.5, user, host), dhcp(t - 3600.75, internal, host)]


def insert_id(row: Dict[str, Any]) -> str:
    try:
        doc = json.loads(str(row["_raw"]))
    except ValueError:
        return "(unreadable)"
    return str(doc.get("data", doc).get("insertId"))


def verdicts(rows: Sequence[Dict[str, Any]]) -> Dict[str, tuple]:
    out: Dict[str, tuple] = {}
    for row in rows:
        key = insert_id(row)
        assert key not in out, f"{key} came out twice"
        out[key] = (row["match_status"], row["identified_user"])
    return out


def summary(messages: Sequence[Sequence[str]]) -> str:
    [line] = [m[1] for m in messages if m[1].startswith("correlatepolicydenied: rows=")]
    return line


def run_body(script: Path, python: str, data: str, args: Sequence[str] = ()) -> Reply:
    with ScpSession(script, python, list(args)) as session:
        session.getinfo()
        reply = session.execute([], finished=True, body=data)
        assert session.close() == 0, session.stderr()
    if script == SDK_PATH:
        assert any(m == ["DEBUG", SDK_MARK] for m in reply.messages)
    return reply


# --- 6. NUL characters ------------------------------------------------------------------------------


@BOTH_PATHS
def test_6_nul_characters_never_end_the_search(splunk_python: str, script: Path) -> None:
    good = chain(T0, "good", "10.1.2.3", "LAPTOP-A", "CORP\\a.b")
    held = gcp_row(T0 - 5, ip="198.51.100.9", insert_id="nul-in-raw")
    held["_raw"] = held["_raw"].replace('"ERROR"', '"ERR\0OR"')  # inside a JSON string
    noisy = dict(nat(T0 - 6, "10.9.9.9", EGRESS), user="x\0y\0z")
    reply = run_body(script, splunk_python, body([*good[:2], held, noisy, *good[2:]]))
    assert verdicts(reply.rows) == {"good": ("identified", "CORP\\a.b"), "nul-in-raw": ("unidentified", "")}
    [out] = [row for row in reply.rows if insert_id(row) == "nul-in-raw"]
    assert "\0" not in out["_raw"] and json.loads(out["_raw"])["data"]["severity"] == "ERR\ufffdOR"
    assert "repaired: 3 NUL characters read as U+FFFD" in summary(reply.messages)


def test_6_nul_characters_never_end_configcost(splunk_python: str) -> None:
    events = change_rows(records(scale=100))
    odd = dict(events[0], recipientAccountId="999999999999", eventName="Create\0NetworkInterface")
    run = run_command(CONFIGCOST, splunk_python, [], [*events, odd, *lookup_rows()], chunk_size=700)
    assert run.returncode == 0, run.stderr
    eni = {(r["account_id"], r["resource_type"]): r for r in run.rows}[(FARGATE, ENI)]
    assert (eni["continuous_cis"], eni["daily_cis_high"], eni["daily_cis_low"]) == ("1010", "530", "50")
    assert ["WARN", "configcost: 1 NUL characters read as U+FFFD"] in run.messages


# --- 7. a field over 10 MiB -------------------------------------------------------------------------


@BOTH_PATHS
def test_7_a_field_over_10_mib_never_ends_the_search(splunk_python: str, script: Path) -> None:
    good = chain(T0, "good", "10.1.2.3", "LAPTOP-A", "CORP\\a.b")
    big = gcp_row(T0 - 5, ip=EGRESS, insert_id="big")
    big["_raw"] = big["_raw"][:-1] + ', "pad": "' + "x" * OVER_10_MIB + '"}'
    text = {"_time": f"{T0 - 7:.3f}", "text": "y" * OVER_10_MIB}
    reply = run_body(script, splunk_python, body([*good[:2], big, text, *good[2:]]), ["keep_evidence=true"])
    denied = [row for row in reply.rows if row["match_status"]]
    assert verdicts(denied) == {"good": ("identified", "CORP\\a.b"), "big": ("unidentified", "")}
    [out] = [row for row in denied if insert_id(row) == "big"]
    assert out["_raw"] == big["_raw"]  # passed through whole, unparsed
    assert [len(row["text"]) for row in reply.rows if row.get("text")] == [OVER_10_MIB]
    assert "skipped: 1 oversized _raw" in summary(reply.messages)


def test_7_a_field_over_10_mib_never_ends_configcost(splunk_python: str) -> None:
    events = change_rows(records(scale=100))
    big = dict(events[0], recipientAccountId="999999999999", userAgent="z" * OVER_10_MIB)
    run = run_command(CONFIGCOST, splunk_python, [], [big, *events, *lookup_rows()], chunk_size=5000)
    assert run.returncode == 0, run.stderr
    out = {(r["account_id"], r["resource_type"]): r for r in run.rows}
    eni = out[(FARGATE, ENI)]
    assert (eni["continuous_cis"], eni["daily_cis_high"], eni["daily_cis_low"]) == ("1010", "530", "50")
    assert out[("999999999999", big["resource_type"])]["events"] == "1"  # the big row is a change like any


# --- 8. braces in option values ---------------------------------------------------------------------


@pytest.mark.parametrize("script,args,message", [
    (CORRELATE, ["window={0}"], "Invalid value for window='{0}': expected a duration such as 300, 90s, 5m, 4h"),
    (CORRELATE, ["min_confidence={}"], "Invalid value for min_confidence='{}': expected a number between 0 and 1"),
    (CORRELATE, ["evidence={0.__class__}"], "Invalid value for evidence='{0.__class__}': expected a lookup file "
                                            "name such as identity_evidence.csv"),
    (CORRELATE, ["colour={0}"], "Unrecognized option: colour={0}"),
    (CORRELATE, ["{0}={1}"], "Unrecognized option: {0}={1}"),
    (CONFIGCOST, ["snapshot_hour={0}"], "Invalid value for snapshot_hour='{0}': expected a whole number from 0 "
                                        "to 23 in ASCII digits"),
    (CONFIGCOST, ["month_days={}"], "Invalid value for month_days='{}': expected a whole number from 1 to 31 in "
                                    "ASCII digits"),
    (CONFIGCOST, ["colour={0}"], "Unrecognized option: colour={0}"),
], ids=["window", "min_confidence", "evidence", "unknown", "name", "snapshot_hour", "month_days", "cc-unknown"])
def test_8_braces_in_options_keep_their_message(splunk_python: str, script: Path, args: List[str],
                                                message: str) -> None:
    with ScpSession(script, splunk_python, args) as session:
        info = session.getinfo()
        assert info.messages == [["ERROR", message]]  # the message itself, not a traceback
        assert session.close() == 1


# --- 9. strictly descending times ---------------------------------------------------------------------


def _descending_stream() -> List[List[Row]]:
    """Three chunks, newest first, no two rows at the same time: two denied calls with their chains,
    then filler evidence every 7.3 s down to four hours before the first call."""
    rows = chain(T0, "first", "10.1.2.3", "LAPTOP-A", "CORP\\a.b") + chain(T0 - 600, "second", "10.1.2.4",
                                                                             "LAPTOP-B", "CORP\\c.d")
    rows += [nat(T0 - 1 - 7.3 * k, f"10.7.{k // 200}.{k % 200 + 2}", "198.51.100.77") for k in range(2000)]
    rows.sort(key=lambda r: -float(r["_time"]))
    times = [float(r["_time"]) for r in rows]
    assert len(set(times)) == len(times) and times == sorted(times, reverse=True)
    cut1 = next(i for i, t in enumerate(times) if t < T0 - 3600)
    cut2 = next(i for i, t in enumerate(times) if t < T0 - 2.5 * 3600)
    return [rows[:cut1], rows[cut1:cut2], rows[cut2:]]


def test_9_strictly_descending_input_is_recognised_as_ordered(splunk_python: str) -> None:
    chunks = _descending_stream()
    with ScpSession(CORRELATE, splunk_python, ["lookback=2h"]) as session:
        session.getinfo()
        replies = [session.execute(chunk) for chunk in chunks] + [session.execute([], finished=True)]
        assert session.close() == 0
    # released once the stream is lookback + skew older than each call (in the second chunk), not at the end
    assert [verdicts(r.rows) for r in replies] == [
        {}, {"first": ("identified", "CORP\\a.b"), "second": ("identified", "CORP\\c.d")}, {}, {}]
    assert summary(replies[-1].messages).endswith("order=descending")


# --- 10. a broken _time on a denied row ---------------------------------------------------------------


@pytest.mark.parametrize("bad_time", ["nan", "NaN", "inf", "-inf", "1e20", "-1e20", "١٧٩٠٠٠٠٠٠٠"])
def test_10_a_denied_row_with_a_broken_time_goes_out_and_holds_nothing_back(splunk_python: str,
                                                                             bad_time: str) -> None:
    chunks = _descending_stream()
    broken = dict(gcp_row(T0 + 30, ip=EGRESS, insert_id="broken"), _time=bad_time)
    stray = {"_time": bad_time, "text": "a row of something else"}
    late_nat = dict(nat(T0 - 900.5, "10.1.2.3", EGRESS), _time=bad_time)
    chunks[0] = [broken, stray, *chunks[0][:5], late_nat, *chunks[0][5:]]
    with ScpSession(CORRELATE, splunk_python, ["lookback=2h"]) as session:
        session.getinfo()
        replies = [session.execute(chunk) for chunk in chunks] + [session.execute([], finished=True)]
        assert session.close() == 0
    assert [verdicts(r.rows) for r in replies] == [
        {"broken": ("unidentified", "")},
        {"first": ("identified", "CORP\\a.b"), "second": ("identified", "CORP\\c.d")}, {}, {}]
    assert replies[0].rows[0]["match_evidence"] == "denied event has no usable _time; see job inspector"
    line = summary(replies[-1].messages)
    assert "1 GCP rows with an unusable _time" in line and "1 evidence rows without a usable _time" in line
    assert line.endswith("order=descending")  # the stray row moved nothing


# --- 11. duplicate column names -----------------------------------------------------------------------


def _duplicated(rows: Sequence[Row], names: Sequence[str]) -> str:
    """A body whose header repeats each of ``names`` at its end, the repeats holding junk."""
    header: List[str] = []
    for row in rows:
        header += [name for name in row if name not in header]
    junk = {"_raw": "", "_time": "nan", "tag": "change\naudit"}
    return table(header + list(names),
                 [[row.get(name, "") for name in header] + [junk.get(name, "x") for name in names] for row in rows])


@BOTH_PATHS
def test_11_duplicate_columns_keep_the_first(splunk_python: str, script: Path) -> None:
    rows = chain(T0, "good", "10.1.2.3", "LAPTOP-A", "CORP\\a.b")
    reply = run_body(script, splunk_python, _duplicated(rows, ["_raw", "_time", "tag"]))
    assert verdicts(reply.rows) == {"good": ("identified", "CORP\\a.b")}
    assert json.loads(reply.rows[0]["_raw"]) == json.loads(rows[0]["_raw"])
    assert reply.body.splitlines()[0].split(",").count("_raw") == 1
    assert "repaired: 3 duplicate column names (first kept)" in summary(reply.messages)


def test_11_both_record_paths_answer_alike(splunk_python: str) -> None:
    rows = chain(T0, "good", "10.1.2.3", "LAPTOP-A", "CORP\\a.b") + chain(T0 - 60, "nul", "10.1.2.4", "L-B", "c.d")
    rows[4]["_raw"] = rows[4]["_raw"].replace('"ERROR"', '"\0"')
    rows.sort(key=lambda r: -float(r["_time"]))
    data = _duplicated(rows, ["_raw", "tag"])
    data += '1789992799.75,"ragged row"\r\n1789992799.5,bare\rreturn,,\r\n'
    fast = run_body(CORRELATE, splunk_python, data, ["keep_evidence=true"])
    sdk = run_body(SDK_PATH, splunk_python, data, ["keep_evidence=true"])
    assert fast.rows == sdk.rows
    assert [m for m in fast.messages if m[0] != "DEBUG"] == [m for m in sdk.messages if m[0] != "DEBUG"]
    line = summary(fast.messages)
    for part in ("skipped: 2 rows with a wrong column count", "1 NUL characters read as U+FFFD",
                 "2 duplicate column names (first kept)", "1 rows with a carriage return outside quotes"):
        assert part in line
    assert [row["_raw"] for row in fast.rows if row["_time"] == "1789992799.5"] == ["bare\rreturn"]
    assert any(m[1] == "correlatepolicydenied: column _raw appears more than once in the input; the first is used"
               for m in fast.messages)
    assert line.endswith("order=descending")


# --- 12. configcost on broken numbers and nested JSON -------------------------------------------------


def test_12_configcost_counts_bad_rows_and_still_answers(splunk_python: str) -> None:
    events = change_rows(records(scale=100))
    template = dict(events[0], recipientAccountId="999999999999")
    bad = [dict(template, _time=value) for value in ("nan", "inf", "-inf", "1e20", "-1e20", "١٧٩٠٠٠٠٠٠٠")]
    bad.append(dict(template, cis_per_call="1" * 30))
    nested = dict(template, resource_id="", _raw='{"a":' * 50_000 + "1" + "}" * 50_000)
    run = run_command(CONFIGCOST, splunk_python, [], [*bad, nested, *events, *lookup_rows()], chunk_size=600)
    assert run.returncode == 0, run.stderr
    out = {(r["account_id"], r["resource_type"]): r for r in run.rows}
    eni = out[(FARGATE, ENI)]
    assert (eni["continuous_cis"], eni["daily_cis_high"], eni["daily_cis_low"]) == ("1010", "530", "50")
    odd = out[("999999999999", template["resource_type"])]
    assert (odd["events"], odd["unattributed_events"], odd["continuous_cis"]) == ("1", "1", "1")
    warnings = [m[1] for m in run.messages if m[0] == "WARN"]
    assert any(w.startswith("configcost: skipped 7 row(s): BadChange; first: _time is not a usable time")
               for w in warnings)
    assert "configcost: 1 change(s) with an unreadable _raw counted without a resource id" in warnings


# --- 13. other scripts' digits ------------------------------------------------------------------------


@pytest.mark.parametrize("spelling,named", [
    ("203.0.113.10", True), ("٢٠٣.٠.١١٣.١٠", False), ("２０３．０．１１３．１０", False),
    ("２０３.０.１１３.１０", False), ("203.0.113.١٠", False), ("::ffff:203.0.113.١٠", False),
])
def test_13_only_ascii_digits_make_an_address(splunk_python: str, spelling: str, named: bool) -> None:
    rows = chain(T0, "call", "10.1.2.3", "LAPTOP-A", "CORP\\a.b")
    rows[1]["src_translated_ip"] = spelling  # the NAT record that would tie the call to LAPTOP-A
    run = run_command(CORRELATE, splunk_python, [], rows)
    assert run.returncode == 0, run.stderr
    assert verdicts(run.rows) == {"call": ("identified", "CORP\\a.b") if named else ("unidentified", "")}
    lookalike = gcp_row(T0, ip=spelling, insert_id="lookalike")  # the call's own address spelled so
    run = run_command(CORRELATE, splunk_python, [], [lookalike, *rows[1:]])
    [row] = run.rows
    assert row["caller_ip"] == ("203.0.113.10" if named else spelling)
    assert (row["match_status"] == "identified") == named


@pytest.mark.parametrize("script,args,message", [
    (CORRELATE, ["window=٥m"], "Invalid value for window='٥m': expected a duration such as 300, 90s, 5m, 4h"),
    (CORRELATE, ["max_buffer=１０"], "Invalid value for max_buffer='１０': expected a whole number"),
    (CORRELATE, ["min_confidence=٠.٥"], "Invalid value for min_confidence='٠.٥': expected a number between 0 "
                                        "and 1"),
    (CONFIGCOST, ["snapshot_hour=٥"], "Invalid value for snapshot_hour='٥': expected a whole number from 0 to 23 "
                                      "in ASCII digits"),
    (CONFIGCOST, ["month_days=３０"], "Invalid value for month_days='３０': expected a whole number from 1 to 31 "
                                      "in ASCII digits"),
], ids=["window", "max_buffer", "min_confidence", "snapshot_hour", "month_days"])
def test_13_only_ascii_digits_make_an_option_value(splunk_python: str, script: Path, args: List[str],
                                                   message: str) -> None:
    with ScpSession(script, splunk_python, args) as session:
        info = session.getinfo()
        assert info.messages == [["ERROR", message]]
        assert session.close() == 1


# --- 14. escapes, spellings, clocks and files no splunkd writes but logs and admins do --------------


@BOTH_PATHS
@pytest.mark.parametrize("field", ["callerIp", "principalEmail", "methodName"])
def test_14_lone_surrogate_and_nul_escapes_in_raw_go_out_as_u_fffd(splunk_python: str, script: Path,
                                                                   field: str) -> None:
    good = chain(T0, "good", "10.1.2.3", "LAPTOP-A", "CORP\\a.b")
    odd = gcp_row(T0 - 5, ip="198.51.100.9", principal="someone@example-corp.com", insert_id="odd")
    doc = json.loads(odd["_raw"])
    payload = doc["data"]["protoPayload"]
    where = {"callerIp": payload["requestMetadata"], "principalEmail": payload["authenticationInfo"],
             "methodName": payload}[field]
    where[field] = "x\ud800y\x00z"
    odd["_raw"] = json.dumps(doc)  # ASCII: the surrogate and the NUL travel as \u escapes
    assert "\\ud800" in odd["_raw"] and "\\u0000" in odd["_raw"]
    reply = run_body(script, splunk_python, body([*good[:2], odd, *good[2:]]))
    out = {insert_id(row): row for row in reply.rows}
    assert set(out) == {"good", "odd"} and out["good"]["identified_user"] == "CORP\\a.b"
    shown = {"callerIp": "caller_ip", "principalEmail": "gcp_principal", "methodName": "gcp_method"}[field]
    assert out["odd"][shown] == "x\ufffdy\ufffdz"


@pytest.mark.parametrize("how", ["oversized", "deep"])
def test_14_an_unreadable_denied_entry_in_the_slash_spelling_still_goes_out(splunk_python: str, how: str) -> None:
    good = chain(T0, "good", "10.1.2.3", "LAPTOP-A", "CORP\\a.b")
    raw = ('{"logName": "projects/p/logs/cloudaudit.googleapis.com/policy", "insertId": "vpcsc", "protoPayload": '
           '{"status": {"code": 7, "details": [{"violations": [{"type": "VPC_SERVICE_CONTROLS"}]}]}')
    raw += (', "pad": "' + "x" * (5 * 1024 * 1024) + '"}}' if how == "oversized" else ', "deep": ' + "[" * 100_000
            + "]" * 100_000 + "}}")
    denied = {"_time": f"{T0 - 5:.3f}", "_raw": raw, "sourcetype": "google:gcp:pubsub:message", "host": "hf-1"}
    reply = run_body(CORRELATE, splunk_python, body([*good[:2], denied, *good[2:]]))
    statuses = sorted(row["match_status"] for row in reply.rows)
    assert statuses == ["identified", "unidentified"], statuses


def test_14_a_count_option_past_every_bound_gets_the_bounds_message(splunk_python: str) -> None:
    with ScpSession(CORRELATE, splunk_python, ["max_buffer=" + "9" * 5000]) as session:
        info = session.getinfo()
        assert [m[0] for m in info.messages] == ["ERROR"]
        assert "must be between 1 and 10000000" in info.messages[0][1]
        assert session.close() == 1


@pytest.mark.parametrize("content", ["nul", "long_field", "not_utf8"])
def test_14_an_evidence_lookup_with_odd_content_is_read_or_refused_with_a_message(
        splunk_python: str, tmp_path: Path, content: str) -> None:
    import shutil

    app = tmp_path / "app"
    shutil.copytree(ROOT / "bin", app / "bin", ignore=shutil.ignore_patterns("__pycache__"))
    (app / "lookups").mkdir()
    text = {"nul": "x\0y", "long_field": "z" * OVER_10_MIB, "not_utf8": "caf\udce9"}[content]
    rows = [logon(T0 - 1800.5, "CORP\\a.b", "LAPTOP-A"), dhcp(T0 - 3600.75, "10.1.2.3", "LAPTOP-A")]
    header = ["_time", "tag", "sourcetype", "user", "dest", "src", "dest_ip", "dest_nt_host", "lease_duration",
              "note"]
    lines = [",".join(header)]
    for row in rows:
        lines.append(",".join('"' + str(row.get(name, "")).replace('"', '""') + '"' for name in header[:-1])
                     + ',"' + text + '"')
    (app / "lookups" / "extra.csv").write_bytes("\r\n".join(lines).encode("utf-8", "surrogateescape"))
    script = app / "bin" / CORRELATE.name
    good = [gcp_row(T0, ip=EGRESS, insert_id="good"), nat(T0 - 0.25, "10.1.2.3", EGRESS)]
    with ScpSession(script, splunk_python, ["evidence=extra"]) as session:
        info = session.getinfo()
        assert not [m for m in info.messages if m[0] == "ERROR"], info.messages
        reply = session.execute([], finished=True, body=body(good))
        assert session.close() == 0, session.stderr()
    assert verdicts(reply.rows) == {"good": ("identified", "CORP\\a.b")}


@BOTH_PATHS
def test_14_a_bare_carriage_return_in_a_line_holding_every_private_use_character(splunk_python: str,
                                                                                   script: Path) -> None:
    good = chain(T0, "good", "10.1.2.3", "LAPTOP-A", "CORP\\a.b")
    every = "".join(chr(c) for c in range(0xE000, 0xF900))
    odd = {"_time": f"{T0 - 7:.3f}", "text": "a"}
    data = body([*good[:2], odd, *good[2:]]).replace(',a,', ',a\r' + every + ',', 1)
    assert "\r" + every in data
    reply = run_body(script, splunk_python, data)
    assert verdicts(reply.rows) == {"good": ("identified", "CORP\\a.b")}


def test_14_one_row_with_a_wrong_plausible_time_changes_no_verdict(splunk_python: str) -> None:
    rows = chain(T0, "good", "10.1.2.3", "LAPTOP-A", "CORP\\a.b")
    broken_clock = dict(nat(0.0, "10.9.9.9", "198.51.100.50"))  # a device whose clock says 1970
    with ScpSession(CORRELATE, splunk_python, []) as session:
        session.getinfo()
        replies = [session.execute([], body=body(rows[:2])), session.execute([], body=body([broken_clock])),
                   session.execute([], finished=True, body=body(rows[2:]))]
        assert session.close() == 0, session.stderr()
    out = [row for reply in replies for row in reply.rows]
    assert verdicts(out) == {"good": ("identified", "CORP\\a.b")}


@pytest.mark.parametrize("args", [["window"], ["lookback", "6h"], ["window=5m", "avery.lin"]])
def test_14_a_bare_word_is_an_error_not_a_default(splunk_python: str, args: List[str]) -> None:
    with ScpSession(CORRELATE, splunk_python, args) as session:
        info = session.getinfo()
        assert [m[0] for m in info.messages] == ["ERROR"], info.messages
        assert "takes options as name=value and no field names" in info.messages[0][1]
        assert session.close() == 1
