"""The scheduled correlation and the alerts' reads, run end to end on the SPL evaluator.

:func:`correlate_command` is ``correlatepolicydenied`` as a custom command of the evaluator: the
engine itself (``Correlator``) over the search's results, with the options the search passes
parsed by the command's own option table. :func:`run_saved_search` runs a saved search of the app
(macros expanded) over indexed events at a given time, with the KV store kept in an
:class:`~devtools.evalspl.Env` between runs, so that a test can run the summary twice over
overlapping windows and read it back the way the alerts do.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from guardrail.correlate.engine import Correlator
from guardrail.correlate.options import parse_options
from guardrail.correlate.render import to_record

from devtools.conf import ROOT, parse_conf
from devtools.evalspl import Env, EvalError, Fields, KVStore, run_search
from devtools.splcheck import AppContent, expand

__all__ = ["CHECKS", "COLLECTION", "SUMMARY", "correlate_command", "environment", "run_saved_search", "verdicts"]

SUMMARY = "guardrail_correlation_summary"
CHECKS = "guardrail_nat_log_checks"  # counts the NAT log's checks into guardrail_nat_log_checks
COLLECTION = "guardrail_verdicts"  # the KV store collection behind guardrail_verdicts_lookup


def correlate_command(rows: List[Fields], args: str, env: Env) -> List[Fields]:
    """``correlatepolicydenied <options>`` over ``rows`` (newest first, as the search hands them)."""
    raw: Dict[str, str] = {}
    for word in args.split():
        name, eq, value = word.partition("=")
        if not eq:
            raise EvalError(f"correlatepolicydenied argument {word!r} is not name=value")
        raw[name] = value
    engine = Correlator(parse_options(raw))
    released = engine.feed_records(rows) + engine.finish()
    return [dict(to_record(item)) for item in released]


def environment(events: Sequence[Fields], now: float, kvstore: Optional[KVStore] = None) -> Env:
    return Env(events=events, now=now, kvstore=kvstore if kvstore is not None else KVStore(),
               commands={"correlatepolicydenied": correlate_command})


def verdicts(store: KVStore) -> Dict[str, Fields]:
    """The summary's records by their ``_key`` (the denied entry's insertId)."""
    return {str(record["_key"]): {k: [str(x) for x in v] if isinstance(v, list) else str(v) for k, v in record.items()}
            for record in store.records(COLLECTION)}


def expanded(text: str, content: Optional[AppContent] = None) -> str:
    problems: List[str] = []
    out = expand(text, content or AppContent.load(), problems)
    if problems:
        raise EvalError("; ".join(problems))
    return out


def saved_search(name: str) -> str:
    stanza = parse_conf(ROOT / "default" / "savedsearches.conf").stanza(name)
    if stanza is None:
        raise KeyError(name)
    return stanza.get("search") or ""


def run_saved_search(name: str, env: Env, content: Optional[AppContent] = None) -> List[Fields]:
    """A saved search of the app, macros expanded, at ``env.now``."""
    return run_search(expanded(saved_search(name), content), env)
