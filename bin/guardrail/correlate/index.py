"""Time-indexed evidence stores.

Each store maps a key (a canonical address, a device key, an API host ...) to that key's
records sorted by time. Rows arrive newest first from Splunk (or ascending, or roughly
ordered), so records are appended as they come and a key's list is sorted lazily, only when it
is queried or pruned: appends stay O(1) and Timsort handles reversed or nearly sorted runs in
linear time. Queries are a bisect on the key's time list.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import deque
from typing import Any, Callable, Deque, Dict, Generic, List, Optional, Set, Tuple, TypeVar

from .evidence import Evidence, host_key, user_key
from .model import AuditEntry, Lease, Logon, Nat, ProxyHit, Session, Sighting, SignIn

R = TypeVar("R")


class TimeIndex(Generic[R]):
    """Records of type ``R`` (a NamedTuple whose first field is its time) grouped by key."""

    __slots__ = ("_dirty", "_recs", "_size", "_times")

    def __init__(self) -> None:
        self._times: Dict[str, List[float]] = {}
        self._recs: Dict[str, List[R]] = {}
        self._dirty: Set[str] = set()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, key: str, time: float, rec: R) -> None:
        """Index ``rec`` under ``key`` at ``time``."""
        times = self._times.get(key)
        if times is None:
            self._times[key] = [time]
            self._recs[key] = [rec]
        else:
            if time < times[-1]:
                self._dirty.add(key)
            times.append(time)
            self._recs[key].append(rec)
        self._size += 1

    def _sorted(self, key: str) -> Tuple[List[float], List[R]]:
        times = self._times[key]
        recs = self._recs[key]
        if key in self._dirty:
            self._dirty.discard(key)
            order = sorted(range(len(times)), key=times.__getitem__)
            times[:] = [times[i] for i in order]
            recs[:] = [recs[i] for i in order]
        return times, recs

    def between(self, key: str, lo: float, hi: float) -> List[R]:
        """Records of ``key`` with ``lo <= time <= hi``, oldest first."""
        if key not in self._times:
            return []
        times, recs = self._sorted(key)
        return recs[bisect_left(times, lo) : bisect_right(times, hi)]

    def count(self, key: str, lo: float, hi: float) -> int:
        """How many records of ``key`` have ``lo <= time <= hi`` (no copy)."""
        if key not in self._times:
            return 0
        times, _recs = self._sorted(key)
        return bisect_right(times, hi) - bisect_left(times, lo)

    def prune(self, lo: float, hi: float) -> int:
        """Drop records outside ``[lo, hi]``; return how many were dropped."""
        dropped = 0
        empty: List[str] = []
        for key in list(self._times):
            times, recs = self._sorted(key)
            start = bisect_left(times, lo)
            end = bisect_right(times, hi)
            if start == 0 and end == len(times):
                continue
            dropped += len(times) - (end - start)
            if start >= end:
                empty.append(key)
                continue
            del times[end:], recs[end:]
            del times[:start], recs[:start]
        for key in empty:
            del self._times[key], self._recs[key]
        self._size -= dropped
        return dropped

    def clear(self) -> None:
        self._times.clear()
        self._recs.clear()
        self._dirty.clear()
        self._size = 0


#: How far either side of a call the NAT log's completeness is judged (see :class:`NatHealth`): wide
#: enough that a firewall losing even a small share of its translations shows it.
HEALTH_WINDOW = 7200.0
#: The NAT log's checks are counted per address in buckets this long, aligned to the epoch
#: (``natlog=summary``: the scheduled check search keeps one count per address and bucket).
CHECK_BUCKET = 900.0
_AID_LIMIT = 200_000


def _went_through_the_proxy(entry: AuditEntry, store: EvidenceStore, window: float) -> bool:
    """Whether a proxy record shows the call went through the explicit proxy: a request by its
    principal to its API host within ``window``, or one carrying its gcloud invocation-id."""
    host = entry.service.lower()
    if not host:
        return False
    who = "" if entry.masked or entry.service_agent else user_key(entry.principal)
    marker = "invocation-id/" + entry.invocation_id if entry.invocation_id else ""
    for p in store.proxies.between(host, entry.time - window, entry.time + window):
        if (who and p.user and user_key(p.user) == who) or (marker and marker in p.user_agent.lower()):
            return True
    return False


def may_reuse_connection(entry: AuditEntry, store: EvidenceStore, reuse: float) -> bool:
    """Whether a call may have ridden a connection its program had already opened: an earlier call
    from the same address with the same agent (by the same principal, or masked) within ``reuse``
    before it. Such a call need not have left a translation of its own."""
    agent = entry.user_agent
    if not agent:
        return False
    return any(a is not entry and a.user_agent == agent and a.time < entry.time
               and (a.principal == entry.principal or entry.masked or a.masked)
               for a in store.audit_ip.between(entry.ip_key or "", entry.time - reuse, entry.time))


class NatHealth:
    """Whether an egress's NAT log is complete around a time, judged from the calls seen leaving it.

    Every Google Cloud call with a public caller address must have left through a translation at
    that second if that address is one of our NAT egresses, unless it rode a connection its program
    had already opened (gcloud runs, SDKs, browsers and Terraform keep connections open), or went through
    the explicit proxy (the proxy made the connection; a proxy record by its principal, or carrying its
    gcloud invocation-id, shows it). Each other audit entry (visible or masked) whose program made no
    other call from that address in the ``reuse`` seconds before it is a *check*, once the stream has
    passed the seconds around it: *ok* when a translation to its caller address lies within the network
    tolerance, *missing* when none does.
    Around a call, the log of its egress is then *complete* when at least one check was ok and none
    missing, *incomplete* when some were missing (it loses connections: absence proves nothing), and
    *absent* when none was ok (not a NAT egress we see: a home, a hotel).

    A call that rode a connection opened by a call that left no audit entry (Data Access logging
    off) also counts as missing: the log is then judged incomplete and nobody is ruled out, the safe
    side of the doubt.
    """

    __slots__ = ("_buckets", "_devices", "_pending", "_results", "_seen", "emitted", "seen_everywhere", "summary",
                 "window")

    def __init__(self) -> None:
        self._pending: Deque[Tuple[float, AuditEntry]] = deque()
        self._results: TimeIndex[int] = TimeIndex()
        #: ``natlog=summary``: times translations to an address were seen at, as the correlation's
        #: search appends them (the first and last of each address's translations per stretch of
        #: ``point_back + forward`` seconds: whether there was any within a call's horizon)
        self._seen: TimeIndex[float] = TimeIndex()
        #: ``natlog=summary``: EDR records of devices seen behind an address (by ``aip``), as appended
        #: likewise (one per device, user and stretch at its first and last time)
        self._devices: TimeIndex[Sighting] = TimeIndex()
        #: the search that gives those was cut short: every address counts as one others were behind
        self.seen_everywhere = False
        #: ``natlog=summary``: the checks come as counts per address and bucket, not from the calls
        self.summary = False
        self._buckets: Dict[str, Dict[float, Tuple[int, int]]] = {}
        #: ``natlog=checks``: every settled check, ``(address, time, translations)``, for output
        self.emitted: Optional[List[Tuple[str, float, int]]] = None
        #: how far either side of a call its checks are counted
        self.window = HEALTH_WINDOW

    def __len__(self) -> int:
        return (len(self._pending) + len(self._results) + len(self._seen) + len(self._devices)
                + sum(len(b) for b in self._buckets.values()))

    def pending_span(self) -> Optional[Tuple[float, float]]:
        """``(earliest, latest)`` time of the checks not yet settled, None when there are none: the
        point evidence around them (translations, proxy records, earlier calls) must stay until they are."""
        if not self._pending:
            return None
        first, last = self._pending[0][0], self._pending[-1][0]
        return (first, last) if first <= last else (last, first)

    def expect(self, entry: AuditEntry) -> None:
        """A call left through its caller address: check the NAT log there once it has streamed past."""
        if not self.summary:
            self._pending.append((entry.time, entry))

    def add_counts(self, ip: str, bucket: float, ok: int, missing: int) -> None:
        """``natlog=summary``: the checks of ``ip`` in the bucket starting at ``bucket`` (a later row
        for the same bucket replaces an earlier one)."""
        self._buckets.setdefault(ip, {})[bucket_of(bucket)] = (ok, missing)

    def add_seen(self, ip: str, time: float) -> None:
        """``natlog=summary``: a translation to ``ip`` was seen at ``time``."""
        self._seen.add(ip, time, time)

    def seen(self, ip: str, lo: float, hi: float) -> bool:
        """Whether a translation to ``ip`` was seen within ``[lo, hi]`` (:meth:`add_seen`)."""
        return self.seen_everywhere or self._seen.count(ip, lo, hi) > 0

    def add_device(self, record: Sighting) -> None:
        """``natlog=summary``: an EDR record of a device behind ``record.aip`` was seen at its time."""
        self._devices.add(record.aip, record.time, record)

    def devices_seen(self, ip: str, lo: float, hi: float) -> List[Sighting]:
        """The records :meth:`add_device` gave for ``ip`` within ``[lo, hi]``."""
        return self._devices.between(ip, lo, hi)

    def settle(self, store: EvidenceStore, tolerance: float, reuse: float, proxied: float,
               ready: Callable[[float], bool]) -> int:
        """Record the checks whose seconds (``reuse`` before them, ``proxied`` either side) have streamed
        past; returns how many."""
        done = 0
        pending = self._pending
        while pending and ready(pending[0][0]):
            time, entry = pending.popleft()
            ip = entry.ip_key or ""
            if may_reuse_connection(entry, store, reuse):
                continue  # may have ridden the connection an earlier call of its program opened
            if _went_through_the_proxy(entry, store, proxied):
                continue  # the proxy's side made the connection: the log need not show one of its own
            found = store.nats.count(ip, time - tolerance, time + tolerance)
            self._results.add(ip, time, found)
            if self.emitted is not None:
                self.emitted.append((ip, time, found))
            done += 1
        return done

    def state(self, ip: str, time: float, window: Optional[float] = None) -> Tuple[str, int, int]:
        """``(state, checks ok, checks missing)`` for ``ip`` within ``window`` of ``time``; with
        counts per bucket, of every bucket from the one holding ``time - window`` to the one holding
        ``time + window``."""
        window = self.window if window is None else window
        if self.summary:
            buckets = self._buckets.get(ip, {})
            ok = missing = 0
            start, last = bucket_of(time - window), bucket_of(time + window)
            while start <= last:
                counts = buckets.get(start)
                if counts is not None:
                    ok += counts[0]
                    missing += counts[1]
                start += CHECK_BUCKET
        else:
            found = self._results.between(ip, time - window, time + window)
            ok = sum(1 for n in found if n)
            missing = len(found) - ok
        if not ok:
            return "absent", 0, missing
        return ("incomplete" if missing else "complete"), ok, missing

    def prune(self, lo: float, hi: float) -> int:
        dropped = self._results.prune(lo, hi) + self._seen.prune(lo, hi) + self._devices.prune(lo, hi)
        # a bucket goes once it ends before lo or starts after hi
        for ip in list(self._buckets):
            buckets = self._buckets[ip]
            gone = [b for b in buckets if b + CHECK_BUCKET <= lo or b > hi]
            for b in gone:
                del buckets[b]
            dropped += len(gone)
            if not buckets:
                del self._buckets[ip]
        return dropped

    def clear(self) -> None:
        self._pending.clear()
        self._results.clear()
        self._seen.clear()
        self._devices.clear()
        self.seen_everywhere = False
        self._buckets.clear()


def bucket_of(time: float) -> float:
    """The start of the check bucket holding ``time``."""
    return math.floor(time / CHECK_BUCKET) * CHECK_BUCKET


class EvidenceStore:
    """All evidence of the current time horizon, indexed the ways the evidence chains look it up.

    Intervals (DHCP leases, VPN sessions, interactive logons) are kept for ``lookback``; points
    (NAT, EDR, proxy, sign-ins, other GCP audit entries) only for the short window around the
    calls still waiting for them. See :class:`guardrail.correlate.engine.Correlator` for the horizons.
    """

    def __init__(self) -> None:
        # intervals, by start time
        self.leases: TimeIndex[Lease] = TimeIndex()  # by leased ip
        self.vpn_public: TimeIndex[Session] = TimeIndex()  # whole sessions by public client ip
        self.vpn_assigned: TimeIndex[Session] = TimeIndex()  # whole sessions by assigned tunnel ip
        self.logons: TimeIndex[Logon] = TimeIndex()  # by host key
        # VPN start / end rows (CIM tag=start, tag=end), by their own time, paired when queried
        self.vpn_marks_public: TimeIndex[Session] = TimeIndex()
        self.vpn_marks_assigned: TimeIndex[Session] = TimeIndex()
        # points
        self.signins: TimeIndex[SignIn] = TimeIndex()  # by public ip
        self.nats: TimeIndex[Nat] = TimeIndex()  # by public (translated) ip
        self.edr_aip: TimeIndex[Sighting] = TimeIndex()  # by aip
        self.edr_local: TimeIndex[Sighting] = TimeIndex()  # by LocalAddressIP4
        self.edr_domain: TimeIndex[Sighting] = TimeIndex()  # by looked-up host name
        self.proxies: TimeIndex[ProxyHit] = TimeIndex()  # by remote host
        self.audit_invocation: TimeIndex[AuditEntry] = TimeIndex()  # by gcloud invocation-id
        self.audit_ip: TimeIndex[AuditEntry] = TimeIndex()  # by caller ip
        self.audit_resource: TimeIndex[AuditEntry] = TimeIndex()  # by project|resource leaf
        #: sensor id -> device name, learned from EDR records that carry both
        self.aid_hosts: Dict[str, str] = {}
        self.health = NatHealth()
        #: how far past the held calls VPN end rows are kept (the command's lookback)
        self.mark_reach = 43200.0
        #: how far from the held calls the NAT log's checks are kept
        self.health_reach = HEALTH_WINDOW

    @property
    def intervals(self) -> Tuple[TimeIndex[Any], ...]:
        return (self.leases, self.vpn_public, self.vpn_assigned, self.logons)

    @property
    def marks(self) -> Tuple[TimeIndex[Any], ...]:
        return (self.vpn_marks_public, self.vpn_marks_assigned)

    @property
    def points(self) -> Tuple[TimeIndex[Any], ...]:
        return (self.signins, self.nats, self.edr_aip, self.edr_local, self.edr_domain, self.proxies,
                self.audit_invocation, self.audit_ip, self.audit_resource)

    def __len__(self) -> int:
        return (sum(len(s) for s in self.intervals) + sum(len(s) for s in self.marks)
                + sum(len(s) for s in self.points) + len(self.health))

    def add(self, rec: Evidence) -> None:
        """Index one evidence record by every key a chain may look it up by."""
        kind = type(rec)
        if kind is Nat:
            assert isinstance(rec, Nat)
            self.nats.add(rec.public_ip, rec.time, rec)
        elif kind is ProxyHit:
            assert isinstance(rec, ProxyHit)
            self.proxies.add(rec.host, rec.time, rec)
        elif kind is Sighting:
            assert isinstance(rec, Sighting)
            self.learn_sensor(rec)
            if rec.aip:
                self.edr_aip.add(rec.aip, rec.time, rec)
            if rec.local_ip:
                self.edr_local.add(rec.local_ip, rec.time, rec)
            if rec.domain:
                self.edr_domain.add(rec.domain, rec.time, rec)
        elif kind is Lease:
            assert isinstance(rec, Lease)
            self.leases.add(rec.ip, rec.start, rec)
        elif kind is Logon:
            assert isinstance(rec, Logon)
            self.logons.add(host_key(rec.host), rec.time, rec)
        elif kind is SignIn:
            assert isinstance(rec, SignIn)
            self.signins.add(rec.ip, rec.time, rec)
        elif kind is Session:
            assert isinstance(rec, Session)
            if rec.mark:
                at = rec.start if rec.mark == "start" else rec.end
                self.vpn_marks_public.add(rec.public_ip, at, rec)
                if rec.assigned_ip:
                    self.vpn_marks_assigned.add(rec.assigned_ip, at, rec)
            else:
                self.vpn_public.add(rec.public_ip, rec.start, rec)
                if rec.assigned_ip:
                    self.vpn_assigned.add(rec.assigned_ip, rec.start, rec)

    def add_audit(self, entry: AuditEntry) -> None:
        """Index a GCP audit entry for the self-join and service-agent chains, and as a NAT check."""
        if entry.invocation_id:
            self.audit_invocation.add(entry.invocation_id, entry.time, entry)
        if entry.ip_key:
            self.audit_ip.add(entry.ip_key, entry.time, entry)
            if entry.public:
                self.health.expect(entry)
        if entry.resource:
            self.audit_resource.add(entry.project + "|" + entry.resource_leaf, entry.time, entry)

    def learn_sensor(self, rec: Sighting) -> None:
        """Remember the device name an EDR record gives its sensor id (the first one seen)."""
        if rec.aid and rec.host and len(self.aid_hosts) < _AID_LIMIT:
            self.aid_hosts.setdefault(rec.aid, rec.host)

    def host_of(self, rec: Sighting) -> str:
        """The device an EDR record is about: its own name, else the name its sensor id was seen with."""
        return rec.host or self.aid_hosts.get(rec.aid, "")

    def sessions(self, ip: str, time: float, lookback: float, tolerance: float,
                 assigned: bool = False) -> List[Session]:
        """VPN sessions of client address (or, ``assigned``, tunnel address) ``ip`` up at ``time``.

        Whole sessions count while ``start <= time <= end``. Start and end rows are paired per user
        in time order: a start is closed by that user's next end; an end with no start before it in
        the window closes a session that began before the window (its duration, where logged, says
        when); a start with no end is still up.
        """
        whole = self.vpn_assigned if assigned else self.vpn_public
        marks = self.vpn_marks_assigned if assigned else self.vpn_marks_public
        found = [s for s in whole.between(ip, time - lookback, time + tolerance) if s.end >= time - tolerance]
        rows = marks.between(ip, time - lookback, time + lookback)
        if not rows:
            return found
        by_user: Dict[str, List[Session]] = {}
        for row in rows:
            by_user.setdefault(user_key(row.user), []).append(row)
        for user_rows in by_user.values():
            opened: List[Session] = []
            for row in user_rows:
                if row.mark == "start":
                    if opened:  # a second start: the first session's end was not logged
                        opened[0] = opened[0]._replace(end=row.start)
                        found.extend(s for s in opened if s.start <= time + tolerance and s.end >= time - tolerance)
                    opened = [row]
                    continue
                began = opened[0].start if opened else row.start
                if row.mark == "end-open" and not opened:
                    began = time - lookback - tolerance  # began before the window
                session = row._replace(start=began, mark="end")
                opened = []
                if session.start <= time + tolerance and session.end >= time - tolerance:
                    found.append(session)
            found.extend(s for s in opened if s.start <= time + tolerance)
        return found

    def prune(self, point_lo: float, point_hi: float, interval_lo: float, interval_hi: float) -> int:
        """Drop evidence no waiting or future call can use; return how many records went."""
        dropped = 0
        for store in self.points:
            dropped += store.prune(point_lo, point_hi)
        for store in self.intervals:
            dropped += store.prune(interval_lo, interval_hi)
        for store in self.marks:
            dropped += store.prune(interval_lo - self.mark_reach, interval_hi + self.mark_reach)
        dropped += self.health.prune(interval_lo - self.health_reach, interval_hi + self.health_reach)
        if len(self.aid_hosts) >= _AID_LIMIT:
            self.aid_hosts.clear()
        return dropped

    def clear(self) -> None:
        for store in self.intervals + self.marks + self.points:
            store.clear()
        self.health.clear()
        self.aid_hosts.clear()
