"""output: one header per chunk with every output field, multivalue encoding, input columns kept."""

from __future__ import annotations

import pytest
from guardrail.correlate.engine import Correlator
from guardrail.correlate.model import OUTPUT_FIELDS, Released, Verdict
from guardrail.correlate.options import Options
from guardrail.correlate.render import ChunkTable, encode_mv, output_fields, to_record

from tests.unit.correlate_builders import T0, as_table, gcp_row, nat, signin


def test_encode_mv_like_splunk() -> None:
    assert encode_mv([]) == ("", "")
    assert encode_mv(["a"]) == ("a", "")
    assert encode_mv(["a", "b$c"]) == ("a\nb$c", "$a$;$b$$c$")


def test_output_fields_of_evidence_rows_are_empty_but_present() -> None:
    fields = output_fields(None, None)
    assert list(fields) == list(OUTPUT_FIELDS)
    assert fields["candidate_users"] == [] and fields["match_status"] == ""
    assert fields["identified_user_key"] == ""


def test_identified_user_key_comes_right_after_identified_user() -> None:
    assert OUTPUT_FIELDS.index("identified_user_key") == OUTPUT_FIELDS.index("identified_user") + 1


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
    assert table.header.index("identified_user_key") == table.header.index("identified_user") + 2  # after its __mv_


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


def verdict(status: str, user: str, candidates: tuple = ()) -> Verdict:
    return Verdict(status, user, "", 1.0 if user else 0.4, candidates, ())


@pytest.mark.parametrize("status", ["identified", "not_masked"])
def test_three_spellings_of_one_person_give_one_key(status: str) -> None:
    spellings = ["avery.lin@example-corp.com", "avery.lin", "CORP\\avery.lin", "Avery.Lin@Example-Corp.com"]
    fields = [output_fields(None, verdict(status, name)) for name in spellings]
    assert [f["identified_user"] for f in fields] == spellings  # spelled as the evidence spelled it
    assert {f["identified_user_key"] for f in fields} == {"avery.lin"}


def test_service_account_principal_keeps_its_domain() -> None:
    sa = "Terraform-CI@platform-shared-ops.iam.gserviceaccount.com"
    fields = output_fields(None, verdict("not_masked", sa))
    assert fields["identified_user"] == sa
    assert fields["identified_user_key"] == "terraform-ci@platform-shared-ops.iam.gserviceaccount.com"
    other = output_fields(None, verdict("not_masked", "terraform-ci@data-prod.iam.gserviceaccount.com"))
    assert other["identified_user_key"] != fields["identified_user_key"]
    agent = "service-602214076417@gcp-sa-notebooks.iam.gserviceaccount.com"
    assert output_fields(None, verdict("identified", agent))["identified_user_key"] == agent


@pytest.mark.parametrize(
    ("status", "candidates"),
    [("ambiguous", ("CORP\\morgan.silva", "CORP\\riley.novak")), ("unidentified", ("avery.lin",)),
     ("unidentified", ())],
)
def test_key_is_empty_unless_someone_is_named(status: str, candidates: tuple) -> None:
    fields = output_fields(None, verdict(status, "", candidates))
    assert fields["identified_user"] == "" and fields["identified_user_key"] == ""
    # even a name left in a non-naming verdict never becomes a key
    assert output_fields(None, verdict(status, "avery.lin", candidates))["identified_user_key"] == ""


def test_engine_gives_one_key_for_one_person_across_denied_events() -> None:
    spellings = {"d1": ("198.51.100.7", "avery.lin@example-corp.com"), "d2": ("198.51.100.8", "avery.lin"),
                 "d3": ("198.51.100.9", "CORP\\avery.lin")}
    rows = []
    for i, (iid, (ip, name)) in enumerate(spellings.items()):
        t = T0 + 600 * i
        rows += [gcp_row(t, ip=ip, insert_id=iid), signin(t - 60, name, ip)]
    rows.sort(key=lambda r: -float(r["_time"]))
    header, table = as_table(rows)
    engine = Correlator(Options())
    released = engine.feed_rows(header, table) + engine.finish()
    records = {item.entry.insert_id: to_record(item) for item in released if item.entry is not None}
    assert {iid: r["identified_user"] for iid, r in records.items()} == {iid: n for iid, (_, n) in spellings.items()}
    assert {r["match_status"] for r in records.values()} == {"identified"}
    assert {r["identified_user_key"] for r in records.values()} == {"avery.lin"}
    index = {n: i for i, n in enumerate(ChunkTable(released).header)}
    assert {row[index["identified_user_key"]] for row in ChunkTable(released).rows()} == {"avery.lin"}
