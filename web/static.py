"""The console's assets (CSS, JS, icons), served by the service itself from web/static/."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"


def add_static(console: web.Application) -> None:
    """Serve web/static/ at /console/static/ (no directory listing, no symlinks out)."""
    console.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
