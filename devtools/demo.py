"""`make demo`: the motivating case end to end through the real search command protocol.

A data scientist at the head office tries to create a Vertex AI Workbench notebook four times in a
few minutes; an organization policy (``constraints/gcp.restrictServiceUsage`` with Compute Engine
not allowed) denies every attempt, and Google masks who made the call. The only address Google
saw is the office's shared egress, used by everybody there at the same moment. The bundled sample
(``samples/motivating_case/events.csv``, newest first, as Splunk hands it over) carries what the
SOC has: proxy logs, DHCP leases, Windows logons, firewall NAT logs and other GCP activity.

The demo spawns ``bin/correlatepolicydenied.py`` the way splunkd does (SCP v2, 50k-row chunks),
prints the verdict table and checks it against ``samples/motivating_case/expected.csv``.
``--regenerate`` rebuilds the sample deterministically.
"""

from __future__ import annotations

import argparse
import csv
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional

from devtools.scenarios import (
    DAY0,
    Builder,
    Row,
    World,
    norm_user,
    read_csv,
    write_csv,
)
from devtools.scp import run_command, runtime

ROOT = Path(__file__).resolve().parent.parent

SAMPLE = ROOT / "samples" / "motivating_case"
SCRIPT = ROOT / "bin" / "correlatepolicydenied.py"


def build() -> tuple[List[Row], List[Dict[str, str]]]:
    """The motivating case: returns (rows, expected verdicts keyed by insertId)."""
    w = World(417)
    b = Builder(w, "motivating_case", "Vertex AI notebook denied behind the office egress")
    egress = "203.0.113.24"          # head office: proxy and NAT egress shared by everybody there
    project = "ml-sandbox-417"
    w.project_numbers[project] = 602214076417
    t0 = DAY0 + 9 * 3600 + 14 * 60  # 09:14 UTC
    expected: List[Dict[str, str]] = []

    # The office: DHCP leases at 08:30-08:50, interactive logons, and avery.lin's address history:
    # 10.20.3.57 was a colleague's laptop until 08:41, then leased to avery.lin's laptop.
    office = [("avery.lin", "LAPTOP-0142", "00:1a:2b:3c:01:42", "10.20.3.57"),
              ("jordan.reyes", "LAPTOP-0388", "00:1a:2b:3c:03:88", "10.20.3.61"),
              ("casey.okafor", "LAPTOP-0217", "00:1a:2b:3c:02:17", "10.20.3.74"),
              ("riley.novak", "LAPTOP-0405", "00:1a:2b:3c:04:05", "10.20.4.12"),
              ("morgan.silva", "LAPTOP-0093", "00:1a:2b:3c:00:93", "10.20.4.30"),
              ("quinn.tanaka", "LAPTOP-0264", "00:1a:2b:3c:02:64", "10.20.4.44")]
    b.dhcp(t0 - 3 * 3600, "10.20.3.57", "LAPTOP-0311", "00:1a:2b:3c:03:11", 3 * 3600 - 33 * 60)
    b.logon(t0 - 3 * 3600 + 120, "harper.moreau", "LAPTOP-0311")
    for i, (user, host, mac, ip) in enumerate(office):
        lease_at = t0 - 32 * 60 if user == "avery.lin" else t0 - 40 * 60 - i * 97
        b.dhcp(lease_at, ip, host, mac, 8 * 3600)
        b.logon(lease_at + 300 + i * 31, user, host)

    ua_sent = []
    for k, offset in enumerate((5, 41, 130, 453)):
        t = t0 + offset
        log_ua, sent = w.gcloud_ua("gcloud.notebooks.instances.create")
        ua_sent.append(sent)
        b.proxy(t, "10.20.3.57", "avery.lin", "notebooks.googleapis.com", sent,
                f"/v1/projects/{project}/locations/europe-west4-a/instances?instanceId=avery-churn-nb", 403)
        b.nat(t - 1, "10.20.3.57", egress, "142.250.74.42")
        iid = b.denied(t, "avery.lin", f"attempt {k + 1}", egress, log_ua, project=project, denial=0,
                       name="avery-churn-nb", shape=["wrapped", "bare", "wrapped+fields", "bare+fields"][k],
                       via_activity=False)
        expected.append({"insert_id": iid, "match_status": "identified", "identified_user": "avery.lin",
                         "identified_host": "LAPTOP-0142"})
        # the same seconds from everybody else in the office
        for user, _host, _mac, ip in office[1:]:
            b.proxy(t + b.rng.choice([-1, 0, 1]), ip, user,
                    b.rng.choice(["outlook.office365.com", "slack.com", "github.com", "www.google.com"]),
                    w.browser_ua()[1])
            b.nat(t + b.rng.choice([-1, 0, 1]), ip, egress,
                  f"52.96.{b.rng.randrange(256)}.{b.rng.randrange(256)}")
    # a colleague lists notebooks with gcloud at the same minute (same host, another agent)
    b.proxy(t0 + 40, "10.20.3.61", "jordan.reyes", "notebooks.googleapis.com",
            w.gcloud_ua("gcloud.notebooks.instances.list")[1], f"/v1/projects/{project}/locations/-/instances")
    b.gcp_activity(t0 + 40, "jordan.reyes@example-corp.com", egress,
                   w.gcloud_ua("gcloud.notebooks.instances.list")[0], project=project,
                   service="notebooks.googleapis.com",
                   method="google.cloud.notebooks.v1.NotebookService.ListInstances",
                   resource=f"projects/{project}/locations/-", log="data_access")

    # Later: a Terraform run from the same office egress with no proxy record (direct NAT), while
    # a colleague's laptop talks to Google in the same second: nobody can be singled out.
    t1 = t0 + 50 * 60
    b.nat(t1, "10.20.4.12", egress, "142.250.74.17")
    b.nat(t1, "10.20.4.30", egress, "142.250.74.17")
    iid = b.denied(t1, None, "two laptops behind the egress", egress, w.sdk_ua()[0], project=project, denial=1,
                   via_activity=False)
    expected.append({"insert_id": iid, "match_status": "ambiguous", "identified_user": "",
                     "identified_host": ""})
    return b.scenario.newest_first(), expected


