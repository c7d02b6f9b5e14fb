"""Read Splunk ``.conf`` files and ``.conf.spec`` files the way splunkd does.

A ``.conf`` file is stanzas of ``key = value`` lines; a trailing backslash continues a value on the
next line, ``#`` starts a comment only at the beginning of a line, and settings before the first
stanza belong to ``[default]``. Duplicate keys are kept so a checker can flag them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
SPEC_DIR = Path(__file__).resolve().parent / "splunk-spec" / "9.2"


@dataclass
class Setting:
    key: str
    value: str
    line: int


@dataclass
class Stanza:
    name: str
    line: int
    settings: List[Setting] = field(default_factory=list)

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        for setting in reversed(self.settings):
            if setting.key == key:
                return setting.value
        return default

    def as_dict(self) -> Dict[str, str]:
        return {s.key: s.value for s in self.settings}


@dataclass
class ConfFile:
    path: Path
    stanzas: List[Stanza]
    errors: List[str]

    def stanza(self, name: str) -> Optional[Stanza]:
        for stanza in self.stanzas:
            if stanza.name == name:
                return stanza
        return None

    def __iter__(self) -> Iterator[Stanza]:
        return iter(self.stanzas)


_STANZA = re.compile(r"^\[(.*)\]\s*$")
_SETTING = re.compile(r"^([^=\n]+?)\s*=\s?(.*)$", re.S)


def _logical_lines(text: str) -> Iterator[Tuple[int, str]]:
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = i
        line = lines[i]
        while line.endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line[:-1] + "\n" + lines[i]
        yield start + 1, line
        i += 1


def parse_conf(path: Path) -> ConfFile:
    stanzas = [Stanza("default", 0)]
    errors: List[str] = []
    for number, line in _logical_lines(path.read_text(encoding="utf-8")):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _STANZA.match(stripped)
        if match:
            stanzas.append(Stanza(match.group(1), number))
            continue
        match = _SETTING.match(line)
        if not match:
            errors.append(f"{path.name}:{number}: not a stanza header or setting: {stripped[:60]}")
            continue
        stanzas[-1].settings.append(Setting(match.group(1).strip(), match.group(2).strip(), number))
    if not stanzas[0].settings:
        stanzas.pop(0)
    return ConfFile(path, stanzas, errors)


# --- spec files ------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"<[^<>]*>")
_SPEC_KEY = re.compile(r"^([A-Za-z0-9_<$\[][^=\s]*(?: [^=\s]+)*?)\s*=")


def _pattern(text: str) -> re.Pattern[str]:
    """A spec name (``action.<action_name>.param.<p>``) as a regex; ``<...>`` matches anything."""
    parts = _PLACEHOLDER.split(text)
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$", re.S)


@dataclass
class SpecStanza:
    header: str
    keys: List[str] = field(default_factory=list)

    @property
    def literal(self) -> bool:
        return "<" not in self.header


@dataclass
class Spec:
    name: str
    global_keys: List[str]
    stanzas: List[SpecStanza]

    def keys_for(self, stanza: str) -> List[str]:
        """Setting names allowed in a stanza: a literal spec stanza wins over patterns."""
        if stanza == "default":
            return self.global_keys + [k for s in self.stanzas for k in s.keys]
        literal = [s for s in self.stanzas if s.literal and s.header == stanza]
        chosen = literal or [s for s in self.stanzas if not s.literal and _pattern(s.header).match(stanza)]
        return self.global_keys + [k for s in chosen for k in s.keys]

    def allows(self, stanza: str, key: str) -> bool:
        return any(k == key or _pattern(k).match(key) for k in self.keys_for(stanza))


def parse_spec(*paths: Path) -> Spec:
    global_keys: List[str] = []
    stanzas: List[SpecStanza] = []
    current: Optional[SpecStanza] = None
    for path in paths:
        current = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("[") and line.rstrip().endswith("]"):
                current = SpecStanza(line.strip()[1:-1])
                stanzas.append(current)
                continue
            match = _SPEC_KEY.match(line)
            if match:
                (current.keys if current else global_keys).append(match.group(1).strip())
    return Spec(paths[0].name.replace(".spec", ""), global_keys, stanzas)


def spec_for(conf_name: str, app_root: Path = ROOT, spec_dir: Path = SPEC_DIR) -> Optional[Spec]:
    """Splunk's spec for ``<conf_name>.conf`` merged with the app's own ``README/`` spec, if any."""
    paths = [p for p in (spec_dir / f"{conf_name}.conf.spec", app_root / "README" / f"{conf_name}.conf.spec")
             if p.is_file()]
    return parse_spec(*paths) if paths else None
