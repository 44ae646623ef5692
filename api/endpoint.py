"""One declaration per endpoint: it registers the aiohttp route *and* documents it in the
OpenAPI document, so the two cannot drift apart (tests/integration check both ways)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Endpoint:
    """A route with what OpenAPI needs to describe it."""

    method: str
    path: str
    summary: str
    handler: Handler
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    public: bool = False
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[str, ...] = field(default=())
    upload: bool = False
    form: type[BaseModel] | None = None  # a multipart form with a file (documented only)

    @property
    def path_params(self) -> list[str]:
        """Names of the ``{placeholders}`` in the path."""
        return re.findall(r"{(\w+)(?::[^}]*)?}", self.path)


class EndpointTable:
    """Collects endpoints declared with the ``route`` decorator."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(self, method: str, path: str, summary: str, *,
              body: type[BaseModel] | None = None, response: type[BaseModel] | None = None,
              status: int = 200, public: bool = False, query: tuple[tuple[str, str], ...] = (),
              headers: tuple[str, ...] = (), upload: bool = False,
              form: type[BaseModel] | None = None) -> Callable[[Handler], Handler]:
        """Declare an endpoint."""
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, summary, handler, body, response,
                                           status, public, query, headers, upload, form))
            return handler
        return register

    def add_to(self, app: web.Application) -> None:
        """Register every endpoint's route."""
        for e in self.endpoints:
            app.router.add_route(e.method, e.path, e.handler)
