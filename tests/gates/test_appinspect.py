"""Splunk Cloud vetting: the built package passes splunk-appinspect and holds only what Splunk needs."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any, Dict

import pytest

from devtools import appinspect, package

ROOT = Path(__file__).resolve().parents[2]

# Warnings that any app with Python code gets, and the notice every app with a KV store collection
# gets ("No action required").
EXPECTED_WARNINGS = {
    "check_for_python_script_existence": None,
    "check_python_sdk_version": None,
    "check_collections_conf": "default/collections.conf",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(ROOT / "devtools" / "package.py"), "--dist", str(dist)], check=True)
    return dist / f"gcp_guardrail-{package.version()}.tgz"


@pytest.fixture(scope="module")
def report(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    return appinspect.run(built, tmp_path_factory.mktemp("report") / "appinspect.json")


def test_appinspect_cloud_vetting_has_no_failures(report: Dict[str, Any]) -> None:
    counts = appinspect.summary(report)
    assert counts["success"] > 50, counts
    blocking = appinspect.findings(report, appinspect.BLOCKING)
    assert blocking == [], "\n".join(blocking)
    assert {k: counts[k] for k in appinspect.BLOCKING} == {"failure": 0, "error": 0, "future_failure": 0}


def test_only_known_warnings_remain(report: Dict[str, Any]) -> None:
    unexpected = []
    for group in (g for r in report["reports"] for g in r["groups"]):
        for check in group["checks"]:
            if check["result"] != "warning":
                continue
            name = check["name"]
            files = {m.get("message_filename") for m in check.get("messages", [])}
            expected_file = EXPECTED_WARNINGS.get(name, "")
            if name not in EXPECTED_WARNINGS or (expected_file and files != {expected_file}):
                unexpected.append(f"{name}: {files}")
    assert unexpected == [], "\n".join(unexpected)


def test_package_holds_only_what_splunk_needs(built: Path) -> None:
    with tarfile.open(built) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert all(n.startswith("gcp_guardrail/") for n in names)
    rel = [n.split("/", 1)[1] for n in names]
    assert "app.manifest" in rel and "default/app.conf" in rel and "metadata/default.meta" in rel
    assert "bin/lib/splunklib/searchcommands/__init__.py" in rel
    for forbidden in ("tests/", "devtools/", "Makefile", ".ci/", "node_modules", "__pycache__", "local/"):
        assert not [r for r in rel if forbidden in r], forbidden
    assert not [r for r in rel if any(p.startswith(".") for p in r.split("/"))]
    assert not [r for r in rel if r.endswith((".pyc", ".pyo", ".so"))]
    executable_data = [m.name for m in members if m.mode & 0o111 and not m.name.endswith(".py")]
    assert executable_data == []
