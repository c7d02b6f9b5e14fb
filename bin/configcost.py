"""configcost: AWS Config recording cost, continuous versus daily, from CloudTrail changes.

Thin adapter: parses options, feeds every chunk to guardrail.configcost.Estimator and writes the
estimate once splunkd sends the last chunk. All logic lives in the engine; chunk bodies are read by
:class:`scp_fastpath.SafeInputMixin`, so no byte of input ends the search.
"""

import sys

import bootstrap  # noqa: F401  (puts bin/lib on sys.path before splunklib is imported)
from guardrail.configcost import OPTION_BOUNDS, Estimator, parse_options
from guardrail.errors import OptionError
from scp_fastpath import SafeInputMixin
from splunklib.searchcommands import Configuration, Option, ReportingCommand, dispatch


class ConfigCostCommand(SafeInputMixin, ReportingCommand):
    """
    **Syntax:**
    configcost [snapshot_hour=<int>] [month_days=<int>]

    **Description:**
    Estimates AWS Config configuration items and their cost per account, region and resource
    type under continuous and under daily recording, from CloudTrail calls mapped by the
    aws_config_resource_types lookup, priced by the aws_config_pricing lookup and flagged by the
    aws_control_tower_accounts lookup (both appended with inputlookup append=true).
    """

    def prepare(self):
        # No super().prepare(): splunklib would announce a `phase="map"` preop even without a
        # map method, and splunkd would run that on the indexers. The estimate is one reduce.
        info = self.metadata.searchinfo if self.metadata else None
        given = {name: str(getattr(self, name)) for name in OPTION_BOUNDS if getattr(self, name) is not None}
        try:
            options = parse_options(given, getattr(info, "earliest_time", None), getattr(info, "latest_time", None))
        except OptionError as error:
            self.write_error("{}", error)  # the text may hold braces: never a format string
            sys.exit(1)
        self._estimator = Estimator(options)

    def reduce(self, records):
        # splunklib calls reduce once per chunk: keep state and answer only on the last one.
        self._estimator.feed(records)
        if not self._finished:
            return
        result = self._estimator.finish()
        for message in result.messages:
            self.write_warning("{}", message)
        for reason, count in sorted(self.take_input_counts().items()):
            self.write_warning("configcost: {} {}", count, reason.split(":", 1)[-1])
        yield from result.rows


# splunklib reads the options off the class when Configuration decorates it; values are checked by
# the engine (ASCII digits, bounds) in prepare.
for _name, (_low, _high, _default, _meaning) in OPTION_BOUNDS.items():
    setattr(ConfigCostCommand, _name, Option(doc=f"{_meaning} ({_low}-{_high}, default {_default}).", require=False))
ConfigCostCommand = Configuration(requires_preop=False)(ConfigCostCommand)

dispatch(ConfigCostCommand, sys.argv, sys.stdin, sys.stdout, __name__, allow_empty_input=True)
