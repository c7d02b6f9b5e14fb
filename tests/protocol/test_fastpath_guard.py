"""correlatepolicydenied must move its rows through scp_fastpath, never silently through splunklib's
record path (half the speed, docs/benchmarks.md). The command runs unchanged inside a wrapper that
marks every chunk splunklib's own ``_execute_chunk_v2`` handles (tests/protocol/commands/
fastpath_guard.py), over SCP v2, under the Pythons of Splunk 9.x and 10.x.

If this fails after an SDK upgrade: the vendored splunk-sdk no longer has the record writer the fast
path relies on (scp_fastpath.py's docstring names the attributes). Keep splunk-sdk 2.1.1
(requirements.txt) while Splunk 9.x, whose commands run on Python 3.9, is supported: 3.x needs 3.13.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

from devtools.scp import ROOT, decode_rows, run_command

GUARD = Path(__file__).resolve().parent / "commands" / "fastpath_guard.py"
FIXTURE = ROOT / "tests" / "fixtures" / "correlate_shared_egress"
MARK = "FASTPATH-GUARD: splunklib record path ran for a chunk"


def rows() -> List[Dict[str, Any]]:
    return decode_rows((FIXTURE / "input.csv").read_text(encoding="utf-8"))


def sdk_version() -> str:
    text = (ROOT / "bin" / "lib" / "splunklib" / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r"__version_info__ = \(([^)]*)\)", text)
    return ".".join(part.strip() for part in found.group(1).split(",")) if found else "unknown"


def test_every_chunk_takes_the_fast_path(splunk_python: str) -> None:
    run = run_command(GUARD, splunk_python, [], rows(), chunk_size=4)
    assert run.returncode == 0, run.stderr
    assert len(run.replies) > 3 and run.rows
    fallbacks = run.stderr.count(MARK)
    assert fallbacks == 0, (
        f"correlatepolicydenied fell back to splunklib's record path for {fallbacks} of {len(run.replies)} chunks "
        f"with splunk-sdk {sdk_version()}: the fast path's assumptions about the SDK's RecordWriter no longer hold")


def test_the_guard_sees_a_fallback(splunk_python: str) -> None:
    """Control: a record writer that does not buffer in io.StringIO makes the fast path hand every
    chunk to splunklib; the command still answers, and the guard counts each of those chunks."""
    run = run_command(GUARD, splunk_python, [], rows(), chunk_size=4, env={"FASTPATH_GUARD_SIMULATE": "other_buffer"})
    assert run.returncode == 0, run.stderr
    assert run.stderr.count(MARK) == len(run.replies) > 3
    fast = run_command(GUARD, splunk_python, [], rows(), chunk_size=4)
    key = sorted({k for row in fast.rows for k in row} - {"_raw"})
    assert sorted({tuple(str(r.get(k)) for k in key) for r in run.rows}) == \
        sorted({tuple(str(r.get(k)) for k in key) for r in fast.rows})


def test_splunk_sdk_stays_2_1_1_while_splunk_9_is_supported() -> None:
    """splunk-sdk 3.x requires Python 3.13; Splunk 9.x runs commands on 3.9 (commands.conf
    python.required). AppInspect's notice asking for 3.x is expected (tests/gates/test_appinspect.py)."""
    from devtools.conf import parse_conf

    pins = re.findall(r"^splunk-sdk==(\S+)$", (ROOT / "requirements.txt").read_text(encoding="utf-8"), re.M)
    required = {s.name: (s.get("python.required") or "") for s in parse_conf(ROOT / "default" / "commands.conf")
                if s.name != "default"}
    assert required and all("3.9" in value.split(",") for value in required.values()), required
    assert pins == ["2.1.1"]
    assert sdk_version() == "2.1.1", "bin/lib holds another splunk-sdk than requirements.txt pins: run `make vendor`"
