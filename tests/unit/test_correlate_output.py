"""output: one header per chunk with every output field, multivalue encoding, input columns kept."""

from __future__ import annotations

from correlate_builders import T0, as_table, gcp_row, nat
from guardrail.correlate import Correlator, Released
from guardrail.model import OUTPUT_FIELDS, Verdict
from guardrail.options import Options
from guardrail.output import ChunkTable, encode_mv, output_fields


def test_encode_mv_like_splunk() -> None:
    assert encode_mv([]) == ("", "")
    assert encode_mv(["a"]) == ("a", "")
    assert encode_mv(["a", "b$c"]) == ("a\nb$c", "$a$;$b$$c$")


def test_output_fields_of_evidence_rows_are_empty_but_present() -> None:
    fields = output_fields(None, None)
    assert list(fields) == list(OUTPUT_FIELDS)
    assert fields["candidate_users"] == [] and fields["match_status"] == ""


def test_chunk_table_unions_headers_and_fills_every_output_field() -> None:
    engine = Correlator(Options(keep_evidence=True))
    h1, t1 = as_table([gcp_row(T0, ip="198.51.100.7")])
    h2, t2 = as_table([nat(T0 - 1, "10.1.2.3", "203.0.113.10")])
    released = engine.feed_rows(h1, t1) + engine.feed_rows(h2, t2) + engine.finish()
    table = ChunkTable(released)
    for name in OUTPUT_FIELDS:
        assert name in table.header and "__mv_" + name in table.header
    assert "src_translated_ip" in table.header and "_raw" in table.header
    rows = table.rows()
    assert all(len(r) == len(table.header) for r in rows)
    index = {n: i for i, n in enumerate(table.header)}
    statuses = sorted(r[index["match_status"]] for r in rows)
    assert statuses == ["", "unidentified"]


def test_multivalue_output_columns() -> None:
    verdict = Verdict("ambiguous", "", "", 0.425, ("a.b", "c.d"), ("line one", "line two"))
    item = Released(("x",), ("1",), None, None, verdict)
    table = ChunkTable([item])
    [row] = table.rows()
    index = {n: i for i, n in enumerate(table.header)}
    assert row[index["candidate_users"]] == "a.b\nc.d"
    assert row[index["__mv_candidate_users"]] == "$a.b$;$c.d$"
    assert row[index["match_confidence"]] == "0.425"
    assert row[index["x"]] == "1"
