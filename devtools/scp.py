"""A splunkd stand-in for the chunked search command protocol (SCP v2).

It spawns a ``bin/*.py`` command with a chosen Python and nothing but the app on its path, the way
splunkd does, and speaks the wire format both ways: ``chunked 1.0,<meta bytes>,<body bytes>\\n``
followed by JSON metadata and a CSV body. Multivalue fields travel as ``__mv_<field>`` columns
(``$a$;$b$`` with ``$`` doubled inside) beside the plain column holding the values joined by newlines.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from guardrail.correlate.splunkcsv import decode_mv as engine_decode_mv
from guardrail.correlate.splunkcsv import encode_mv_column

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / "bin"

Value = Union[str, Sequence[str]]
Row = Mapping[str, Value]

# The interpreters Splunk ships: 3.9 in Splunk 9.x, 3.13 in Splunk 10.2+.
RUNTIMES = {"3.9": "3.9.18", "3.13": "3.13.0"}


def pyenv_root() -> Path:
    env = os.environ.get("PYENV_ROOT")
    if env:
        return Path(env)
    exe = shutil.which("pyenv")
    if exe:
        out = subprocess.run([exe, "root"], capture_output=True, text=True, check=False).stdout.strip()
        if out:
            return Path(out)
    return Path.home() / ".pyenv"


def runtime(version: str) -> Optional[str]:
    """Path of the interpreter for a Splunk Python version, or None when it is not installed."""
    exe = pyenv_root() / "versions" / RUNTIMES[version] / "bin" / "python"
    return str(exe) if exe.exists() else None


def encode_mv(values: Sequence[str]) -> str:
    """The ``__mv_`` text of a list, as splunkd writes it (a one-value list too)."""
    return encode_mv_column(values)


def decode_mv(text: str) -> List[str]:
    """The values of an ``__mv_`` column (the text itself when it is not in that encoding)."""
    values = engine_decode_mv(text)
    return values if values is not None else [text]


def encode_rows(rows: Iterable[Row]) -> str:
    """CSV body as splunkd writes it: every field of every row, ``__mv_`` columns for lists."""
    rows = list(rows)
    if not rows:
        return ""
    names: Dict[str, None] = {}
    multi: Dict[str, None] = {}
    for row in rows:
        for key, value in row.items():
            names.setdefault(key, None)
            if not isinstance(value, str):
                multi.setdefault(key, None)
    header = list(names) + ["__mv_" + k for k in names if k in multi]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        line = []
        for key in names:
            value = row.get(key, "")
            line.append(value if isinstance(value, str) else "\n".join(value))
        for key in names:
            if key in multi:
                value = row.get(key, "")
                line.append("" if isinstance(value, str) else encode_mv(value))
        writer.writerow(line)
    return out.getvalue()


def decode_rows(body: str) -> List[Dict[str, Value]]:
    """Rows of a command's CSV reply, with ``__mv_`` columns folded back into lists."""
    if not body:
        return []
    csv.field_size_limit(2**31 - 1)  # splunkd takes fields of any size back (a _raw may be tens of MiB)
    reader = csv.reader(io.StringIO(body))
    header = next(reader)
    rows: List[Dict[str, Value]] = []
    for values in reader:
        row: Dict[str, Value] = {}
        mv: Dict[str, str] = {}
        for key, value in zip(header, values):
            if key.startswith("__mv_"):
                mv[key[5:]] = value
            else:
                row[key] = value
        for key, value in mv.items():
            if value:
                row[key] = decode_mv(value)
        rows.append(row)
    return rows


def frame(metadata: Mapping[str, Any], body: Union[str, bytes] = b"") -> bytes:
    meta = json.dumps(metadata).encode("utf-8")
    data = body.encode("utf-8") if isinstance(body, str) else body
    return f"chunked 1.0,{len(meta)},{len(data)}\n".encode() + meta + data


def getinfo_metadata(args: Sequence[str], dispatch_dir: str, command: str,
                     earliest: float = 0.0, latest: float = 0.0) -> Dict[str, Any]:
    search = f"search index=main | {command} {' '.join(args)}".strip()
    return {
        "action": "getinfo",
        "preview": False,
        "streaming_command_will_restart": False,
        "searchinfo": {
            "args": list(args),
            "raw_args": list(args),
            "dispatch_dir": dispatch_dir,
            "sid": "1764300000.42",
            "app": "gcp_guardrail",
            "owner": "analyst",
            "username": "analyst",
            "session_key": "not-a-real-session-key",
            "splunkd_uri": "https://127.0.0.1:1",
            "splunk_version": "9.2.1",
            "search": urllib.parse.quote(search),
            "command": command,
            "earliest_time": str(earliest),
            "latest_time": str(latest),
            "maxresultrows": 50000,
        },
    }


