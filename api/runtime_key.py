"""The application key under which handlers find the process's Runtime."""

from __future__ import annotations

from aiohttp import web

from ledger.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
