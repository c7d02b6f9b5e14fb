"""The streaming correlation engine.

Splunk hands rows newest first, in chunks. Evidence rows are indexed as they pass; a denied
event is held until the evidence around it has streamed past, then resolved and released:

* newest first (the normal case): point evidence (NAT, EDR, proxy, sign-ins, other audit
  entries) for a call at ``t`` is complete once the stream is older than
  ``t - point_back``; interval evidence (leases, VPN sessions, logons that may have begun hours
  earlier) once it is older than ``t - lookback``. Point evidence is read at the first moment
  (:func:`guardrail.correlate.rules.gather`) so only the smaller interval evidence is kept for the
  lookback;
* ascending: both are complete once the stream is newer than ``t + forward``;
* not time-ordered (detected when a row lands more than ``slack`` on the wrong side of the
  frontier): everything is held until the end, at most ``max_buffer`` denied events, and the
  job inspector says so.

The direction is read from the first two distinct times and settles once the rows seen span more
than ``slack`` (until then a row on the other side only turns the direction round: nothing can be
released while the span is that small). Only a usable ``_time`` moves the frontier (see
:func:`epoch`): a row with ``_time=nan``, ``inf``, ``1e20`` or another script's digits is a bad
row, counted and passed on, and a denied one goes out at once as ``unidentified``, so it can never
hold back the events behind it or stop pruning. Events are released by the *second* oldest (newest,
ascending) time seen, so one row with a wrong but plausible time (``_time=0``, a device clock reset
to 1970) releases nothing early: the next row shows it was out of place.

Memory is bounded by the horizons (and ``max_buffer``), not by the number of rows.

Two ways in: :meth:`Correlator.feed_rows` takes a CSV header and value lists (the command's
fast path, no per-row dicts for evidence), :meth:`Correlator.feed_records` takes mappings (tests,
demos, the SDK's record path). Both run the same row loop: a mapping becomes a header (its keys)
and a value list, and one classifier (:meth:`_Plan.classify`) decides what every row is. Both
return :class:`Released` rows in order; call :meth:`Correlator.finish` at the end of the stream.
A column name that appears twice in a header keeps its first column (the SDK's record reader
keeps the first too); the duplicate is counted.
"""

from __future__ import annotations

import marshal
import zlib
from collections import Counter, deque
from itertools import groupby
from typing import Any, Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..errors import RowError
from .decide import not_masked, resolve
from .evidence import (
    FDR_FIELDS,
    FIELDS_BY_KIND,
    KIND_PROXY,
    cim_kind,
    mentions_google_api,
    parse_cim,
    parse_fdr,
    parse_tags,
)
from .gcp import (
    DENIED_CODES,
    FIELD_PATHS,
    MAX_RAW_CHARS,
    SUFFICIENT_PATHS,
    load_entry,
    looks_like_audit,
    parse_entry,
    salvage,
)
from .index import CHECK_BUCKET, EvidenceStore
from .model import AuditEntry, Released, Sighting, Verdict
from .netaddr import normalize_ip
from .options import Options
from .rules import Pending, gather

UNKNOWN, DESCENDING, ASCENDING, UNORDERED = "unknown", "descending", "ascending", "unordered"
#: What :meth:`_Plan.classify` says a row is (besides the CIM evidence kinds of ``cim_kind``).
ROW_GCP, ROW_FDR, ROW_UNUSED_TAGS, ROW_OTHER = "gcp", "fdr", "unused tags", "other"
#: A count of the NAT log's checks of one address and bucket (``natlog=summary``; ``natlog=checks``
#: writes one row per check in the same fields, ``nat_log_ok`` 1 or 0 and no ``nat_log_missing``), or a
#: time a translation to the address was seen (``nat_log_seen``, appended by ``guardrail_presence``).
ROW_NATLOG = "nat log checks"
NATLOG_FIELDS = ("nat_log_ip", "nat_log_ok", "nat_log_missing", "nat_log_bucket", "nat_log_seen")
#: Extracted fields any one of which (with or without ``data.``) marks a row as a Cloud Audit Logs entry.
GCP_MARKERS = ("logName", "protoPayload.methodName", "protoPayload.serviceName")
#: A usable ``_time`` lies in [1970, 2100): a later or earlier one is not an event time but a broken
#: value (``1e20``), and one such row would otherwise move the frontier past every real event.
TIME_MIN, TIME_MAX = 0.0, 4102444800.0
#: Counted reasons shared with the command's SDK record path (``bin/scp_fastpath.py``), which
#: meets the same row shapes before the rows become mappings.
WRONG_WIDTH = "bad:rows with a wrong column count"
DUPLICATE_COLUMNS = "fixed:duplicate column names (first kept)"
_INF = float("inf")
_NAN = float("nan")
# Errors odd data can raise deep in parsing or scoring; they cost a row or a verdict, never the search.
_DATA_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError)
#: Denied events held as they came; beyond this many, further ones are held compressed. Packing
#: costs ~40 us an event: paid only where the window holds many (a dense stream), not per event.
PACK_AFTER = 2000
_UNREADABLE = Verdict("unidentified", "", "", 0.0, (), ("denied event could not be read; see job inspector",))
_NO_TIME = Verdict("unidentified", "", "", 0.0, (), ("denied event has no usable _time; see job inspector",))


