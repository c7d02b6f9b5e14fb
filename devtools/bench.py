"""`make bench`: correlatepolicydenied against a splunklib floor over one large mixed stream.

The stream (default 1M rows, about 4 % policy-denied, the rest endpoint evidence and other GCP
activity) is built once from the scenario generator, one independent day per block, and written to a
file as CSV chunk bodies the way splunkd sends them: newest first, 50k rows per chunk, one header
with every field and an ``__mv_`` column beside each. Both commands are then spawned like splunkd
does (SCP v2, no arguments) and fed the same bytes, at 100k rows and at the full volume, under
each Python that Splunk ships (3.9 for Splunk 9.x, 3.13 for 10.2+) when pyenv has it.

Reported per run: rows/s (rows in / time from the first execute chunk to the last reply), the
ratio command / floor, the child's peak RSS (``ru_maxrss`` of that child from ``wait4``) and the
getinfo latency (from spawning the process to its getinfo reply). Numbers only, no assertions;
they go to the terminal and to ``build/bench.json``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from devtools.scenarios import DAY0, Row, build_all, norm_user
from devtools.scenarios.build import SMALL_WORLDS
from devtools.scenarios.evaluate import insert_id
from devtools.scp import ScpSession, encode_mv, runtime

ROOT = Path(__file__).resolve().parent.parent

COMMAND = ROOT / "bin" / "correlatepolicydenied.py"
FLOOR = ROOT / "devtools" / "floor.py"
STREAM_VERSION = "5"  # bump when the generator or the encoding changes
BLOCK_SECONDS = 3 * 86400  # each block is its own day, with "yesterday" before it


# ---- the stream --------------------------------------------------------------------------------


def _blocks(rows: int, seed: int, spacing: int):  # type: ignore[no-untyped-def]
    """Blocks of rows, newest block first, each sorted newest first; ``rows`` in total.

    Blocks ``spacing`` seconds apart that overlap in time (a dense stream) come as one block,
    sorted as a whole; their truth means nothing then (the same addresses recur in every block).
    """
    made = 0
    block = 0
    dense = spacing < 2 * 86400
    held: List[Row] = []
    held_ids: Dict[str, Tuple[Optional[str], str]] = {}
    while made < rows:
        sc = build_all(seed=seed + block, per_scenario=20, day0=DAY0 - block * spacing, kinds=SMALL_WORLDS,
                       device_base=100_000 * block)[-1]
        part = sc.newest_first()[: rows - made]
        made += len(part)
        block += 1
        ids = {insert_id(r) for r in part}
        if dense:
            held.extend(part)
            held_ids.update((k, (None, "dense stream: no truth")) for k in sc.truth if k in ids)
            continue
        yield part, {k: (v.user, f"{v.scenario}: {v.note}") for k, v in sc.truth.items() if k in ids}
    if dense:
        held.sort(key=lambda r: -float(str(r["_time"])))
        yield held, held_ids


def build_stream(path: Path, rows: int, chunk: int, seed: int, spacing: int = BLOCK_SECONDS) -> Dict[str, object]:
    """Write the chunk bodies to ``path`` and an index beside it; reuse them when already there."""
    index_path = path.with_suffix(".json")
    generator = b"".join(p.read_bytes() for p in sorted((ROOT / "devtools" / "scenarios").glob("*.py")))
    key = hashlib.sha256(f"{STREAM_VERSION}|{rows}|{chunk}|{seed}|{spacing}|".encode() + generator).hexdigest()[:16]
    if index_path.exists() and path.exists():
        index = json.loads(index_path.read_text())
        if index.get("key") == key:
            return dict(index)
    started = time.perf_counter()
    # Pass 1: rows as JSON lines (to know every field name before writing one header).
    names: Dict[str, None] = {}
    denied = 0
    truth: Dict[str, Tuple[Optional[str], str]] = {}
    tmp = path.with_suffix(".jsonl")
    with tmp.open("w", encoding="utf-8") as fh:
        for part, block_truth in _blocks(rows, seed, spacing):
            denied += len(block_truth)
            truth.update(block_truth)
            for row in part:
                for k in row:
                    names.setdefault(k, None)
                fh.write(json.dumps(row) + "\n")
    header = sorted(names, key=lambda k: (not k.startswith("_"), k))
    # Pass 2: CSV bodies, every field with its __mv_ column, as splunkd writes them.
    chunks: List[Tuple[int, int, int]] = []
    with tmp.open(encoding="utf-8") as src, path.open("wb") as out:
        buf: List[Dict[str, object]] = []

        def flush() -> None:
            text = io.StringIO()
            w = csv.writer(text, lineterminator="\r\n")
            w.writerow(header + ["__mv_" + k for k in header])
            for r in buf:
                vals = [r.get(k, "") for k in header]
                w.writerow([v if isinstance(v, str) else "\n".join(v) for v in vals]  # type: ignore[arg-type]
                           + [encode_mv(v) if isinstance(v, list) else "" for v in vals])
            data = text.getvalue().encode("utf-8")
            chunks.append((out.tell(), len(data), len(buf)))
            out.write(data)
            buf.clear()

        for line in src:
            buf.append(json.loads(line))
            if len(buf) == chunk:
                flush()
        if buf:
            flush()
    tmp.unlink()
    index = {"key": key, "rows": rows, "denied": denied, "fields": len(header), "chunk": chunk,
             "chunks": chunks, "bytes": path.stat().st_size, "seconds": round(time.perf_counter() - started, 1)}
    path.with_suffix(".truth.json").write_text(json.dumps(truth))
    index_path.write_text(json.dumps(index))
    return index


# ---- one run -----------------------------------------------------------------------------------


def accuracy(verdicts: Dict[str, Tuple[str, str]], truth: Dict[str, List[Optional[str]]]) -> Dict[str, object]:
    """Precision and coverage of the command's names over the whole stream (same rules as the scenarios)."""
    names = right = cannot_tell_named = 0
    wrong: List[str] = []
    for iid, (status, user) in verdicts.items():
        if status not in ("identified", "not_masked") or not user:
            continue
        names += 1
        expected, note = truth[iid]
        if expected is not None and norm_user(user) == expected:
            right += 1
            continue
        cannot_tell_named += expected is None
        wrong.append(f"{iid} [{note}] expected={expected or 'cannot tell'} got={user} status={status}")
    attributable = sum(1 for iid in verdicts if truth[iid][0])
    return {"names": names, "right": right, "attributable": attributable,
            "precision": round(right / names, 4) if names else None,
            "coverage": round(right / attributable, 4) if attributable else None,
            "named_when_cannot_tell": cannot_tell_named, "wrong": wrong[:20]}


