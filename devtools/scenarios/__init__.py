"""Labelled scenarios for ``correlatepolicydenied``: worlds of people, devices and addresses that
produce Splunk result rows with ground truth, and the evaluation of the real command against them.

    world      people, devices, addresses; the truth labels (Truth, Scenario)
    builder    rows exactly as Splunk hands them to the command
    catalogue  the scenarios: each chain, each trap, realistic days
    traps      one scenario per way weighing the evidence went wrong
    build      background noise, build_all, the CSV form, ``python -m devtools.scenarios.build``
    evaluate   run the real command over SCP v2 and score it against the truth
"""

from .build import SCENARIOS, build_all, noise, read_csv, write_csv
from .builder import Builder
from .world import CORP, DAY0, Row, Scenario, Truth, World, ipv6_forms, norm_user

__all__ = ["CORP", "DAY0", "SCENARIOS", "Builder", "Row", "Scenario", "Truth", "World", "build_all",
           "ipv6_forms", "noise", "norm_user", "read_csv", "write_csv"]
