"""Office days whose site B firewall loses a given share of its translations, correlated in process.

``python -m devtools.scenarios.lossy --loss 0.02,0.05,0.1 --seeds 13,14`` prints, per day, the calls
the logs can attribute, the names given, the right ones, and the names given where the truth is
"cannot tell" (every call through site B: its firewall is lossy, whatever the share). The labelled
office day of the scenario ring is one of these (30%); the others show how far the NAT log's
checks see a firewall that loses less (docs/scale.md, "What was tried").
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from guardrail.correlate.options import Options, parse_options

from devtools.scenarios import evaluate
from devtools.scenarios.office import OfficeDay
from devtools.scenarios.world import DAY0, World


def day(share: float, seed: int, denials: int = 400, options: Optional[Options] = None) -> evaluate.Result:
    """One office day whose site B firewall loses ``share`` of its translations, scored newest first."""
    return evaluate.run_in_process(OfficeDay(World(seed, DAY0), denials=denials, lossy_share=share).simulate(), "desc",
                                   options=options)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loss", default="0.02,0.05,0.1", help="shares of site B's translations lost, comma-separated")
    ap.add_argument("--seeds", default="13,14", help="world seeds, comma-separated")
    ap.add_argument("--denials", type=int, default=400)
    ap.add_argument("--options", default="", help="command options, e.g. natlog=summary natlog_window=12h")
    args = ap.parse_args(argv)
    options = parse_options(dict(word.split("=", 1) for word in args.options.split()))
    print("| loss | seed | attributable | names | right | named where the truth is cannot tell |")
    print("|---|---|---|---|---|---|")
    for share in (float(x) for x in args.loss.split(",")):
        for seed in (int(x) for x in args.seeds.split(",")):
            r = day(share, seed, args.denials, options)
            print(f"| {share:.0%} | {seed} | {r.attributable} | {r.names_given} | {r.right} | "
                  f"{r.named_when_cannot_tell} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
