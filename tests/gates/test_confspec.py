"""Every setting the app ships is one Splunk knows (9.2 specs), and the checker itself can fail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devtools import confcheck
from devtools.conf import SPEC_DIR, parse_conf, spec_for

ROOT = Path(__file__).resolve().parents[2]


def test_spec_files_are_present() -> None:
    assert (SPEC_DIR / "savedsearches.conf.spec").is_file(), f"Splunk specs missing at {SPEC_DIR}"


@pytest.mark.parametrize("path", confcheck.conf_files(), ids=lambda p: p.name)
def test_every_setting_is_in_the_spec(path: Path) -> None:
    assert confcheck.check_file(path) == []


def test_ksconf_syntax_check_passes() -> None:
    files = [str(p) for p in confcheck.conf_files()]
    proc = subprocess.run([str(Path(sys.executable).with_name("ksconf")), "check", *files],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _check(tmp_path: Path, name: str, text: str) -> list[str]:
    (tmp_path / "default").mkdir(exist_ok=True)
    path = tmp_path / "default" / name
    path.write_text(text)
    return confcheck.check_file(path, root=tmp_path)


def test_misspelled_setting_is_caught(tmp_path: Path) -> None:
    problems = _check(tmp_path, "savedsearches.conf", "[x]\nsearch = *\nalert.suppress.perod = 1h\n")
    assert len(problems) == 1 and "alert.suppress.perod" in problems[0]


def test_wildcard_settings_match_their_patterns(tmp_path: Path) -> None:
    text = "[x]\naction.guardrail_notify.param.channel = soc\nEVAL-gcp_project = 1\n"
    assert _check(tmp_path, "savedsearches.conf", "[x]\naction.guardrail_notify.param.channel = soc\n") == []
    assert _check(tmp_path, "props.conf", "[st]\nEVAL-gcp_project = 1\nREPORT-a = b\n") == []
    assert len(_check(tmp_path, "props.conf", "[st]\nEVIL-gcp_project = 1\n")) == 1
    assert text  # both patterns above are the ones the app relies on


def test_literal_stanza_limits_its_settings(tmp_path: Path) -> None:
    assert _check(tmp_path, "app.conf", "[launcher]\nversion = 1.0.0\n") == []
    problems = _check(tmp_path, "app.conf", "[launcher]\nlabel = wrong place\n")
    assert len(problems) == 1 and "'label'" in problems[0]


def test_duplicate_setting_is_caught(tmp_path: Path) -> None:
    problems = _check(tmp_path, "macros.conf", "[m]\ndefinition = a\ndefinition = b\n")
    assert any("duplicate" in p for p in problems)


def test_unknown_conf_file_needs_an_app_spec(tmp_path: Path) -> None:
    problems = _check(tmp_path, "guardrail_settings.conf", "[x]\na = 1\n")
    assert problems and "no spec file" in problems[0]
    (tmp_path / "README").mkdir()
    (tmp_path / "README" / "guardrail_settings.conf.spec").write_text("[<name>]\na = <int>\n")
    assert _check(tmp_path, "guardrail_settings.conf", "[x]\na = 1\n") == []


def test_meta_settings_are_checked(tmp_path: Path) -> None:
    (tmp_path / "metadata").mkdir()
    path = tmp_path / "metadata" / "default.meta"
    path.write_text("[]\naccess = read : [ * ]\nexprot = system\n")
    problems = confcheck.check_file(path, root=tmp_path)
    assert len(problems) == 1 and "exprot" in problems[0]


def test_continuation_lines_join_into_one_value(tmp_path: Path) -> None:
    path = tmp_path / "macros.conf"
    path.write_text("[m]\ndefinition = search a \\\n| stats count\n")
    assert parse_conf(path).stanza("m").get("definition") == "search a \n| stats count"  # type: ignore[union-attr]


def test_app_spec_is_merged_with_splunks(tmp_path: Path) -> None:
    spec = spec_for("alert_actions", ROOT)
    assert spec is not None and spec.allows("email", "from")