def epoch(text: str) -> float:
    """The epoch seconds of a ``_time`` value, or NaN when it is not a usable time.

    Usable: ASCII, a finite number, in [:data:`TIME_MIN`, :data:`TIME_MAX`). ``float`` alone would
    take ``nan``, ``inf``, ``1e20`` and other scripts' digits (``١٧٩٠٠٠٠٠٠٠``).
    """
    try:
        t = float(text)
    except ValueError:
        return _NAN
    return t if TIME_MIN <= t < TIME_MAX and text.isascii() else _NAN




class _Held:
    """A denied event waiting for its evidence.

    Once many are held (:data:`PACK_AFTER`), a row from :meth:`Correlator.feed_rows` waits as
    one zlib-compressed ``marshal`` blob of its values (``_raw`` dominates: several KiB of JSON,
    and a list of separate strings costs more than the text), rebuilt when the event is released.
    """

    __slots__ = ("entry", "header", "packed", "pending", "record", "time", "values", "verdict")

    def __init__(self, header: Tuple[str, ...], values: Sequence[Any], record: Optional[Mapping[str, Any]],
                 entry: Optional[AuditEntry], verdict: Optional[Verdict]) -> None:
        self.header = header
        self.values = values
        self.packed: Optional[bytes] = None
        self.record = record
        self.entry = entry
        self.pending: Optional[Pending] = None
        self.verdict = verdict
        self.time = entry.time if entry is not None else 0.0

    def pack(self) -> None:
        """Hold the row's values compressed (value lists of the fast path only)."""
        if self.packed is None and type(self.values) is list:
            self.packed = zlib.compress(marshal.dumps(self.values), 1)
            self.values = ()

    def released(self) -> Released:
        if self.packed is None:
            return Released(self.header, self.values, self.record, self.entry, self.verdict)
        # bytes this object marshalled itself from a list of str, never input from outside
        values = marshal.loads(zlib.decompress(self.packed))  # noqa: S302
        return Released(self.header, values, self.record, self.entry, self.verdict)


class _Plan:
    """Column positions of one CSV header, computed once per distinct header.

    A name that appears more than once keeps its first column (:attr:`duplicates` lists the
    others' names).
    """

    def __init__(self, header: Tuple[str, ...], tag_kinds: Dict[str, str]) -> None:
        pos: Dict[str, int] = {}
        self.duplicates: List[str] = []
        for i, name in enumerate(header):
            if name in pos:
                self.duplicates.append(name)
            else:
                pos[name] = i
        self.header = header
        self.width = len(header)
        self.time = pos.get("_time", -1)
        self.raw = pos.get("_raw", -1)
        self.tag = pos.get("tag", -1)
        self.esn = pos.get("event_simpleName", -1)
        # ``data.``-prefixed columns first: where both carry a value, the plain one wins
        self.gcp: List[Tuple[str, int]] = [(path, pos[name]) for prefix in ("data.", "") for path in FIELD_PATHS
                                           for name in (prefix + path,) if name in pos]
        self.gcp_markers = [i for path, i in self.gcp if path in GCP_MARKERS]
        self.cim = {kind: [(name, pos[name]) for name in names if name in pos]
                    for kind, names in FIELDS_BY_KIND.items()}
        self.fdr = [(name, pos[name]) for name in FDR_FIELDS if name in pos]
        # proxy rows to hosts that are not Google APIs are skipped before any parsing
        self.proxy_hosts = [pos[name] for name in ("dest", "url") if name in pos]
        self.natlog = [pos.get(name, -1) for name in NATLOG_FIELDS]
        self._tag_kinds = tag_kinds

    def classify(self, values: Sequence[str]) -> str:
        """What a row is: :data:`ROW_FDR`, :data:`ROW_GCP`, a CIM evidence kind, :data:`ROW_UNUSED_TAGS`
        or :data:`ROW_OTHER`. The one decision both ways into the engine use.

        ``event_simpleName`` makes a CrowdStrike FDR row; otherwise ``protoPayload`` in ``_raw`` or
        any :data:`GCP_MARKERS` field makes a Cloud Audit Logs entry; otherwise ``tag`` names the
        CIM kind (:func:`guardrail.correlate.evidence.cim_kind`).
        """
        if self.esn >= 0 and values[self.esn]:
            return ROW_FDR
        if self.natlog[0] >= 0 and values[self.natlog[0]]:
            return ROW_NATLOG
        if self.raw >= 0 and "protoPayload" in values[self.raw]:
            return ROW_GCP
        for i in self.gcp_markers:
            if values[i]:
                return ROW_GCP
        tags = values[self.tag] if self.tag >= 0 else ""
        if not tags:
            return ROW_OTHER
        kind = self._tag_kinds.get(tags)
        if kind is None:
            kind = cim_kind(parse_tags(tags)) or ROW_UNUSED_TAGS
            if len(self._tag_kinds) < 4096:
                self._tag_kinds[tags] = kind
        return kind


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return "" if value is None else str(value)


