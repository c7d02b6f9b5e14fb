"""Time-indexed evidence stores.

Each store maps a key (a canonical address, a device key, an API host ...) to that key's
records sorted by time. Rows arrive newest first from Splunk (or ascending, or roughly
ordered), so records are appended as they come and a key's list is sorted lazily, only when it
is queried or pruned: appends stay O(1) and Timsort handles reversed or nearly sorted runs in
linear time. Queries are a bisect on the key's time list.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any, Dict, Generic, List, Set, Tuple, TypeVar

from .evidence import Evidence, host_key
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


class EvidenceStore:
    """All evidence of the current time horizon, indexed the ways the evidence chains look it up.

    Intervals (DHCP leases, VPN sessions, interactive logons) are kept for ``lookback``; points
    (NAT, EDR, proxy, sign-ins, other GCP audit entries) only for the short window around the
    calls still waiting for them. See :class:`guardrail.correlate.Correlator` for the horizons.
    """

    def __init__(self) -> None:
        # intervals, by start time
        self.leases: TimeIndex[Lease] = TimeIndex()  # by leased ip
        self.vpn_public: TimeIndex[Session] = TimeIndex()  # by public client ip
        self.vpn_assigned: TimeIndex[Session] = TimeIndex()  # by assigned tunnel ip
        self.logons: TimeIndex[Logon] = TimeIndex()  # by host key
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

    @property
    def intervals(self) -> Tuple[TimeIndex[Any], ...]:
        return (self.leases, self.vpn_public, self.vpn_assigned, self.logons)

    @property
    def points(self) -> Tuple[TimeIndex[Any], ...]:
        return (self.signins, self.nats, self.edr_aip, self.edr_local, self.edr_domain, self.proxies,
                self.audit_invocation, self.audit_ip, self.audit_resource)

    def __len__(self) -> int:
        return sum(len(s) for s in self.intervals) + sum(len(s) for s in self.points)

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
            self.vpn_public.add(rec.public_ip, rec.start, rec)
            if rec.assigned_ip:
                self.vpn_assigned.add(rec.assigned_ip, rec.start, rec)

    def add_audit(self, entry: AuditEntry) -> None:
        """Index a GCP audit entry for the self-join and service-agent chains."""
        if entry.invocation_id:
            self.audit_invocation.add(entry.invocation_id, entry.time, entry)
        if entry.ip_key:
            self.audit_ip.add(entry.ip_key, entry.time, entry)
        if entry.resource:
            self.audit_resource.add(entry.project + "|" + entry.resource_leaf, entry.time, entry)

    def prune(self, point_lo: float, point_hi: float, interval_lo: float, interval_hi: float) -> int:
        """Drop evidence no waiting or future call can use; return how many records went."""
        dropped = 0
        for store in self.points:
            dropped += store.prune(point_lo, point_hi)
        for store in self.intervals:
            dropped += store.prune(interval_lo, interval_hi)
        return dropped

    def clear(self) -> None:
        for store in self.intervals + self.points:
            store.clear()
