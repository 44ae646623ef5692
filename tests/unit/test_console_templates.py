"""What the Content-Security-Policy would block never appears in a console template: no
inline script, no style attribute or element, no event handler attribute, no asset from
elsewhere; and every page extends base.html (the macros in templates/shared are no pages)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
SHARED = sorted((TEMPLATES / "shared").glob("*.html"))  # macros the pages import, not pages
PAGES = sorted(p for p in TEMPLATES.rglob("*.html") if p.name != "base.html" and p not in SHARED)
FORBIDDEN = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "asset from elsewhere": re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I),
}


@pytest.mark.parametrize("template", [*PAGES, *SHARED, TEMPLATES / "base.html"],
                         ids=lambda p: p.name)
def test_a_template_has_nothing_the_policy_would_block(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    found = [name for name, pattern in FORBIDDEN.items() if pattern.search(text)]
    assert found == [], f"{template.name}: {found}"


@pytest.mark.parametrize("template", PAGES, ids=lambda p: p.name)
def test_every_page_extends_the_base(template: Path) -> None:
    assert template.read_text(encoding="utf-8").startswith('{% extends "base.html" %}')


def test_the_checks_catch_what_they_look_for() -> None:
    for sample in ('<script>alert(1)</script>', '<p style="color:red">', '<a onclick="x()">',
                   '<style>p{}</style>', '<a href="javascript:x()">',
                   '<img src="https://cdn.example/x.png">'):
        assert any(p.search(sample) for p in FORBIDDEN.values()), sample
    assert not any(p.search('<script src="/console/static/console.js" defer></script>')
                   for p in FORBIDDEN.values())
