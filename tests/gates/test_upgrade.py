"""Upgrades keep a site's data: on the packaged files, install release N, edit the site data through
the app's own lookup definitions, install release N+1 over it, and read every row back.

Install is what `splunk install app <package> -update 1` does to the app folder: the package's files
are written over the installed ones; `local/` and the KV store (kept outside the app folder, here
a directory standing in for $SPLUNK_DB/kvstore) are not in the package and stay. The same check run
on a lookup kept in a shipped CSV shows the edit lost, so the test can tell the difference. The
release ledger (docs/releases.md) holds `build` going up with every release."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Dict, List, Tuple

import guardrail
import pytest

from devtools import evalspl
from devtools import package as packager
from devtools.conf import parse_conf

ROOT = Path(__file__).resolve().parents[2]
APP = packager.APP_ID
SITE_DATA = ("guardrail_allowlist", "egress_networks", "gcp_project_services", "cloud_accounts",
             "aws_control_tower_accounts")


def ledger() -> List[Tuple[str, int]]:
    """(version, build) rows of docs/releases.md, newest first."""
    rows = re.findall(r"^\| (\d+\.\d+\.\d+) \| (\d+) \|", (ROOT / "docs" / "releases.md").read_text(), re.M)
    return [(version, int(build)) for version, build in rows]


def test_build_goes_up_with_every_release() -> None:
    rows = ledger()
    assert rows, "docs/releases.md lists the releases"
    build = parse_conf(ROOT / "default" / "app.conf").stanza("install").get("build")  # type: ignore[union-attr]
    assert rows[0] == (guardrail.__version__, int(build or 0)), "a new version needs a new ledger row and build"
    versions = [tuple(int(p) for p in v.split(".")) for v, _ in rows]
    builds = [b for _, b in rows]
    assert versions == sorted(set(versions), reverse=True), "one row per version, newest first"
    assert builds == sorted(set(builds), reverse=True) and builds[-1] >= 1, "build goes up with every release"


def test_readme_upgrades_with_update_1() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"splunk install app dist/gcp_guardrail-<version>\.tgz -update 1", readme)


def test_site_data_ships_as_empty_kv_store_lookups_with_examples_no_lookup_reads() -> None:
    transforms = {s.name: s for s in parse_conf(ROOT / "default" / "transforms.conf")}
    collections = {s.name for s in parse_conf(ROOT / "default" / "collections.conf")}
    shipped = {p.name for p in (ROOT / "lookups").glob("*.csv")}
    filenames = {s.get("filename") for s in transforms.values() if s.get("filename")}
    for name in SITE_DATA:
        stanza = transforms[name]
        assert stanza.get("external_type") == "kvstore" and stanza.get("collection") in collections, name
        assert f"{name}.csv" not in shipped, f"{name}: a shipped CSV is replaced by every upgrade"
        assert f"{name}.example.csv" in shipped, name
    # examples are not rules: no lookup definition reads one
    assert not [f for f in filenames if f and f.endswith(".example.csv")]


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    """Release N (this tree, packaged as for Splunk) and release N+1 (the same files, next version
    and build, repackaged)."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, str(ROOT / "devtools" / "package.py"), "--dist", str(dist)], check=True)
    first = dist / f"{APP}-{packager.version()}.tgz"
    major, minor, patch = (int(p) for p in packager.version().split("."))
    nxt = f"{major}.{minor}.{patch + 1}"
    src = tmp_path_factory.mktemp("next")
    with tarfile.open(first) as tar:
        tar.extractall(src, filter="data")
    app_conf = src / APP / "default" / "app.conf"
    text = app_conf.read_text(encoding="utf-8")
    build = int(re.search(r"^build = (\d+)$", text, re.M).group(1))  # type: ignore[union-attr]
    text = re.sub(r"^build = \d+$", f"build = {build + 1}", text, flags=re.M)
    app_conf.write_text(re.sub(r"^version = .*$", f"version = {nxt}", text, flags=re.M), encoding="utf-8")
    manifest = src / APP / "app.manifest"
    manifest.write_text(manifest.read_text().replace(f'"version": "{packager.version()}"', f'"version": "{nxt}"'))
    second = dist / f"{APP}-{nxt}.tgz"
    with tarfile.open(second, "w:gz") as tar:
        for path in sorted((src / APP).rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                info = tarfile.TarInfo(f"{APP}/{path.relative_to(src / APP).as_posix()}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return first, second


def install(package: Path, home: Path) -> Path:
    """`splunk install app <package> -update 1`: the package's files over the installed app."""
    apps = home / "etc" / "apps"
    apps.mkdir(parents=True, exist_ok=True)
    with tarfile.open(package) as tar:
        names = tar.getnames()
        assert all(n == APP or n.startswith(f"{APP}/") for n in names)
        assert not [n for n in names if n.startswith(f"{APP}/local/")], "a package never carries local/"
        tar.extractall(apps, filter="data")
    return apps / APP


def rows_for(app: Path, name: str) -> List[evalspl.Fields]:
    """Two rows an admin might enter, one value in every column of the lookup."""
    lookup = evalspl.Lookup.load(name, app)
    columns = [c for c in lookup.fields_list if c != "_key"] if lookup.is_kvstore else list(lookup.rows[0])
    return [{c: f"site-{name}-{i}-{c}" for c in columns} for i in (1, 2)]


def read(app: Path, name: str, store: evalspl.KVStore) -> List[Dict[str, str]]:
    rows = evalspl.run_pipeline(f"| inputlookup {name}", [], root=app, kvstore=store)
    return [{k: str(v) for k, v in row.items() if k != "_key"} for row in rows]


def test_an_upgrade_keeps_the_site_data(packages: Tuple[Path, Path], tmp_path: Path) -> None:
    first, second = packages
    kvstore_dir = tmp_path / "var" / "lib" / "splunk" / "kvstore" / APP
    app = install(first, tmp_path)
    store = evalspl.KVStore(kvstore_dir)
    written: Dict[str, List[evalspl.Fields]] = {}
    for name in SITE_DATA:
        assert read(app, name, store) == [], f"{name} ships with rows"
        written[name] = rows_for(app, name)
        evalspl.run_pipeline(f"outputlookup append=true {name}", written[name], root=app, kvstore=store)
    (app / "local").mkdir()
    (app / "local" / "macros.conf").write_text("[securityhub_index]\ndefinition = (index=aws_security)\n")

    upgraded = install(second, tmp_path)
    assert upgraded == app
    build = parse_conf(app / "default" / "app.conf").stanza("install").get("build")  # type: ignore[union-attr]
    assert int(build or 0) == ledger()[0][1] + 1, "release N+1 is installed"
    store = evalspl.KVStore(kvstore_dir)  # splunkd restarted: the KV store read back from its files
    for name in SITE_DATA:
        assert read(app, name, store) == [{k: str(v) for k, v in r.items()} for r in written[name]], name
    assert "(index=aws_security)" in (app / "local" / "macros.conf").read_text()


def test_the_check_sees_an_edit_lost_from_a_shipped_csv(packages: Tuple[Path, Path], tmp_path: Path) -> None:
    """The same steps on a lookup kept in a shipped CSV (reference data, as site data was in 1.0):
    the upgrade puts the shipped file back and the admin's rows are gone."""
    first, second = packages
    app = install(first, tmp_path)
    store = evalspl.KVStore(tmp_path / "kvstore")
    name = "gcp_org_policy_constraints"
    before = read(app, name, store)
    evalspl.run_pipeline(f"outputlookup append=true {name}", rows_for(app, name), root=app, kvstore=store)
    assert len(read(app, name, store)) == len(before) + 2
    install(second, tmp_path)
    assert read(app, name, store) == before, "the shipped CSV replaced the edited one"
    shutil.rmtree(app)
