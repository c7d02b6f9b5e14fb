"""configcost: AWS Config recording cost, continuous versus daily, from CloudTrail changes.

Thin adapter: parses options, feeds every chunk to guardrail.configcost.Estimator and writes the
estimate once splunkd sends the last chunk. All logic lives in the engine.
"""

import sys
from decimal import Decimal

import bootstrap  # noqa: F401  (puts bin/lib on sys.path before splunklib is imported)
from guardrail.configcost import Estimator, Options
from splunklib.searchcommands import Configuration, Option, ReportingCommand, dispatch, validators


@Configuration(requires_preop=False)
class ConfigCostCommand(ReportingCommand):
    """
    **Syntax:**
    configcost [snapshot_hour=<int>] [month_days=<int>]

    **Description:**
    Estimates AWS Config configuration items and their cost per account, region and resource
    type under continuous and under daily recording, from CloudTrail calls mapped by the
    aws_config_resource_types lookup, priced by the aws_config_pricing lookup and flagged by the
    aws_control_tower_accounts lookup (both appended with inputlookup append=true).
    """

    snapshot_hour = Option(
        doc="UTC hour at which each 24-hour daily-recording window starts (default 0).",
        require=False, default=0, validate=validators.Integer(0, 23))
    month_days = Option(
        doc="Days in the month used for the per-month projection (default 30).",
        require=False, default=30, validate=validators.Integer(1, 31))

    def prepare(self):
        # No super().prepare(): splunklib would announce a `phase="map"` preop even without a
        # map method, and splunkd would run that on the indexers. The estimate is one reduce.
        info = self.metadata.searchinfo if self.metadata else None
        earliest = _as_float(getattr(info, "earliest_time", None))
        latest = _as_float(getattr(info, "latest_time", None))
        self._estimator = Estimator(Options(
            snapshot_hour=int(self.snapshot_hour),
            month_days=Decimal(int(self.month_days)),
            earliest=earliest, latest=latest,
        ))

    def reduce(self, records):
        # splunklib calls reduce once per chunk: keep state and answer only on the last one.
        self._estimator.feed(records)
        if not self._finished:
            return
        result = self._estimator.finish()
        for message in result.messages:
            self.write_warning(message)
        yield from result.rows


def _as_float(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


dispatch(ConfigCostCommand, sys.argv, sys.stdin, sys.stdout, __name__, allow_empty_input=True)