def regenerate() -> None:
    rows, expected = build()
    SAMPLE.mkdir(parents=True, exist_ok=True)
    write_csv(SAMPLE / "events.csv", rows)
    with (SAMPLE / "expected.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, ["insert_id", "match_status", "identified_user", "identified_host"])
        out.writeheader()
        out.writerows(expected)
    print(f"wrote {len(rows)} rows to {SAMPLE}")


def _first(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return str(value[0]) if value else ""
    return str(value or "")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regenerate", action="store_true", help="rebuild samples/motivating_case/")
    ap.add_argument("--python", help="interpreter for the command (default: Splunk 9's 3.9, else this one)")
    args = ap.parse_args(argv)
    if args.regenerate:
        regenerate()
        return 0
    if not SCRIPT.exists():
        print(f"demo: {SCRIPT.relative_to(ROOT)} does not exist yet")
        return 1
    from devtools.scenarios.evaluate import insert_id

    rows = read_csv(SAMPLE / "events.csv")
    with (SAMPLE / "expected.csv").open(newline="", encoding="utf-8") as fh:
        expected = {r["insert_id"]: r for r in csv.DictReader(fh)}
    python = args.python or runtime("3.9") or sys.executable
    run = run_command(SCRIPT, python, [], rows, chunk_size=50000)
    if run.returncode != 0:
        print(run.stderr)
        return 1
    version = python.split("/versions/")[-1].split("/")[0]
    print(f"Motivating case: {len(rows)} rows (newest first) through bin/correlatepolicydenied.py "
          f"over SCP v2 (python {version})")
    print(f"{len(run.rows)} rows out (evidence rows are dropped)\n")
    header = ("time (UTC)", "method", "caller_ip", "status", "identified_user", "user_key", "host", "conf", "ok")
    widths = (19, 44, 13, 12, 28, 12, 12, 5, 3)
    print("  ".join(h.ljust(wd) for h, wd in zip(header, widths)))
    print("  ".join("-" * wd for wd in widths))
    failures = 0
    for row in sorted(run.rows, key=lambda r: float(_first(r.get("_time")))):
        iid = insert_id(row)
        exp = expected.get(iid or "")
        if exp is None:
            failures += 1
            continue
        status = _first(row.get("match_status"))
        user = _first(row.get("identified_user"))
        key = _first(row.get("identified_user_key"))  # one key per person, however the evidence spelled it
        host = _first(row.get("identified_host"))
        ok = status == exp["match_status"] and norm_user(user) == norm_user(exp["identified_user"]) \
            and key == norm_user(exp["identified_user"]) \
            and (not exp["identified_host"] or host.lower() == exp["identified_host"].lower())
        failures += not ok
        when = datetime.fromtimestamp(float(_first(row.get("_time"))), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        method = _first(row.get("gcp_method"))[-44:]
        cells = (when, method, _first(row.get("caller_ip")), status, user or "-", key or "-", host or "-",
                 _first(row.get("match_confidence"))[:5], "yes" if ok else "NO")
        print("  ".join(str(c).ljust(wd) for c, wd in zip(cells, widths)))
        cands = row.get("candidate_users")
        if status == "ambiguous" and cands:
            print("      candidates: {}".format(", ".join(cands if isinstance(cands, list) else [str(cands)])))
        evidence = row.get("match_evidence") or []
        for line in (evidence if isinstance(evidence, list) else [str(evidence)])[:4]:
            print(textwrap.indent(textwrap.shorten(line, 150), "      evidence: "))
        print("      violation: {}".format(_first(row.get("gcp_violation"))))
    missing = set(expected) - {insert_id(r) for r in run.rows}
    failures += len(missing)
    print()
    if failures:
        print(f"demo: {failures} verdict(s) differ from samples/motivating_case/expected.csv")
        return 1
    print("demo: every verdict matches samples/motivating_case/expected.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
