"""Fuzz of the chunk reader under the Pythons Splunk ships: random bytes, NUL, huge fields, ragged
rows, odd times and stray quotes in the chunks of a correlatepolicydenied search.

Each seed builds a newest-first stream of masked denied calls with their evidence, scatters hostile
rows and bytes through it and cuts it into chunks of random size. Whatever arrives, the command
answers every chunk and exits 0; every denied row the fuzzer left intact comes out exactly once
with a verdict; no row comes out twice; and what was skipped or repaired is counted in the job
inspector. Both record paths are fuzzed (the SDK's on fewer seeds).
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence

import pytest

from devtools.scp import ROOT, ScpSession
from tests.unit.correlate_builders import T0, Row, dhcp, fdr, gcp_row, logon, nat, proxy

CORRELATE = ROOT / "bin" / "correlatepolicydenied.py"
SDK_PATH = ROOT / "tests" / "protocol" / "commands" / "correlate_sdk_path.py"
HEADER = ["_time", "_raw", "sourcetype", "host", "tag", "event_simpleName", "ComputerName", "aip", "DomainName",
          "src_ip", "src_translated_ip", "dest_ip", "dest_port", "dest_nt_host", "dest_mac", "lease_duration",
          "user", "dest", "src", "url", "app", "action", "http_user_agent", "text", "__mv_tag"]
EGRESS = "203.0.113.10"
#: ``_time`` values no event can have; a denied row given one goes out at once, counted.
UNUSABLE_TIMES = ["nan", "NaN", "inf", "-inf", "Infinity", "1e20", "-1e20", "1e308", "-5", "١٧٩٠٠٠٠٠٠٠",
                  "１７９０００００００", "yesterday", "0x6a", "  "]
#: ``_time`` values of other rows: the unusable ones, none at all, and usable but far out of order.
ODD_TIMES = [*UNUSABLE_TIMES, "", "0", "-0", "4102444799", "1790000000.000000000001"]


@dataclass
class Stream:
    chunks: List[bytes] = field(default_factory=list)
    intact: List[str] = field(default_factory=list)  # insertIds of denied rows left as they were
    touched: int = 0  # denied rows the fuzzer changed: out at most once
    unusable_time: int = 0  # denied rows left with an unusable _time (exactly these are counted as such)
    ragged: int = 0  # rows given a wrong number of fields on purpose (garbage lines add more)


def _usable(text: str) -> bool:
    """Whether the command may take ``text`` as a ``_time`` (the rule docs/commands states)."""
    try:
        t = float(text)
    except ValueError:
        return False
    return text.isascii() and 0 <= t < 4102444800


def _line(values: Sequence[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue().encode("utf-8")


def _values(row: Row) -> List[str]:
    values = [row.get(name, "") for name in HEADER]
    if "\n" in row.get("tag", ""):
        values[-1] = "$" + "$;$".join(row["tag"].split("\n")) + "$"
    return values


def _traffic(rng: random.Random, calls: int) -> List[Row]:
    rows: List[Row] = []
    for n in range(calls):
        t = T0 - n * rng.uniform(20, 400)
        ip, host, user = f"10.1.{n // 200}.{n % 200 + 2}", f"LAPTOP-{n}", f"CORP\\user{n}"
        rows += [gcp_row(t, ip=EGRESS, insert_id=f"call-{n}"), nat(t - 0.5, ip, EGRESS),
                 logon(t - 1200, user, host), dhcp(t - 2400, ip, host),
                 proxy(t - 1, "", ip, "compute.googleapis.com"), fdr(t - 3, "DnsRequest", host, domain="x.example")]
        rows.append({"_time": f"{t - 2:.3f}", "text": "an event of something else"})
    rows.sort(key=lambda r: -float(r["_time"]))
    return rows


def _garbage(rng: random.Random) -> bytes:
    """A line of random bytes (any but a quote or a newline: those would re-cut the rows after it)."""
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
    return data.replace(b'"', b"").replace(b"\n", b"") + b"\r\n"


def _random_text(rng: random.Random, size: int) -> str:
    return bytes(rng.randrange(256) for _ in range(size)).decode("latin-1")


def build(seed: int) -> Stream:
    rng = random.Random(seed)
    stream = Stream()
    records: List[bytes] = []
    huge_left = 1 if seed % 4 == 1 else 0
    for row in _traffic(rng, calls=rng.randrange(15, 40)):
        denied = "_raw" in row
        values = _values(row)
        roll = rng.random()
        if roll < 0.55:
            records.append(_line(values))
            if denied:
                stream.intact.append(json.loads(row["_raw"])["data"]["insertId"])
        else:
            stream.touched += denied
            what = rng.choice(["nul", "ragged", "time", "quoted", "huge"] if huge_left else
                              ["nul", "ragged", "time", "quoted"])
            i = rng.randrange(len(values))
            if what == "nul":
                values[i] = values[i][: len(values[i]) // 2] + "\0" + values[i][len(values[i]) // 2:]
            elif what == "ragged":
                stream.ragged += 1
                values = values[: rng.randrange(len(values))] if rng.random() < 0.5 else values + ["extra"] * 3
            elif what == "time":
                values[0] = rng.choice(UNUSABLE_TIMES if denied else ODD_TIMES)
            elif what == "quoted":
                values[rng.choice([2, 3, 22, 23])] = _random_text(rng, rng.randrange(1, 400))
            else:
                huge_left -= 1
                values[HEADER.index("text")] = "h" * (10 * 1024 * 1024 + 512)
            records.append(_line(values))
            stream.unusable_time += denied and len(values) > 1 and not _usable(values[0].replace("\0", "\ufffd"))
        if rng.random() < 0.15:
            records.append(_garbage(rng))
    header = _line(HEADER)
    i = 0
    while i < len(records):
        size = rng.randrange(1, 120)
        body = header + b"".join(records[i:i + size])
        if rng.random() < 0.2:  # a stray quote after the chunk's last row swallows only the rest of the line
            body += b'"' + _random_text(rng, 30).replace('"', "").encode("utf-8", "replace")
        stream.chunks.append(body)
        i += size
    return stream


def drive(script: Path, python: str, stream: Stream) -> tuple:
    with ScpSession(script, python) as session:
        session.getinfo()
        replies = [session.execute([], finished=n == len(stream.chunks) - 1, body=chunk)
                   for n, chunk in enumerate(stream.chunks)]
        code = session.close()
    return replies, code


def _insert_id(raw: str) -> str:
    try:
        return str(json.loads(raw)["data"]["insertId"])
    except (ValueError, KeyError, TypeError):
        return ""


def check(stream: Stream, replies: list, code: int) -> None:
    assert code == 0
    rows = [row for reply in replies for row in reply.rows]
    raws = [str(row["_raw"]) for row in rows]
    assert len(set(raws)) == len(raws), "a row came out twice"
    assert all(row["match_status"] for row in rows)  # denied events only, each with a verdict
    ids: Dict[str, int] = {}
    for raw in raws:
        key = _insert_id(raw)
        ids[key] = ids.get(key, 0) + 1
    for key in stream.intact:
        assert ids.get(key) == 1, f"{key} came out {ids.get(key, 0)} times"
    assert len(rows) <= len(stream.intact) + stream.touched
    [line] = [m[1] for reply in replies for m in reply.messages if m[1].startswith("correlatepolicydenied: rows=")]
    nul = sum(chunk.count(b"\0") for chunk in stream.chunks)
    if nul:
        assert f" {nul} NUL characters read as U+FFFD" in line
    if stream.unusable_time:
        assert f" {stream.unusable_time} GCP rows with an unusable _time" in line
    ragged = re.search(r" (\d+) rows with a wrong column count", line)
    assert (int(ragged.group(1)) if ragged else 0) >= stream.ragged


@pytest.mark.parametrize("seed", range(12))
def test_fuzzed_chunks_on_the_fast_path(splunk_python: str, seed: int) -> None:
    stream = build(seed)
    assert stream.intact and len(stream.chunks) > 1
    check(stream, *drive(CORRELATE, splunk_python, stream))


@pytest.mark.parametrize("seed", range(4))
def test_fuzzed_chunks_on_the_sdk_record_path(splunk_python: str, seed: int) -> None:
    stream = build(seed)
    fast = drive(CORRELATE, splunk_python, stream)
    sdk = drive(SDK_PATH, splunk_python, stream)
    check(stream, *sdk)
    assert _answers(sdk[0]) == _answers(fast[0])  # one answer, whichever path reads
    summaries = [[m for m in r.messages if m[0] != "DEBUG"] for r in sdk[0]]
    assert summaries == [r.messages for r in fast[0]]


def _answers(replies: list) -> List[List[tuple]]:
    """Per reply, each row's ``_raw`` and verdict fields (the rows' other columns pass through; where
    a hostile ``__mv_`` column contradicts its field, the two paths write the field differently)."""
    fields = ("match_status", "identified_user", "identified_host", "match_confidence", "candidate_users",
              "match_evidence", "caller_ip", "gcp_method", "gcp_violation")
    return [[(row["_raw"], *(str(row[f]) for f in fields)) for row in reply.rows] for reply in replies]
