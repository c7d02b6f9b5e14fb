"""The one theme of the app's Dashboard Studio views, kept in ``devtools/dashboard_theme.json`` and stamped into each.

Dashboard Studio has no app-wide theme or style sheet: every view carries its own ``theme`` attribute, and every
visualization its own copy of the palettes and number formats its options name (``matchValue(severityColors)``,
``formatByType(countFormat)``) in its ``context``. So the theme is chosen once, in dashboard_theme.json, and this module
writes it into every view of ``default/data/ui/views`` — whatever view is added later:

* the ``<dashboard theme="...">`` attribute;
* for every palette or format dashboard_theme.json defines and a visualization's options name, the visualization's
  ``context`` copy;
* in a chart's ``seriesColorsByField``, the colour of every series a palette names (``denied`` is red wherever
  it appears).

``python -m devtools.dashboard_theme --write`` stamps every view; without ``--write`` it lists views that drift and
exits 1. The browser ring runs the check. A name a visualization uses that neither dashboard_theme.json nor its own
context defines is reported: Studio would silently leave the column uncoloured.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
VIEWS = ROOT / "default" / "data" / "ui" / "views"
THEME = Path(__file__).resolve().parent / "dashboard_theme.json"

# Dynamic-options functions that take a context entry by name.
CONTEXT_REFERENCE = re.compile(r"\b(?:matchValue|rangeValue|formatByType|pick|gradient)\((\w+)\)")
DASHBOARD_TAG = re.compile(r"<dashboard\b[^>]*>")
DEFINITION = re.compile(r"(<definition>\s*<!\[CDATA\[)(.*?)(\]\]>\s*</definition>)", re.S)


def load_theme(path: Path = THEME) -> Dict[str, Any]:
    theme: Dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return theme


def context_entries(theme: Dict[str, Any]) -> Dict[str, Any]:
    """Every named palette and number format the theme defines."""
    return {**theme.get("palettes", {}), **theme.get("formats", {})}


def series_colours(theme: Dict[str, Any]) -> Dict[str, str]:
    """Series name (lower case) -> colour, from every palette: a value means the same colour in every view,
    whether a chart names its series ``denied`` or ``Denied``."""
    colours: Dict[str, str] = {}
    for palette in theme.get("palettes", {}).values():
        for entry in palette:
            colours.setdefault(str(entry["match"]).lower(), entry["value"])
    return colours


def _strings(value: Any) -> List[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def stamp_definition(definition: Dict[str, Any], theme: Dict[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """The definition with the theme's palettes and formats copied where visualizations use them."""
    entries = context_entries(theme)
    colours = series_colours(theme)
    out = copy.deepcopy(definition)
    problems: List[str] = []
    for section in ("visualizations", "inputs"):
        for name, item in (out.get(section) or {}).items():
            options = item.get("options") or {}
            used = {m.group(1) for s in _strings(options) for m in CONTEXT_REFERENCE.finditer(s)}
            for entry in sorted(used):
                if entry in entries:
                    item.setdefault("context", {})[entry] = copy.deepcopy(entries[entry])
                elif entry not in (item.get("context") or {}):
                    problems.append(f"{section}.{name}: options name '{entry}', which neither dashboard_theme.json nor "
                                    "the visualization's context defines")
            by_field = options.get("seriesColorsByField")
            if isinstance(by_field, dict):
                for series in by_field:
                    if series.lower() in colours:
                        by_field[series] = colours[series.lower()]
    return out, problems


def split_view(text: str) -> Tuple[Optional[str], Dict[str, Any]]:
    """(theme attribute, definition) of a view file."""
    tag = DASHBOARD_TAG.search(text)
    theme = re.search(r'\btheme="([^"]*)"', tag.group(0)) if tag else None
    match = DEFINITION.search(text)
    if not match:
        raise ValueError("no <definition><![CDATA[...]]></definition>")
    return (theme.group(1) if theme else None), json.loads(match.group(2))


def stamp_view(text: str, theme: Dict[str, Any]) -> Tuple[str, List[str]]:
    """The view's text with the theme stamped in (unchanged text when it already carries it), and problems."""
    attribute, definition = split_view(text)
    stamped, problems = stamp_definition(definition, theme)
    wanted = theme["theme"]
    if attribute == wanted and stamped == definition:
        return text, problems
    tag = DASHBOARD_TAG.search(text)
    assert tag is not None  # split_view found the definition, so this is a dashboard
    old = tag.group(0)
    if attribute is None:
        new_tag = old[:-1].rstrip("/") + f' theme="{wanted}">'
    else:
        new_tag = re.sub(r'\btheme="[^"]*"', f'theme="{wanted}"', old)
    text = text[:tag.start()] + new_tag + text[tag.end():]
    if stamped != definition:
        body = json.dumps(stamped, indent=4, ensure_ascii=False)
        text = DEFINITION.sub(lambda m: f"{m.group(1)}\n{body}\n    {m.group(3)}", text, count=1)
    return text, problems


def drift(path: Path, theme: Dict[str, Any]) -> List[str]:
    """What keeps one view from carrying the theme (empty when it does)."""
    text = path.read_text(encoding="utf-8")
    stamped, problems = stamp_view(text, theme)
    if stamped != text:
        problems.insert(0, "does not carry the shared theme: run `python -m devtools.dashboard_theme --write`")
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="stamp the theme into every view")
    parser.add_argument("views", nargs="*", type=Path, help="view files (default: every view of the app)")
    args = parser.parse_args(argv)
    theme = load_theme()
    failed = False
    for path in args.views or sorted(VIEWS.glob("*.xml")):
        if args.write:
            text = path.read_text(encoding="utf-8")
            stamped, problems = stamp_view(text, theme)
            if stamped != text:
                path.write_text(stamped, encoding="utf-8")
                print(f"{path.name}: stamped")
        else:
            problems = drift(path, theme)
        for problem in problems:
            failed = True
            print(f"{path.name}: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