def _keys(record: Mapping[str, Any]) -> Tuple[str, ...]:
    """A mapping's keys as a header."""
    return tuple(k if isinstance(k, str) else str(k) for k in record)


def _values(record: Mapping[str, Any]) -> List[str]:
    """A mapping's values as one row of text (lists as Splunk's newline-joined multivalue text)."""
    return [_text(v) for v in record.values()]


def _extracted_suffice(extracted: Mapping[str, str]) -> bool:
    """Whether extracted fields alone describe an entry that cannot be a denied event."""
    if len(extracted) < len(SUFFICIENT_PATHS) or not all(p in extracted for p in SUFFICIENT_PATHS):
        return False
    if extracted["logName"].endswith("policy"):
        return False
    code = extracted.get("protoPayload.status.code", "")
    return not code or code.strip() not in {str(c) for c in DENIED_CODES}


#: Text only a denied audit entry carries (compared in lower case): the policy log's name in either
#: spelling, a policy violation, an org policy or VPC Service Controls constraint.
_DENIED_MARKS = ("cloudaudit.googleapis.com%2fpolicy", "cloudaudit.googleapis.com/policy", "policyviolationinfo",
                 "vpcservicecontrols")


def _count_of(text: str) -> int:
    """A check count in ASCII digits (as the check search writes it), else -1."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else -1


def _looks_denied(raw: str) -> bool:
    """Whether an unreadable GCP row was probably a denied event (so it must still go out): when in
    doubt it is, and goes out once as unreadable rather than not at all."""
    low = raw.lower()
    return any(mark in low for mark in _DENIED_MARKS) or ("constraints/" in low and "protopayload" in low)


class Correlator:
    """Correlates policy-denied GCP events with the evidence streaming past them.

    Usage: ``out = engine.feed_rows(header, rows)`` (or ``feed_records(dicts)``) per chunk, then
    ``out += engine.finish()``; ``to_record`` / ``ChunkTable`` in :mod:`guardrail.correlate.render` render it.
    """

    def __init__(self, options: Optional[Options] = None) -> None:
        self.options = options or Options()
        self.store = EvidenceStore()
        self.store.mark_reach = self.options.lookback
        health = self.store.health
        health.summary = self.options.natlog == "summary"
        if health.summary:
            health.window = self.options.natlog_window
            self.store.health_reach = self.options.natlog_window + CHECK_BUCKET
        if self.options.natlog == "checks":
            health.emitted = []
        self.stats: Counter[str] = Counter()
        self.mode = UNKNOWN
        self._lo = _INF
        self._hi = -_INF
        #: the second oldest / newest time seen: the frontier events are released by, so that one row
        #: with a wrong but plausible time (``_time=0``) cannot release every held event at once
        self._lo2 = _INF
        self._hi2 = -_INF
        #: the direction stops turning round once the rows seen span more than ``slack``
        self._settled = False
        self._held: Deque[_Held] = deque()
        self._ungathered: Deque[_Held] = deque()
        self._plans: Dict[Tuple[str, ...], _Plan] = {}
        self._tag_kinds: Dict[str, str] = {}
        self._pruned_size = 0
        #: Evidence records kept before pruning is worth a walk over every key.
        self.prune_floor = 10_000
        self._warnings: List[str] = []
        self._warned: set[str] = set()

    # ------------------------------------------------------------------ reporting

    def take_warnings(self) -> List[str]:
        """Warnings raised since the last call (for the job inspector)."""
        out, self._warnings = self._warnings, []
        return out

    def _warn_once(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self._warnings.append(text)

    def _bad(self, reason: str) -> None:
        self.stats["bad:" + reason] += 1

    def summary(self) -> str:
        """One line for the job inspector: what came in, what went out, what was skipped."""
        s = self.stats
        parts = [f"rows={s['rows']}", f"denied={s['denied']}", f"evidence={s['evidence']}",
                 f"gcp_other={s['gcp_other']}", f"unrecognised={s['other']}"]
        bad = sorted((k[4:], v) for k, v in s.items() if k.startswith("bad:"))
        if bad:
            parts.append("skipped: " + ", ".join(f"{v} {k}" for k, v in bad))
        fixed = sorted((k[6:], v) for k, v in s.items() if k.startswith("fixed:"))
        if fixed:
            parts.append("repaired: " + ", ".join(f"{v} {k}" for k, v in fixed))
        return "correlatepolicydenied: " + " ".join(parts) + f" order={self.mode}"

    @property
    def held(self) -> int:
        """Denied events currently held."""
        return len(self._held)

    # ------------------------------------------------------------------ input paths

    def feed_rows(self, header: Sequence[str], rows: Iterable[List[str]]) -> List[Released]:
        """Fast path: one CSV chunk as its header and value lists (``__mv_`` columns included).

        Per row it does as little as it can: a look at ``event_simpleName``, ``_raw`` and ``tag``
        decides the kind; only GCP rows are parsed as JSON; evidence rows copy out just the
        fields their kind reads.
        """
        plan = self._plan(tuple(header))
        if plan.duplicates:
            self.columns_repeated(plan.duplicates)
        return self._feed(plan, rows, None)

    def columns_repeated(self, names: Sequence[str]) -> None:
        """Count the column names one chunk's header repeats; the first column of each is used.

        :meth:`feed_rows` calls it itself; a reader that turns rows into mappings (and so drops the
        repeats) calls it with what it dropped.
        """
        self.stats[DUPLICATE_COLUMNS] += len(names)
        for name in sorted(set(names)):
            self._warn_once("repeated:" + name, f"correlatepolicydenied: column {name} appears more than once "
                                                "in the input; the first is used")

    def feed_records(self, records: Iterable[Mapping[str, Any]]) -> List[Released]:
        """Mapping path: rows as dicts (multivalue fields as lists or newline-joined text).

        Each mapping is read as a header (its keys) and a value list, through the same row loop
        as :meth:`feed_rows`; the mapping itself is what goes out.
        """
        out: List[Released] = []
        for keys, group in groupby(records, key=_keys):
            batch = list(group)
            out += self._feed(self._plan(keys), [_values(record) for record in batch], batch)
        return out

    def _plan(self, key: Tuple[str, ...]) -> _Plan:
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 64:
                self._plans.clear()
            plan = self._plans[key] = _Plan(key, self._tag_kinds)
        return plan

    def _feed(self, plan: _Plan, rows: Iterable[List[str]],
              records: Optional[Sequence[Mapping[str, Any]]]) -> List[Released]:
        """The row loop of both ways in: classify, read the time, index or hold, pass through.

        ``records`` are the mappings ``rows`` were read from (mapping input), None for CSV rows.
        """
        out: List[Released] = []
        keep = self.options.keep_evidence
        key, width, i_time, i_raw = plan.header, plan.width, plan.time, plan.raw
        classify, gcp_fields, cim_fields, fdr_fields, proxy_hosts = plan.classify, plan.gcp, plan.cim, plan.fdr, \
            plan.proxy_hosts
        store_add = self.store.add
        advance = self._advance
        bad = self._bad
        t_min, t_max, gcp, other, unused, fdr, proxy = TIME_MIN, TIME_MAX, ROW_GCP, ROW_OTHER, ROW_UNUSED_TAGS, \
            ROW_FDR, KIND_PROXY
        natlog = ROW_NATLOG
        n_rows = n_evidence = n_other = 0
        for values in rows:
            n_rows += 1
            if len(values) != width:
                bad(WRONG_WIDTH[4:])
                values = (values + [""] * width)[:width]
            kind = classify(values)  # one of the module's constants: compared by identity
            time_text = values[i_time] if i_time >= 0 else ""
            try:
                t = float(time_text)
            except ValueError:
                t = _NAN
            if not (t_min <= t < t_max and time_text.isascii()):  # epoch(), inlined
                t = _NAN
            if kind is gcp:
                raw = values[i_raw] if i_raw >= 0 else ""
                extracted = {path: values[i] for path, i in gcp_fields if values[i]}
                if records is None:
                    released = self._on_gcp(raw, extracted, t, bool(time_text), key, values, None)
                else:
                    released = self._on_gcp(raw, extracted, t, bool(time_text), (), (), records[n_rows - 1])
                if released is not None and keep:
                    out.append(released)
                continue
            if kind is natlog:  # counts of a bucket: any time, anywhere in the stream (the frontier stays)
                n_evidence += 1
                self._on_counts(values, plan.natlog, t, plan.fdr)
                if keep:
                    out.append(Released(key, values, None, None, None) if records is None
                               else Released((), (), records[n_rows - 1], None, None))
                continue
            if t == t:
                advance(t)
            if kind is other:
                n_other += 1
            elif kind is unused:
                bad("rows with tags the command does not use")
            elif t != t:
                bad("evidence rows without a usable _time")
            elif kind is fdr:
                try:
                    for rec in parse_fdr({name: values[i] for name, i in fdr_fields}, t):
                        store_add(rec)
                    n_evidence += 1
                except RowError as error:
                    bad(error.reason)
                except _DATA_ERRORS as error:
                    bad(f"unreadable evidence rows ({type(error).__name__})")
            else:
                n_evidence += 1
                if kind is not proxy or any(mentions_google_api(values[i]) for i in proxy_hosts):
                    try:
                        for rec in parse_cim(kind, {name: values[i] for name, i in cim_fields[kind]}, t):
                            store_add(rec)
                    except RowError as error:
                        bad(error.reason)
                    except _DATA_ERRORS as error:
                        bad(f"unreadable evidence rows ({type(error).__name__})")
            if keep:
                out.append(Released(key, values, None, None, None) if records is None
                           else Released((), (), records[n_rows - 1], None, None))
        self.stats["rows"] += n_rows
        self.stats["evidence"] += n_evidence
        self.stats["other"] += n_other
        out.extend(self._release())
        return out

    def preload(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Index evidence from outside the stream (the ``evidence=`` lookup); returns rows used.

        Rows are told apart by the same classifier as streamed rows. Evidence rows and GCP audit
        entries are indexed like streamed ones but do not move the time frontier (they may lie
        anywhere in time); denied events in them are not output.
        """
        used = 0
        for record in records:
            plan = self._plan(_keys(record))
            values = _values(record)
            kind = plan.classify(values)
            t = epoch(values[plan.time]) if plan.time >= 0 else _NAN
            try:
                if kind == ROW_GCP:
                    raw = values[plan.raw] if plan.raw >= 0 else ""
                    entry = self._read_entry(raw, {path: values[i] for path, i in plan.gcp if values[i]},
                                             t if t == t else None)
                    self.store.add_audit(entry)
                    used += 1
                    continue
                if kind in (ROW_OTHER, ROW_UNUSED_TAGS):
                    continue
                if kind == ROW_NATLOG:
                    used += self._on_counts(values, plan.natlog, t, plan.fdr)
                    continue
                if t != t:
                    raise RowError("no usable _time", field="_time")
                if kind == ROW_FDR:
                    recs = parse_fdr({name: values[i] for name, i in plan.fdr}, t)
                else:
                    recs = parse_cim(kind, {name: values[i] for name, i in plan.cim[kind]}, t)
            except (RowError, *_DATA_ERRORS) as error:
                self._bad("evidence lookup rows: " + (error.reason if isinstance(error, RowError)
                                                      else type(error).__name__))
                continue
            for rec in recs:
                self.store.add(rec)
            used += bool(recs)
        self.stats["evidence lookup rows"] += used
        # the NAT log around these calls is all here already: check it now
        o = self.options
        self.store.health.settle(self.store, o.network_tolerance, o.selfjoin_window, o.fingerprint_window,
                                 lambda _t: True)
        return used

    def _on_counts(self, values: Sequence[str], at: Sequence[int], t: float,
                   fdr: Sequence[Tuple[str, int]] = ()) -> int:
        """A row of the NAT log's check counts: one address, one bucket (``nat_log_bucket``, else
        ``_time``), or a row :meth:`_on_seen` reads. Read with ``natlog=summary``, counted and left alone
        otherwise; returns 1 when used."""
        if not self.store.health.summary:
            self.stats["nat log check rows not read (natlog is not summary)"] += 1
            return 0
        ip = normalize_ip(values[at[0]].strip())
        if at[4] >= 0 and values[at[4]]:
            return self._on_seen(values[at[4]].strip().lower(), ip, values, t, fdr)
        if at[3] >= 0 and values[at[3]]:
            t = epoch(values[at[3]])
        ok, missing = (_count_of(values[i]) if i >= 0 and values[i] else 0 for i in at[1:3])
        if t != t or ip is None or ok < 0 or missing < 0:
            self._bad("NAT log check rows without a usable address, _time or counts")
            return 0
        self.store.health.add_counts(ip, t, ok, missing)
        return 1

    def _on_seen(self, seen: str, ip: Optional[str], values: Sequence[str], t: float,
                 fdr: Sequence[Tuple[str, int]]) -> int:
        """A row ``guardrail_presence`` appended: a translation to the address (``1``), or an EDR record
        of a device behind it (``device``, with the record's aid, names and user), seen at ``_time``; or
        ``all``: that search was cut short. Returns 1 when used."""
        if seen == "all":
            # too many rows, too long: anyone may have been anywhere
            self.store.health.seen_everywhere = True
            self._warn_once("seen all", "correlatepolicydenied: the search of who else was behind the caller "
                                        "addresses was cut short (guardrail_presence): no address is taken for "
                                        "one person's")
            return 1
        if t != t or ip is None:
            self._bad("rows of translations or devices seen (nat_log_seen) without a usable address or _time")
            return 0
        if seen != "device":
            self.store.health.add_seen(ip, t)
            return 1
        rec = {name: values[i] for name, i in fdr if values[i]}
        rec["aip"] = ip
        try:
            record = parse_fdr(rec, t)[0]
        except (RowError, *_DATA_ERRORS):
            self._bad("rows of devices seen (nat_log_seen=device) without aid, ComputerName or UserName")
            return 0
        assert isinstance(record, Sighting)  # the first record of an FDR row is its sighting
        self.store.learn_sensor(record)
        self.store.health.add_device(record)
        return 1

    def finish(self) -> List[Released]:
        """End of stream: resolve everything still held with the evidence there is."""
        return self._release(final=True)

    # ------------------------------------------------------------------ GCP rows

    def _read_entry(self, raw: str, extracted: Dict[str, str], t: Optional[float]) -> AuditEntry:
        """The audit entry of a GCP row; raises :class:`RowError` (or a data error) when it cannot be read.

        ``t`` is the row's usable ``_time``; without one the LogEntry ``timestamp`` is used.
        """
        if raw and len(raw) > MAX_RAW_CHARS:
            raise RowError("oversized _raw", field="_raw")
        entry_obj = None
        if not _extracted_suffice(extracted) and raw and looks_like_audit(raw):
            try:
                entry_obj = load_entry(raw)
            except RowError as error:
                if error.reason != "malformed JSON in _raw":
                    raise
                entry_obj = salvage(raw)  # cut by TRUNCATE: keep what survived, extracted fields win
                if not entry_obj and not extracted:
                    raise
                self.stats["fixed:truncated or malformed _raw read in part"] += 1
        if entry_obj is None and not extracted:
            raise RowError("GCP row without a LogEntry", field="_raw")
        entry = parse_entry(entry_obj, extracted, t)
        if not TIME_MIN <= entry.time < TIME_MAX:
            raise RowError("no usable _time or timestamp", field="_time")
        return entry

    def _on_gcp(self, raw: str, extracted: Dict[str, str], t: float, time_given: bool, header: Tuple[str, ...],
                values: Sequence[Any], record: Optional[Mapping[str, Any]]) -> Optional[Released]:
        """Parse a GCP row; hold it if denied, index it if not. Returns a pass-through for non-denied.

        ``t`` is the row's ``_time`` (NaN when not usable); ``time_given`` says whether the row had
        one at all. A row without ``_time`` is timed by its LogEntry ``timestamp``; a row whose
        ``_time`` is there but broken is a bad row: its ``timestamp`` could lie anywhere, and
        waiting for evidence around it would hold back every event behind it.
        """
        usable = t == t
        if usable:
            self._advance(t)
        try:
            entry = self._read_entry(raw, extracted, t if usable else None)
        except (RowError, *_DATA_ERRORS) as error:
            self._bad(error.reason if isinstance(error, RowError) else f"unreadable GCP rows ({type(error).__name__})")
            if _looks_denied(raw) or extracted.get("logName", "").endswith("policy"):
                self.stats["denied"] += 1
                self._hold(_Held(header, values, record, None, _UNREADABLE))
                return None
            return Released(header, values, record, None, None)
        if time_given and not usable:
            self._bad("GCP rows with an unusable _time")
            if entry.denied:
                self.stats["denied"] += 1
                self._hold(_Held(header, values, record, entry, _NO_TIME))
                return None
            self.stats["gcp_other"] += 1
            return Released(header, values, record, None, None)
        self.store.add_audit(entry)
        if not usable:
            self._advance(entry.time)
        if self.store.health.emitted is not None:  # natlog=checks: every entry is a possible check
            self.stats["gcp_other"] += 1
            return None
        if not entry.denied:
            self.stats["gcp_other"] += 1
            return Released(header, values, record, None, None)
        self.stats["denied"] += 1
        self._hold(_Held(header, values, record, entry, None if entry.masked else not_masked(entry)))
        return None

    def _hold(self, item: _Held) -> None:
        self._held.append(item)
        if len(self._held) > PACK_AFTER:
            item.pack()
        if item.verdict is None:
            self._ungathered.append(item)
        if len(self._held) > self.options.max_buffer:
            self._warn_once("max_buffer", f"correlatepolicydenied: max_buffer={self.options.max_buffer} reached; "
                                          "some denied events were correlated before all their evidence had "
                                          "streamed past (raise max_buffer, or sort the input by _time)")

    # ------------------------------------------------------------------ time frontier

    def _advance(self, t: float) -> None:
        """Move the time frontier with a usable time; read the order from it (see the module docstring)."""
        slack = self.options.slack
        if t < self._lo:
            self._lo2 = self._lo
        elif t < self._lo2:
            self._lo2 = t
        if t > self._hi:
            self._hi2 = self._hi
        elif t > self._hi2:
            self._hi2 = t
        if t < self._lo:
            self._lo = t
            if self._settled:
                if self.mode == ASCENDING and t < self._hi2 - slack:
                    self._disorder(t)
            elif t < self._hi:
                self.mode = DESCENDING  # the newest row so far is older than one before it
                self._settled = self._hi - t > slack
            else:
                self._hi = t  # the first time
        elif t > self._hi:
            self._hi = t
            if self._settled:
                if self.mode == DESCENDING and t > self._lo2 + slack:
                    self._disorder(t)
            else:
                self.mode = ASCENDING
                self._settled = t - self._lo > slack
        elif self._settled:
            if self.mode == DESCENDING:
                if t > self._lo2 + slack:
                    self._disorder(t)
            elif self.mode == ASCENDING and t < self._hi2 - slack:
                self._disorder(t)

    def _disorder(self, t: float) -> None:
        self.mode = UNORDERED
        self._warn_once("unordered", "correlatepolicydenied: input is not ordered by _time; holding denied events "
                                     f"until the end of the search (at most max_buffer={self.options.max_buffer})")

    # ------------------------------------------------------------------ release

    def _points_ready(self, t: float) -> bool:
        o = self.options
        if self.mode == DESCENDING:
            return self._lo2 < t - o.point_back - o.slack
        if self.mode == ASCENDING:
            return self._hi2 > t + o.forward + o.slack
        return False

    def _intervals_ready(self, t: float) -> bool:
        # Intervals reach back `lookback`; the NAT log's completeness is judged from the calls within
        # HEALTH_WINDOW on either side, whose checks must have settled. With natlog=summary the
        # counts may come anywhere in the stream (appended after the evidence): calls wait for its end.
        o = self.options
        if self.store.health.summary:
            return False
        if self.mode == DESCENDING:
            return self._lo2 < t - max(o.lookback, self.store.health_reach + o.network_tolerance) - o.slack
        if self.mode == ASCENDING:
            return self._hi2 > t + max(o.forward, self.store.health_reach + o.network_tolerance) + o.slack
        return False

    def _checkable(self, t: float) -> bool:
        """Whether the NAT records around ``t``, and the calls shortly before it, have all streamed past."""
        o = self.options
        if self.mode == DESCENDING:
            return self._lo2 < t - max(o.network_tolerance, o.selfjoin_window, o.fingerprint_window) - o.slack
        if self.mode == ASCENDING:
            return self._hi2 > t + max(o.network_tolerance, o.fingerprint_window) + o.slack
        return False

    def _settle_checks(self, final: bool) -> None:
        o = self.options
        self.store.health.settle(self.store, o.network_tolerance, o.selfjoin_window, o.fingerprint_window,
                                 (lambda _t: True) if final else self._checkable)

    def _gather(self, item: _Held) -> None:
        if item.pending is None and item.entry is not None and item.verdict is None:
            try:
                item.pending = gather(item.entry, self.store, self.options)
            except _DATA_ERRORS as error:  # a verdict must still go out, once
                self._bad(f"denied events that could not be correlated ({type(error).__name__})")
                item.verdict = _UNREADABLE

    def _release(self, final: bool = False) -> List[Released]:
        done: List[_Held] = []
        o = self.options
        flush_all = final or (self.mode == UNORDERED and len(self.store) > 20 * o.max_buffer)
        self._settle_checks(flush_all)
        ungathered = self._ungathered
        while ungathered and (final or ungathered[0].verdict is not None or ungathered[0].pending is not None
                              or self._points_ready(ungathered[0].time)):
            self._gather(ungathered.popleft())
        held = self._held
        while held:
            head = held[0]
            capped = len(held) > o.max_buffer
            force = flush_all or capped
            if head.verdict is None:
                if not (force or self._intervals_ready(head.time)):
                    break
                if capped and not flush_all:
                    self.stats["bad:denied events resolved early (max_buffer)"] += 1
                self._gather(head)
                if head.verdict is None:
                    assert head.entry is not None and head.pending is not None
                    try:
                        head.verdict = resolve(head.entry, head.pending, self.store, o)
                    except _DATA_ERRORS as error:  # a verdict must still go out, once
                        self._bad(f"denied events that could not be correlated ({type(error).__name__})")
                        head.verdict = _UNREADABLE
            held.popleft()
            done.append(head)
        if flush_all:
            ungathered.clear()
            if not final:
                self._warn_once("evidence_cap", "correlatepolicydenied: unordered input over "
                                                f"{20 * o.max_buffer} evidence records; held events were "
                                                "resolved and the evidence was reset")
                self.stats["evidence resets (unordered input)"] += 1
            self.store.clear()
        else:
            self._prune()
        # Rows are rebuilt only now, once the evidence no held event needs any more is gone (at
        # the end of the stream: all of it), so the two are not in memory together.
        emitted = self.store.health.emitted
        if emitted:
            checks = [Released((), (), {"_time": f"{t:.3f}", "nat_log_ip": ip, "nat_log_ok": "1" if n else "0"},
                               None, None) for ip, t, n in emitted]
            emitted.clear()
            return [*checks, *(item.released() for item in done)]
        return [item.released() for item in done]

    def _prune(self) -> None:
        # Pruning walks every key, so it runs only once the store has doubled since the last
        # prune: amortised O(1) per record, and memory stays within twice the live window.
        size = len(self.store)
        if size < 2 * self._pruned_size + self.prune_floor:
            return
        o = self.options
        # the NAT log's checks not yet settled read translations, proxy records and earlier calls
        # around their own seconds: keep those too, whatever the calls still waiting need
        checks = self.store.health.pending_span()
        check_reach = max(o.network_tolerance, o.fingerprint_window, o.selfjoin_window)
        if self.mode == DESCENDING:
            future = self._lo2 + o.slack
            top_points = max([item.time for item in self._ungathered] + [future])
            top_intervals = max([item.time for item in self._held if item.verdict is None] + [future])
            point_hi = top_points + o.forward + o.network_tolerance
            if checks is not None:
                point_hi = max(point_hi, checks[1] + check_reach)
            self.stats["evidence pruned"] += self.store.prune(
                -_INF, point_hi, -_INF, top_intervals + o.network_tolerance)
        elif self.mode == ASCENDING:
            past = self._hi2 - o.slack
            low_points = min([item.time for item in self._ungathered] + [past])
            low_intervals = min([item.time for item in self._held if item.verdict is None] + [past])
            point_lo = low_points - o.point_back - o.network_tolerance
            if checks is not None:
                point_lo = min(point_lo, checks[0] - check_reach)
            self.stats["evidence pruned"] += self.store.prune(
                point_lo, _INF, low_intervals - o.lookback - o.network_tolerance, _INF)
        self._pruned_size = len(self.store)
