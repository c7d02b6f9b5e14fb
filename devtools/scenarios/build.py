"""Deterministic scenario generator with labelled ground truth for ``correlatepolicydenied``.

Each scenario is a small world (people, laptops, office egresses, home connections) that produces
Splunk result rows exactly as ``docs/correlation-contract.md`` describes them: Cloud Audit LogEntries in
``_raw`` (bare or wrapped by the Pub/Sub input, sometimes with extracted fields, with or without the
``data.`` prefix), CIM evidence told apart by the ``tag`` multivalue field, and CrowdStrike FDR rows.

Every policy-denied event carries its ground truth, keyed by the LogEntry ``insertId``: the person
who really made the call, or ``None`` where the evidence honestly does not determine it ("cannot
tell"; the command must not name anyone there). All scenarios are built in one ``World`` so their
addresses, devices and people never collide, and the combined stream is the union of them all.

Usage: ``python -m devtools.scenarios.build --out DIR`` writes one CSV per scenario and
``truth.json``; tests call :func:`build_all` directly.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from guardrail.correlate.splunkcsv import MV_PREFIX, decode_mv, encode_mv_column

from .builder import Builder
from .catalogue import CHAINS
from .office import sc_office_day
from .traps import TRAPS
from .world import CORP, DAY0, OTHER_HOSTS, Row, Scenario, World

# --------------------------------------------------------------------------------------------------
# background noise: unrelated evidence and GCP activity with its own people and addresses


#: Every scenario: the chains and traps of the catalogue, then the traps of weighing evidence.
SCENARIOS = [*CHAINS, *TRAPS, sc_office_day]


def noise(w: World, rows: int, start: float, end: float) -> List[Row]:
    """Unrelated evidence (never about a scenario's addresses, devices or people)."""
    b = Builder(w, "noise", "background")
    people = [w.user() for _ in range(40)]
    egress = [w.office_egress() for _ in range(2)]
    devices = []
    for p in people:
        host, mac = w.device()
        ip = w.internal_ip()
        devices.append((p, host, mac, ip))
        b.dhcp(start - b.rng.randrange(600, 3600), ip, host, mac, 86400)
        b.logon(start - b.rng.randrange(60, 600), p, host)
    homes = [(p, w.public_ip()) for p in people[:20]]
    for p, home in homes:
        b.vpn(start - 300, home, f"10.249.0.{b.rng.randrange(2, 250)}", p, w.device()[0], int(end - start))
    while len(b.scenario.rows) < rows:
        t = start + b.rng.random() * (end - start)
        p, host, mac, ip = b.rng.choice(devices)
        kind = b.rng.randrange(8)
        if kind == 0:
            b.proxy(t, ip, p, b.rng.choice(OTHER_HOSTS), w.browser_ua()[1])
        elif kind == 1:
            first = b.rng.choice([13, 20, 52, 104])
            b.nat(t, ip, b.rng.choice(egress),
                  f"{first}.{b.rng.randrange(256)}.{b.rng.randrange(256)}.{b.rng.randrange(1, 255)}")
        elif kind == 2:
            hp, home = b.rng.choice(homes)
            b.idp(t, hp, home, w.browser_ua()[1])
        elif kind == 3:
            hp, home = b.rng.choice(homes)
            b.edr(t, b.rng.choice(["ProcessRollup2", "NetworkConnectIP4", "DnsRequest"]), home,
                  f"192.168.1.{b.rng.randrange(2, 250)}", host, user=hp if b.rng.random() < 0.5 else None,
                  domain=b.rng.choice(OTHER_HOSTS))
        elif kind == 4:
            b.gcp_activity(t, p + "@" + CORP, b.rng.choice(egress), w.gcloud_ua("gcloud.compute.instances.list")[0])
        elif kind == 5:
            b.dhcp(t, ip, host, mac, 86400)  # renewals
        elif kind == 6:
            b.logon(t, p, host, src="10.0.0.5", logon_type=3)  # network logons to the device
        else:
            b.proxy(t, ip, p, b.rng.choice(["fonts.googleapis.com", "maps.googleapis.com"]),
                    w.browser_ua()[1])
    return b.scenario.rows


# --------------------------------------------------------------------------------------------------


#: Every scenario but the simulated office day: small worlds of one chain or trap each (the bench's
#: stream is made of these, so its numbers stay comparable from release to release).
SMALL_WORLDS = [*CHAINS, *TRAPS]


def build_all(seed: int = 20251120, per_scenario: int = 12, noise_factor: int = 20,
              day0: float = DAY0, kinds: Sequence[Callable[[World, int], Scenario]] = (),
              device_base: int = 0) -> List[Scenario]:
    """Every scenario (``kinds``, default all) with its own background noise, then ``combined``."""
    w = World(seed, day0, device_base)
    scenarios = [fn(w, per_scenario) for fn in (kinds or SCENARIOS)]
    combined = Scenario("combined", "every scenario and all background noise in one stream")
    for sc in scenarios:
        times = [float(str(r["_time"])) for r in sc.rows if float(str(r["_time"])) > day0 - 3600]
        bg = noise(w, noise_factor * max(1, sc.denied_count), min(times) - 1800, max(times) + 1800)
        combined.rows.extend(sc.rows)
        combined.rows.extend(bg)
        combined.truth.update(sc.truth)
        sc.rows.extend(bg)
    return [*scenarios, combined]


def write_csv(path: Path, rows: Sequence[Row]) -> None:
    """A scenario as a Splunk-style CSV export (``__mv_`` columns for multivalue fields)."""
    names: Dict[str, None] = {}
    multi: Dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            names.setdefault(key, None)
            if isinstance(value, list):
                multi.setdefault(key, None)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow([*names, *(MV_PREFIX + k for k in multi)])
        for row in rows:
            line = [v if isinstance(v, str) else "\n".join(v) for v in (row.get(k, "") for k in names)]
            for k in multi:
                v = row.get(k, "")
                line.append(encode_mv_column(v) if isinstance(v, list) else "")
            out.writerow(line)


def read_csv(path: Path) -> List[Row]:
    """Rows of a CSV written by :func:`write_csv` (or exported by Splunk); empty fields left out."""
    rows: List[Row] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            row: Row = {}
            for k, v in rec.items():
                if k.startswith(MV_PREFIX):
                    continue
                values = decode_mv(rec.get(MV_PREFIX + k) or "")
                if values is not None:
                    row[k] = values
                elif v != "":
                    row[k] = v
            rows.append(row)
    return rows


def main(argv: Optional[Iterable[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=20251120)
    ap.add_argument("--per-scenario", type=int, default=12)
    args = ap.parse_args(list(argv) if argv is not None else None)
    args.out.mkdir(parents=True, exist_ok=True)
    truth: Dict[str, object] = {}
    for sc in build_all(args.seed, args.per_scenario):
        write_csv(args.out / (f"{sc.name}.csv"), sc.newest_first())
        truth[sc.name] = {"description": sc.description,
                          "events": [t.as_dict() for t in sc.truth.values()]}
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
