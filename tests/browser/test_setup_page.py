"""The setup page: an admin stores the notification webhook from Splunk Web, no management port needed.

Static checks hold the page to what Splunk Cloud accepts (a Simple XML view named by app.conf
[ui] setup_view, version 1.1, plain JavaScript from appserver/static importing no Splunk Web
library; no setup.xml, no HTML dashboard) and to admin-only access. The browser test loads the
page in headless Chromium against a loopback stand-in for Splunk Web's REST proxy
(tests/browser/setup_page.js) and writes a secret through it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List

import pytest

from devtools.conf import parse_conf
from tests.browser import dashboard_checks as dc

HERE = Path(__file__).resolve().parent
ROOT = dc.ROOT
VIEW = ROOT / "default" / "data" / "ui" / "views" / "guardrail_setup.xml"
SCRIPT = ROOT / "appserver" / "static" / "guardrail_setup.js"
BUILD = ROOT / "build" / "browser" / "setup"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ADMINS = {"admin", "sc_admin"}
STORED = "https://hooks.slack.com/services/T0AAA/B0BBB/s3cretWebhookPath"
TOKEN_URL = "https://soar.example-corp.com/hooks/guardrail"
TOKEN = "bearer-t0ken-value"
PASSWORD_ID = "gcp_guardrail:guardrail_webhook:"


def meta_access(stanza_name: str) -> Dict[str, set]:
    stanza = parse_conf(ROOT / "metadata" / "default.meta").stanza(stanza_name)
    assert stanza is not None, f"[{stanza_name}] missing from metadata/default.meta"
    access = (stanza.get("access") or "").replace(" ", "")
    found = re.fullmatch(r"read:\[([^]]*)\],write:\[([^]]*)\]", access)
    assert found, access
    return {"read": set(found.group(1).split(",")), "write": set(found.group(2).split(","))}


def test_app_conf_names_the_setup_view() -> None:
    ui = parse_conf(ROOT / "default" / "app.conf").stanza("ui")
    assert ui is not None and ui.get("setup_view") == VIEW.stem == dc.setup_view()
    assert not (ROOT / "default" / "setup.xml").exists()  # not permitted on Splunk Cloud
    assert not (ROOT / "default" / "data" / "ui" / "html").exists()  # HTML dashboards: removed


def test_view_is_simple_xml_splunk_cloud_accepts() -> None:
    root = ET.parse(VIEW).getroot()
    assert root.tag == "dashboard" and root.get("version") == "1.1"
    assert root.get("script") == SCRIPT.name
    assert (ROOT / "appserver" / "static" / (root.get("stylesheet") or "")).is_file()
    assert root.get("isVisible") == "false" and root.get("hideEdit") == "true"
    html = root.find(".//html")
    assert html is not None
    for node in html.iter():
        assert node.tag not in {"script", "iframe", "form"}, node.tag
        assert not [a for a in node.attrib if a.lower().startswith("on")], node.attrib
    nav = (ROOT / "default" / "data" / "ui" / "nav" / "default.xml").read_text(encoding="utf-8")
    assert VIEW.stem not in nav  # reached from the setup prompt and Manage Apps, not the menu


def test_page_takes_the_shared_theme() -> None:
    """The dashboards' one theme (devtools/dashboard_theme.json): the same Splunk theme, and status
    colours from its palettes."""
    shared = json.loads((ROOT / "devtools" / "dashboard_theme.json").read_text(encoding="utf-8"))
    assert ET.parse(VIEW).getroot().get("theme") == shared["theme"]
    palette = {entry["value"].lower() for entries in shared["palettes"].values() for entry in entries}
    css = (ROOT / "appserver" / "static" / "guardrail_setup.css").read_text(encoding="utf-8")
    colours = {c.lower() for c in re.findall(r"#[0-9A-Fa-f]{6}\b", css)}
    assert colours and colours <= palette, colours - palette


def test_script_uses_no_splunk_web_library_and_never_shows_the_secret() -> None:
    code = SCRIPT.read_text(encoding="utf-8")
    assert not re.search(r"\b(require|define)\s*\(", code)  # no splunkjs / Splunk Web modules (AppInspect)
    assert "innerHTML" not in code and "eval(" not in code and "console." not in code
    assert "/splunkd/__raw" in code and "X-Splunk-Form-Key" in code
    assert "/storage/passwords" in code and "output_mode=json" in code


def test_only_admins_reach_the_setup_view_and_stored_credentials() -> None:
    for stanza in (f"views/{VIEW.stem}", "passwords"):
        access = meta_access(stanza)
        assert access["read"] == ADMINS and access["write"] == ADMINS, stanza


@pytest.fixture(scope="module")
def report() -> Dict[str, Any]:
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        pytest.fail("tests/browser/node_modules is missing: run `make browser-deps` (npm ci)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)")
    BUILD.mkdir(parents=True, exist_ok=True)
    html = ET.parse(VIEW).getroot().find(".//html")
    assert html is not None
    fragment = (html.text or "") + "".join(ET.tostring(child, encoding="unicode", method="html") for child in html)
    (BUILD / "fragment.html").write_text(fragment, encoding="utf-8")
    out = BUILD / "report.json"
    if out.exists():
        out.unlink()
    screenshot = ROOT / "build" / "screenshots" / "guardrail_setup.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["node", str(HERE / "setup_page.js"), "--fragment", str(BUILD / "fragment.html"),
                           "--out", str(out), "--screenshot", str(screenshot)],
                          cwd=HERE, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    data: Dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def step(report: Dict[str, Any], name: str) -> Dict[str, Any]:
    found: Dict[str, Any] = next(s for s in report["steps"] if s["name"] == name)
    return found


def posts(requests: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [r for r in requests if r["method"] == "POST"]


@pytest.mark.slow
def test_page_loads_the_current_settings_without_errors(report: Dict[str, Any]) -> None:
    # Chromium logs every non-2xx answer; the scenarios provoke 409 (exists), 401 and 403 on purpose
    provoked = re.compile(r"error: Failed to load resource: the server responded with a status of 40[139] ")
    assert report["errors"] == [] and [c for c in report["console"] if c.startswith("error")
                                       and not provoked.match(c)] == []
    conf = parse_conf(ROOT / "default" / "alert_actions.conf").stanza("guardrail_notify")
    assert conf is not None
    assert report["initial"] == {"format": conf.get("param.format"), "allowedHosts": conf.get("param.allowed_hosts"),
                                 "secretName": conf.get("param.secret_name")}
    unexpected = [r for r in report["requests"] if r["status"] == 404]
    assert unexpected == []


@pytest.mark.slow
@pytest.mark.parametrize("name,reason", [("plain_http_refused", "only https"),
                                         ("host_not_allowed", "not in the allowed hosts"),
                                         ("backslash_refused", "no backslash"),
                                         ("numeric_host_refused", "not a plain host name or a dotted-quad")])
def test_bad_input_is_refused_before_anything_is_sent(report: Dict[str, Any], name: str, reason: str) -> None:
    seen = step(report, name)
    assert seen["statusClass"].endswith("error") and reason in seen["status"]
    assert posts(seen["requests"]) == []


@pytest.mark.slow
def test_a_secret_is_written_through_the_rest_proxy(report: Dict[str, Any]) -> None:
    seen = step(report, "store")
    assert seen["statusClass"].endswith("ok") and "stored as gcp_guardrail:guardrail_webhook" in seen["status"]
    calls = posts(seen["requests"])
    assert [c["path"] for c in calls] == [
        "/en-US/splunkd/__raw/servicesNS/nobody/gcp_guardrail/storage/passwords",
        "/en-US/splunkd/__raw/servicesNS/nobody/gcp_guardrail/configs/conf-alert_actions/guardrail_notify",
        "/en-US/splunkd/__raw/services/apps/local/gcp_guardrail",
    ]
    assert all(c["formKey"] and c["contentType"] == "application/x-www-form-urlencoded" for c in calls)
    assert calls[0]["fields"] == {"name": "guardrail_webhook", "realm": "gcp_guardrail", "password": STORED}
    assert calls[1]["fields"]["param.format"] == "slack"
    assert calls[2]["fields"] == {"configured": "1"}
    # the secret travels once, in a POST body: never in an address, never back on the page
    assert not [r for r in report["requests"] if STORED in r["path"] + r["search"]]
    assert seen["webhook"] == "" and STORED not in seen["text"] and "s3cret" not in seen["text"]


@pytest.mark.slow
def test_saving_again_replaces_the_stored_secret(report: Dict[str, Any]) -> None:
    seen = step(report, "replace_with_token")
    assert seen["statusClass"].endswith("ok") and "replaced" in seen["status"]
    calls = posts(seen["requests"])
    assert calls[0]["status"] == 409  # it exists: the entity itself is updated
    assert calls[1]["path"].endswith("/storage/passwords/gcp_guardrail%3Aguardrail_webhook%3A")
    assert json.loads(report["passwords"][PASSWORD_ID]) == {"url": TOKEN_URL, "token": TOKEN}
    assert report["conf"]["param.allowed_hosts"] == "hooks.slack.com, *.example-corp.com"
    assert report["conf"]["param.format"] == "json"
    assert seen["token"] == "" and TOKEN not in seen["text"]


@pytest.mark.slow
@pytest.mark.parametrize("name,reason", [("stale_csrf_token", "reload the page"),
                                         ("not_an_admin", "requires capability: edit_storage_passwords")])
def test_refused_writes_say_why_and_change_nothing(report: Dict[str, Any], name: str, reason: str) -> None:
    seen = step(report, name)
    assert seen["statusClass"].endswith("error") and reason in seen["status"], seen["status"]
    assert seen["buttonsEnabled"]
    assert json.loads(report["passwords"][PASSWORD_ID])["url"] == TOKEN_URL  # the earlier secret stays


@pytest.mark.slow
def test_setup_can_finish_without_a_webhook(report: Dict[str, Any]) -> None:
    seen = step(report, "skip")
    assert seen["statusClass"].endswith("ok")
    assert [c["path"] for c in posts(seen["requests"])] == ["/en-US/splunkd/__raw/services/apps/local/gcp_guardrail"]
    assert report["configured"] is True