@dataclass
class Reply:
    metadata: Dict[str, Any]
    body: str
    rows: List[Dict[str, Value]] = field(default_factory=list)

    @property
    def messages(self) -> List[List[str]]:
        return list(self.metadata.get("inspector", {}).get("messages", []))


class CommandError(AssertionError):
    pass


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    data = b""
    while len(data) < size:
        part = stream.read(size - len(data))
        if not part:
            raise CommandError(f"command closed its output after {len(data)} of {size} bytes")
        data += part
    return data


class ScpSession:
    """One command process, driven chunk by chunk like splunkd does."""

    def __init__(self, script: Union[str, Path], python: str, args: Sequence[str] = (),
                 env: Optional[Mapping[str, str]] = None) -> None:
        self.script = Path(script)
        self.args = list(args)
        self.dispatch_dir = tempfile.mkdtemp(prefix="dispatch-")
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        child_env["PYTHONDONTWRITEBYTECODE"] = "1"
        child_env.update(env or {})
        # No arguments: splunklib then speaks SCP v2, exactly as under chunked = true.
        self.proc = subprocess.Popen(
            [python, str(self.script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=self.dispatch_dir, env=child_env,
        )
        self.getinfo_seconds = 0.0

    def _send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_reply(self) -> Reply:
        assert self.proc.stdout is not None
        header = self.proc.stdout.readline()
        if not header:
            raise CommandError("command ended without a reply; stderr:\n" + self.stderr())
        parts = header.decode().strip().split(",")
        if len(parts) != 3 or parts[0] != "chunked 1.0":
            raise CommandError(f"bad reply header {header!r}")
        meta = json.loads(_read_exact(self.proc.stdout, int(parts[1])).decode("utf-8"))
        body = _read_exact(self.proc.stdout, int(parts[2])).decode("utf-8")
        return Reply(meta, body, decode_rows(body))

    def getinfo(self, earliest: float = 0.0, latest: float = 0.0) -> Reply:
        start = time.perf_counter()
        self._send(frame(getinfo_metadata(self.args, self.dispatch_dir, self.script.stem,
                                          earliest, latest)))
        reply = self.read_reply()
        self.getinfo_seconds = time.perf_counter() - start
        return reply

    def execute(self, rows: Iterable[Row], finished: bool = False,
                body: Optional[Union[str, bytes]] = None) -> Reply:
        payload = encode_rows(rows) if body is None else body
        self._send(frame({"action": "execute", "finished": finished}, payload))
        return self.read_reply()

    def send_raw(self, data: bytes) -> None:
        self._send(data)

    def close(self, timeout: float = 60) -> int:
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        shutil.rmtree(self.dispatch_dir, ignore_errors=True)
        return code

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode("utf-8", "replace")

    def __enter__(self) -> ScpSession:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dispatch_dir, ignore_errors=True)


@dataclass
class Run:
    getinfo: Reply
    replies: List[Reply]
    returncode: int
    stderr: str

    @property
    def rows(self) -> List[Dict[str, Value]]:
        return [row for reply in self.replies for row in reply.rows]

    @property
    def messages(self) -> List[List[str]]:
        return [m for reply in [self.getinfo, *self.replies] for m in reply.messages]


def run_command(script: Union[str, Path], python: str, args: Sequence[str],
                rows: Sequence[Row], chunk_size: int = 50000,
                env: Optional[Mapping[str, str]] = None) -> Run:
    """Drive a command through getinfo and every execute chunk, the last one ``finished``."""
    with ScpSession(script, python, args, env) as session:
        info = session.getinfo()
        replies: List[Reply] = []
        if info.metadata.get("error") or session.proc.poll() is not None:
            code = session.close()
            return Run(info, replies, code, session.stderr())
        chunks = [rows[i:i + chunk_size] for i in range(0, len(rows), chunk_size)] or [[]]
        for index, chunk in enumerate(chunks):
            replies.append(session.execute(chunk, finished=index == len(chunks) - 1))
        code = session.close()
        return Run(info, replies, code, session.stderr())
