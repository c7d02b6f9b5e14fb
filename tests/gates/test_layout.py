"""The app's shape: one version, a pure engine, no third-party code in git, Splunk-ready metadata."""

from __future__ import annotations

import ast
import json
import re
import struct
import subprocess
from pathlib import Path

import guardrail

from devtools.conf import parse_conf

ROOT = Path(__file__).resolve().parents[2]


def tracked(*paths: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", "--", *paths], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return out.split()


def test_version_is_held_in_one_place() -> None:
    app = parse_conf(ROOT / "default" / "app.conf")
    manifest = json.loads((ROOT / "app.manifest").read_text())
    assert re.fullmatch(r"\d+\.\d+\.\d+", guardrail.__version__)
    assert app.stanza("launcher").get("version") == guardrail.__version__  # type: ignore[union-attr]
    assert app.stanza("id").get("version") == guardrail.__version__  # type: ignore[union-attr]
    assert manifest["info"]["id"]["version"] == guardrail.__version__


def test_app_identity() -> None:
    app = parse_conf(ROOT / "default" / "app.conf")
    manifest = json.loads((ROOT / "app.manifest").read_text())
    assert manifest["schemaVersion"] == "2.0.0"
    assert manifest["info"]["id"]["name"] == "gcp_guardrail"
    assert manifest["info"]["title"] == "GCP Guardrail Monitor"
    assert app.stanza("package").get("id") == "gcp_guardrail"  # type: ignore[union-attr]
    assert app.stanza("ui").get("label") == "GCP Guardrail Monitor"  # type: ignore[union-attr]
    for stanza in ("launcher", "package", "install", "ui", "id"):
        assert app.stanza(stanza) is not None, stanza


def test_engine_never_imports_splunk() -> None:
    offenders = []
    for path in (ROOT / "bin" / "guardrail").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in {"splunklib", "splunk"}]
    assert offenders == []


def test_no_third_party_code_is_tracked_under_bin() -> None:
    files = tracked("bin")
    assert files, "nothing tracked under bin/"
    ours = re.compile(r"^bin/([A-Za-z_][\w]*\.py|guardrail/[\w/]+\.(py|typed))$")
    assert [f for f in files if not ours.match(f)] == []
    assert not [f for f in files if f.startswith("bin/lib/")]


def test_build_output_is_not_tracked() -> None:
    files = tracked(".")
    assert not [f for f in files if re.search(r"(^|/)(__pycache__|node_modules|dist|build)/|\.pyc$", f)]


def test_gitignore_keeps_app_files() -> None:
    for path in ("app.manifest", "bin/guardrail/lib/x.py", "lookups/x.csv", "default/app.conf"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert result.returncode == 1, f"{path} would be ignored"
    for path in ("bin/lib/splunklib/__init__.py", "dist/x.tgz", ".venv/bin/python"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert result.returncode == 0, f"{path} is not ignored"


def test_default_meta_grants_write_to_admins_only() -> None:
    meta = parse_conf(ROOT / "metadata" / "default.meta")
    access = meta.stanza("").get("access")  # type: ignore[union-attr]
    assert access is not None
    assert re.search(r"read\s*:\s*\[\s*\*\s*\]", access)
    write = re.search(r"write\s*:\s*\[([^\]]*)\]", access)
    assert write and {w.strip() for w in write.group(1).split(",")} == {"admin", "sc_admin"}
    for kind in ("commands", "macros", "lookups", "eventtypes"):
        assert meta.stanza(kind).get("export") == "system", kind  # type: ignore[union-attr]


def test_icons_have_splunk_sizes() -> None:
    for name, size in (("appIcon", 36), ("appIcon_2x", 72), ("appIconAlt", 36), ("appIconAlt_2x", 72)):
        data = (ROOT / "appserver" / "static" / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (size, size), name


def test_readme_opens_with_demo_and_test() -> None:
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:25])
    assert "make demo" in head and "make test" in head
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_nav_lists_only_existing_views() -> None:
    nav = (ROOT / "default" / "data" / "ui" / "nav" / "default.xml").read_text()
    builtin = {"search", "dashboards", "alerts", "reports", "analytics_workspace", "datasets"}
    views = {p.stem for p in (ROOT / "default" / "data" / "ui" / "views").glob("*.xml")}
    for name in re.findall(r'<view\s+name="([^"]+)"', nav):
        assert name in builtin | views, name


def test_runtime_dependencies_are_pinned() -> None:
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            assert not line or re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.]+", line), f"{name}: {line}"
    assert "splunk-sdk==2.1.1" in (ROOT / "requirements.txt").read_text()


PRODUCTS = ("correlate", "notify", "configcost")


def test_one_package_per_product() -> None:
    engine = ROOT / "bin" / "guardrail"
    assert sorted(p.name for p in engine.glob("*.py")) == ["__init__.py", "errors.py"]
    packages = sorted(p.name for p in engine.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert packages == sorted(PRODUCTS)
    for name in PRODUCTS:
        assert (engine / name / "__init__.py").is_file(), name


def _imported_modules(path: Path, package: str) -> list[str]:
    """Absolute names of the modules ``path`` (in package ``guardrail.<package>``) imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ["guardrail", package][: max(0, 3 - node.level)]
                found.append(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.append(node.module)
    return found


def test_no_product_imports_another() -> None:
    offenders = []
    for name in PRODUCTS:
        for path in (ROOT / "bin" / "guardrail" / name).rglob("*.py"):
            for module in _imported_modules(path, name):
                parts = module.split(".")
                if parts[0] == "guardrail" and len(parts) > 1 and parts[1] in PRODUCTS and parts[1] != name:
                    offenders.append(f"{name}/{path.name} imports {module}")
    assert offenders == []


def test_every_error_derives_from_the_root_and_is_drawn_in_the_tree() -> None:
    import importlib
    import inspect

    from guardrail import errors

    classes = {}
    for module in ("guardrail.errors", "guardrail.correlate.options", "guardrail.notify.config",
                   "guardrail.notify.transport", "guardrail.notify.secret", "guardrail.notify.send",
                   "guardrail.configcost.model"):
        for _, cls in inspect.getmembers(importlib.import_module(module), inspect.isclass):
            if issubclass(cls, Exception) and cls.__module__.startswith("guardrail."):
                classes[cls.__name__] = cls
    tree = errors.__doc__ or ""
    for name, cls in classes.items():
        assert issubclass(cls, errors.GuardrailError), name
        assert re.search(rf"[─ ]{name}\b", tree), f"{name} is missing from the tree in errors.py"
    drawn = set(re.findall(r"[├└]── (\w+)", tree))
    assert drawn == set(classes) - {"GuardrailError"}
