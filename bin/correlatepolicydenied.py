"""correlatepolicydenied: name the person behind masked GCP Policy Denied events.

Thin adapter: splunklib speaks SCP v2, :class:`scp_fastpath.FastChunkMixin` moves the rows (and
reads any chunk body without ending the search), and :class:`guardrail.correlate.Correlator` does
the work. A centralized (stateful) streaming command:
``distributed=False`` keeps it on the search head, where the whole time-ordered stream meets
(evidence on one indexer must meet a denied event from another), while rows still stream
through chunk by chunk; an events-type (dataset processing) command would make splunkd collect
the whole result set first.
"""

import gc
import os
import sys

import bootstrap  # noqa: F401  (puts bin/lib on sys.path before splunklib is imported)
from guardrail.correlate.engine import Correlator
from guardrail.correlate.lookupfile import lookup_path, read_rows
from guardrail.correlate.options import OPTION_TABLE, parse_options
from guardrail.correlate.render import ChunkTable, to_record
from guardrail.errors import OptionError
from scp_fastpath import FastChunkMixin
from splunklib.searchcommands import Configuration, Option, StreamingCommand, dispatch

LOOKUPS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lookups")


class CorrelatePolicyDeniedCommand(FastChunkMixin, StreamingCommand):
    """
    **Syntax:**
    correlatepolicydenied [window=<duration>] [skew=<duration>] [network_tolerance=<duration>]
    [fingerprint_window=<duration>] [lookback=<duration>] [selfjoin_window=<duration>] [agent_window=<duration>]
    [min_confidence=<num>] [margin=<num>] [keep_evidence=<bool>] [max_buffer=<int>]
    [evidence=<string>] [natlog=<string>] [natlog_window=<duration>]

    **Description:**
    Correlates GCP Policy Denied audit events whose caller Google masked with endpoint evidence in
    the same stream (DHCP, VPN, proxy, NAT, authentication by CIM tag; CrowdStrike FDR) and with
    other GCP audit entries, and adds match_status, identified_user, identified_user_key (one
    comparison key per person, whatever the spelling: lower case, no DOMAIN\\ prefix, no @domain
    suffix; Google service accounts keep their full address), identified_host,
    match_confidence, candidate_users, match_evidence and the normalised caller_ip,
    caller_user_agent, gcp_project, gcp_service, gcp_method, gcp_resource, gcp_principal and
    gcp_violation. Evidence rows are dropped unless keep_evidence=true.
    """

    def prepare(self):
        # Rows and evidence are acyclic and die by reference counting; the default gen-0 threshold
        # (700) would rescan the held window hundreds of times per chunk.
        gc.set_threshold(50_000, 50, 1000)
        given = {spec.name: str(getattr(self, spec.name)) for spec in OPTION_TABLE
                 if getattr(self, spec.name) is not None}
        if self.fieldnames:
            # a bare word is an option whose "=value" was lost (`lookback 6h`): never silently the default
            self.write_error("{}", "correlatepolicydenied takes options as name=value and no field names: "
                                   + " ".join(self.fieldnames))
            sys.exit(1)
        try:
            options = parse_options(given)
            self._engine = Correlator(options)
            if options.evidence:
                self._engine.preload(read_rows(lookup_path(LOOKUPS, options.evidence)))
        except OptionError as error:
            self.write_error("{}", error)  # the text may hold braces: never a format string
            sys.exit(1)
        except Exception as error:  # whatever stops the start must reach the job inspector
            self.write_error("{}", f"correlatepolicydenied could not start: {type(error).__name__}: {error}")
            sys.exit(1)

    def fast_chunk(self, header, rows, finished):
        released = self._engine.feed_rows(header, rows) if header else []
        if finished:
            released += self._engine.finish()
        self._report(finished)
        if not released:
            return [], []
        table = ChunkTable(released)
        return table.header, table.rows()

    def stream(self, records):
        # The SDK's own record path (SCP v1, or an SDK without the fast path's attributes).
        released = self._engine.feed_records(records)
        if self._finished:
            released += self._engine.finish()
        self._report(self._finished)
        for item in released:
            yield to_record(item)

    def columns_repeated(self, names):
        # the SDK's record path dropped these repeats; the engine counts them as feed_rows would
        self._engine.columns_repeated(names)

    def _report(self, finished):
        # what the chunk reader repaired (NUL characters; on the SDK's path also ragged rows) is
        # counted with the engine's own reasons
        self._engine.stats.update(self.take_input_counts())
        for text in self._engine.take_warnings():
            self.write_warning("{}", text)
        if finished:
            skipped = any(key.startswith(("bad:", "fixed:")) for key in self._engine.stats)
            (self.write_warning if skipped else self.write_info)("{}", self._engine.summary())


# The options come from the engine's one option table; splunklib reads them off the class when
# Configuration decorates it.
for _spec in OPTION_TABLE:
    setattr(CorrelatePolicyDeniedCommand, _spec.name,
            Option(doc=f"{_spec.help} (default {_spec.default_text}).", require=False))
CorrelatePolicyDeniedCommand = Configuration(distributed=False)(CorrelatePolicyDeniedCommand)

dispatch(CorrelatePolicyDeniedCommand, sys.argv, sys.stdin, sys.stdout, __name__, allow_empty_input=True)
