"""Run splunk-appinspect (Splunk Cloud vetting) on the built package and judge its JSON report.

AppInspect exits 0 even when checks fail, so the verdict comes from the report's summary: any
failure, error or future failure fails the build. Warnings are listed; the two that every app with
Python code gets are expected.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
BLOCKING = ("failure", "error", "future_failure")


def run(package: Path, report: Path) -> Dict[str, Any]:
    report.parent.mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).with_name("splunk-appinspect")
    cmd = [str(exe), "inspect", str(package), "--mode", "precert", "--included-tags", "cloud",
           "--skip-trusted-libraries-update", "--data-format", "json", "--output-file", str(report)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if not report.is_file():
        raise SystemExit(f"appinspect wrote no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    data: Dict[str, Any] = json.loads(report.read_text())
    return data


def findings(data: Dict[str, Any], results: tuple[str, ...]) -> List[str]:
    out = []
    for report in data.get("reports", []):
        for group in report.get("groups", []):
            for check in group.get("checks", []):
                if check.get("result") in results:
                    messages = "; ".join(m.get("message", "")[:300] for m in check.get("messages", []))
                    out.append(f"{check.get('result')}: {check.get('name')}: {messages}")
    return out


def summary(data: Dict[str, Any]) -> Dict[str, int]:
    return {k: int(v) for k, v in data.get("summary", {}).items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("package", type=Path)
    parser.add_argument("--report", type=Path, default=ROOT / "build" / "appinspect.json")
    args = parser.parse_args()
    data = run(args.package, args.report)
    for line in findings(data, ("failure", "error", "future_failure", "warning")):
        print(line)
    counts = summary(data)
    print("appinspect summary:", json.dumps(counts, sort_keys=True))
    return 1 if any(counts.get(k, 0) for k in BLOCKING) else 0


if __name__ == "__main__":
    sys.exit(main())
