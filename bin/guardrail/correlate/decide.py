"""The decision: from expanded leads to a verdict an analyst can act on.

:func:`resolve` runs the interval rules of :mod:`.rules`, expands every lead to a person where the
evidence goes that far, turns leads into clues and lets :func:`score` decide: a person is named only
when the evidence singles them out, otherwise the answer is ``ambiguous`` with the candidates, or
``unidentified``.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Sequence, Set, Tuple

from .evidence import host_key, is_person, user_key
from .index import EvidenceStore
from .model import (
    STATUS_AMBIGUOUS,
    STATUS_IDENTIFIED,
    STATUS_NOT_MASKED,
    STATUS_UNIDENTIFIED,
    AuditEntry,
    Clue,
    Verdict,
)
from .options import Options
from .rules import INTERVAL_RULES, Lead, Pending, expand, line

MAX_EVIDENCE_LINES = 25

def _identity(lead: Lead) -> str:
    if lead.user and is_person(lead.user):
        return "u:" + user_key(lead.user)
    if lead.host:
        return "h:" + host_key(lead.host)
    return "i:" + lead.internal_ip


def clues_of(leads: Sequence[Lead]) -> Tuple[List[Clue], List[Lead]]:
    """Turn expanded leads into clues; a channel naming k different endpoints gives each 1/k."""
    per_channel: Dict[str, Set[str]] = {}
    for lead in leads:
        per_channel.setdefault(lead.channel, set()).add(_identity(lead))
    clues: List[Clue] = []
    dangling: List[Lead] = []
    for lead in leads:
        share = lead.weight / len(per_channel[lead.channel])
        if lead.user and is_person(lead.user):
            clues.append(Clue(lead.user.strip(), user_key(lead.user), lead.host, share, lead.channel,
                              "\n".join(lead.lines)))
        else:
            dangling.append(lead)
    return clues, dangling


def score(clues: Sequence[Clue], dangling: Sequence[Lead], o: Options) -> Verdict:
    """Combine clues per person and decide.

    Channels are independent observations: per person the best clue of each channel counts and
    they combine as ``1 - prod(1 - w)``. A person is named only at ``min_confidence`` or above
    and ``margin`` ahead of the runner-up; several close candidates are ``ambiguous``.
    """
    best: Dict[str, Dict[str, Clue]] = {}
    for clue in clues:
        channels = best.setdefault(clue.user_key, {})
        held = channels.get(clue.channel)
        if held is None or clue.weight > held.weight:
            channels[clue.channel] = clue
    ranked: List[Tuple[float, str]] = []
    for key, channels in best.items():
        miss = 1.0
        for clue in channels.values():
            miss *= 1.0 - clue.weight
        ranked.append((1.0 - miss, key))
    ranked.sort(key=lambda item: (-item[0], item[1]))

    def display(key: str) -> Tuple[str, str]:
        chosen = sorted(best[key].values(), key=lambda c: -c.weight)
        hosts = [c.host for c in chosen if c.host]
        return chosen[0].user, hosts[0] if hosts else ""

    def lines_of(keys: Iterable[str], with_dangling: bool = True) -> Tuple[str, ...]:
        out: List[str] = []
        for key in keys:
            for clue in sorted(best[key].values(), key=lambda c: -c.weight):
                for text in clue.line.split("\n"):
                    if text and text not in out:
                        out.append(text)
        for lead in dangling if with_dangling else ():
            for text in lead.lines:
                if text not in out:
                    out.append(text)
        return tuple(out[:MAX_EVIDENCE_LINES])

    dangling_hosts = {host_key(lead.host) for lead in dangling if lead.host}
    if not ranked:
        host = next((lead.host for lead in dangling if lead.host), "") if len(dangling_hosts) == 1 else ""
        return Verdict(STATUS_UNIDENTIFIED, "", host, 0.0, (), lines_of(()))
    top, top_key = ranked[0]
    runner = ranked[1][0] if len(ranked) > 1 else 0.0
    candidates = tuple(display(key)[0] for _, key in ranked)
    if top >= o.min_confidence and top - runner >= o.margin:
        user, host = display(top_key)
        return Verdict(STATUS_IDENTIFIED, user, host, round(top, 3), candidates, lines_of((top_key,), False))
    status = STATUS_AMBIGUOUS if len(ranked) > 1 else STATUS_UNIDENTIFIED
    return Verdict(status, "", "", round(top, 3), candidates, lines_of(key for _, key in ranked))


def resolve(e: AuditEntry, pending: Pending, store: EvidenceStore, o: Options) -> Verdict:
    """Phase two: interval rules, lead expansion and scoring."""
    leads = list(pending.leads)
    for rule in INTERVAL_RULES:
        leads.extend(rule(e, pending, store, o))
    expanded = [expand(lead, store, o) for lead in leads]
    clues, dangling = clues_of(tied(expanded))
    return score(clues, dangling, o)


def _identities(lead: Lead) -> Set[str]:
    found = set()
    if lead.user and is_person(lead.user):
        found.add("u:" + user_key(lead.user))
    if lead.host:
        found.add("h:" + host_key(lead.host))
    if lead.internal_ip:
        found.add("i:" + lead.internal_ip)
    return found


def tied(leads: Sequence[Lead]) -> List[Lead]:
    """Keep a fingerprint (selector) lead only if other evidence names the same person, device or address.

    A proxy or DNS record of the same API host in the same second, with an agent many people share
    or none at all, says nothing about *this* call unless the caller's address already leads to
    that laptop or person; then it picks between the people behind a shared address.
    """
    named: Set[str] = set()
    for lead in leads:
        if not lead.selector:
            named |= _identities(lead)
    return [lead for lead in leads if not lead.selector or _identities(lead) & named]


def not_masked(e: AuditEntry) -> Verdict:
    """The principal is visible: it is the answer, and the audit entry is the evidence."""
    text = line("gcp:audit", e.time, f"{e.method} principalEmail={e.principal}"
                + (f" insertId={e.insert_id}" if e.insert_id else ""))
    return Verdict(STATUS_NOT_MASKED, e.principal, "", 1.0, (e.principal,), (text,))
