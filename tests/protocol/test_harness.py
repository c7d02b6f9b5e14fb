"""The SCP v2 harness speaks the wire format splunklib expects, both ways."""

from __future__ import annotations

from pathlib import Path

from devtools.scp import decode_mv, decode_rows, encode_mv, encode_rows, run_command

PASSTHROUGH = Path(__file__).parent / "commands" / "passthrough.py"


def test_multivalue_encoding_round_trips_dollars_and_semicolons() -> None:
    values = ["a$b", "c;d", "", "$$"]
    assert encode_mv(values) == "$a$$b$;$c;d$;$$;$$$$$$"
    assert decode_mv(encode_mv(values)) == values


def test_rows_round_trip_with_multivalue_columns() -> None:
    rows = [{"_time": "1", "tag": ["network", "session"]}, {"_time": "2", "text": "x,\"y\"\nz"}]
    body = encode_rows(rows)
    assert body.splitlines()[0] == "_time,tag,text,__mv_tag"
    decoded = decode_rows(body)
    assert decoded[0]["tag"] == ["network", "session"]
    assert decoded[1]["text"] == "x,\"y\"\nz"


def test_command_answers_each_chunk_once(splunk_python: str) -> None:
    rows = [{"_time": str(1700000000 - i), "n": str(i), "tag": ["a", "b$c"]} for i in range(25)]
    run = run_command(PASSTHROUGH, splunk_python, [], rows, chunk_size=10)
    assert run.returncode == 0, run.stderr
    assert run.getinfo.metadata["type"] == "streaming"
    assert len(run.replies) == 3
    assert [r["n"] for r in run.rows] == [str(i) for i in range(25)]
    assert all(r["seen_by"] == "passthrough" for r in run.rows)
    assert run.rows[0]["tag"] == ["a", "b$c"]
    assert run.replies[-1].metadata.get("finished") is True