def _vm_hwm_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def run(script: Path, python: str, stream: Path, chunks: List[List[int]], rows: int) -> Dict[str, object]:
    """Drive ``script`` over the first ``rows`` rows of the stream; measure it."""
    use = []
    total = 0
    for off, size, n in chunks:
        if total >= rows:
            break
        use.append((off, size, n))
        total += n
    spawn = time.perf_counter()
    session = ScpSession(script, python)
    try:
        info = session.getinfo()
        getinfo_s = time.perf_counter() - spawn
        if info.metadata.get("error"):
            raise RuntimeError(f"getinfo failed: {info.metadata}")
        out_rows = 0
        verdicts: Dict[str, Tuple[str, str]] = {}
        started = time.perf_counter()
        with stream.open("rb") as fh:
            for i, (off, size, _n) in enumerate(use):
                fh.seek(off)
                body = fh.read(size)
                reply = session.execute([], finished=i == len(use) - 1, body=body)
                if reply.metadata.get("error"):
                    raise RuntimeError(f"execute failed: {reply.metadata}")
                out_rows += len(reply.rows)
                for row in reply.rows:
                    iid = insert_id(row)
                    if iid:
                        verdicts[iid] = (str(row.get("match_status", "")), str(row.get("identified_user", "")))
        elapsed = time.perf_counter() - started
        # VmHWM of the live child: its own high-water mark since exec. (ru_maxrss from wait4 is not
        # usable here: Linux carries the parent's resident size at fork into the child's maximum.)
        peak_kib = _vm_hwm_kib(session.proc.pid)
        assert session.proc.stdin is not None
        session.proc.stdin.close()
        _pid, status, usage = os.wait4(session.proc.pid, 0)
        session.proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        session.__exit__(None, None, None)
    return {
        "command": script.stem, "rows_in": total, "rows_out": out_rows, "seconds": round(elapsed, 2),
        "rows_per_s": round(total / elapsed), "peak_rss_mib": round(peak_kib / 1024, 1),
        "rows_per_cpu_s": round(total / max(usage.ru_utime + usage.ru_stime, 1e-9)),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "getinfo_s": round(getinfo_s, 3),
        "exit": session.proc.returncode, "verdicts": verdicts,
    }


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000, help="the smaller volume for the RSS comparison")
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--spacing", type=int, default=BLOCK_SECONDS,
                    help="seconds between generated days; below two days the stream is dense (overlapping days)")
    ap.add_argument("--python", action="append",
                    help="interpreter(s) for both commands (default: Splunk's 3.9 and 3.13, else this one)")
    ap.add_argument("--stream", type=Path, default=ROOT / "build" / "bench" / "stream.csvchunks")
    ap.add_argument("--json", type=Path, default=ROOT / "build" / "bench.json")
    args = ap.parse_args(argv)
    if not COMMAND.exists():
        print(f"bench: {COMMAND.relative_to(ROOT)} does not exist yet")
        return 1
    args.stream.parent.mkdir(parents=True, exist_ok=True)
    index = build_stream(args.stream, args.rows, args.chunk, args.seed, args.spacing)
    truth = json.loads(args.stream.with_suffix(".truth.json").read_text())
    n_rows, n_denied = int(index["rows"]), int(index["denied"])  # type: ignore[call-overload]
    print(f"stream: {n_rows} rows ({n_denied} policy-denied, {100.0 * n_denied / n_rows:.1f} %), "
          f"{index['fields']} fields, {int(index['bytes']) / 2 ** 20:.0f} MiB "  # type: ignore[call-overload]
          f"in {len(index['chunks'])} chunks of {args.chunk}, newest first")  # type: ignore[arg-type]
    pythons = args.python or [p for p in (runtime("3.9"), runtime("3.13")) if p] or [sys.executable]
    results: List[Dict[str, object]] = []
    for python in pythons:
        label = python.split("/versions/")[-1].split("/")[0] if "/versions/" in python else platform.python_version()
        for rows in (args.small, args.rows):
            for script in (FLOOR, COMMAND):
                r = run(script, python, args.stream, index["chunks"], rows)  # type: ignore[arg-type]
                r["python"] = label
                verdicts = r.pop("verdicts")
                if script == COMMAND and args.spacing >= 2 * 86400:
                    r["accuracy"] = accuracy(verdicts, truth)  # type: ignore[arg-type]
                results.append(r)
                print(f"  {r['command']:<22} py{label:<7} {r['rows_in']:>8} rows in {r['rows_out']:>6} out "
                      f"{r['seconds']:>7} s {r['rows_per_s']:>7} rows/s  peak RSS {r['peak_rss_mib']:>6} MiB  "
                      f"cpu {r['cpu_s']:>6} s  getinfo {r['getinfo_s']} s")
                if "accuracy" in r:
                    acc = dict(r["accuracy"])  # type: ignore[call-overload]
                    wrong = acc.pop("wrong")
                    print(f"    verdicts against ground truth: {acc}")
                    for line in wrong[:3]:
                        print(f"      e.g. {line}")
    summary = []
    print("\n| python | rows | floor rows/s | command rows/s | ratio | ratio (CPU time) | floor RSS MiB | "
          "command RSS MiB | RSS delta MiB | command getinfo s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for i in range(0, len(results), 2):
        f, c = results[i], results[i + 1]
        ratio = float(c["rows_per_s"]) / float(f["rows_per_s"])  # type: ignore[arg-type]
        cpu_ratio = float(c["rows_per_cpu_s"]) / float(f["rows_per_cpu_s"])  # type: ignore[arg-type]
        delta = float(c["peak_rss_mib"]) - float(f["peak_rss_mib"])  # type: ignore[arg-type]
        summary.append({"python": c["python"], "rows": c["rows_in"], "floor_rows_per_s": f["rows_per_s"],
                        "command_rows_per_s": c["rows_per_s"], "ratio": round(ratio, 3),
                        "floor_rows_per_cpu_s": f["rows_per_cpu_s"], "command_rows_per_cpu_s": c["rows_per_cpu_s"],
                        "cpu_ratio": round(cpu_ratio, 3),
                        "floor_peak_rss_mib": f["peak_rss_mib"], "command_peak_rss_mib": c["peak_rss_mib"],
                        "rss_delta_mib": round(delta, 1), "command_getinfo_s": c["getinfo_s"],
                        "floor_getinfo_s": f["getinfo_s"], "rows_out_match": f["rows_out"] == c["rows_out"]})
        print(f"| {c['python']} | {c['rows_in']} | {f['rows_per_s']} | {c['rows_per_s']} | {ratio:.2f} | "
              f"{cpu_ratio:.2f} | "
              f"{f['peak_rss_mib']} | {c['peak_rss_mib']} | {delta:+.1f} | {c['getinfo_s']} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"stream": {k: v for k, v in index.items() if k != "chunks"},
                                     "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                                     "runs": results, "summary": summary}, indent=1))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
