"""One declaration per endpoint: it registers the aiohttp route *and* documents it in the
OpenAPI document, so the two cannot drift apart (tests/integration check both ways)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from api.evidence_headers import OCTET_STREAM, SERVED_AS_UPLOADED
from ledger.errors import InvalidInputError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A success response's other media types: (media type, JSON schema), e.g. a binary tile.
Media = tuple[tuple[str, dict[str, Any]], ...]
# A stored file: served as uploaded when that type is safe, else as octet-stream.
FILE: Media = tuple((media, {"type": "string", "format": "binary"})
                    for media in (OCTET_STREAM, *sorted(SERVED_AS_UPLOADED)))


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
    operation_id: str = ""  # the OpenAPI operationId; the handler's name by default
    tag: str = ""  # the OpenAPI tag; by default from the path (api/openapi.py)
    produces: Media = ()  # success media types besides (or instead of) the JSON response
    required_query: tuple[str, ...] = ()  # query parameters that must be given

    @property
    def name(self) -> str:
        """The operationId."""
        return self.operation_id or self.handler.__name__

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
              form: type[BaseModel] | None = None, operation_id: str = "", tag: str = "",
              produces: Media = (), required_query: tuple[str, ...] = ()
              ) -> Callable[[Handler], Handler]:
        """Declare an endpoint."""
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(
                method, path, summary, handler, body=body, response=response, status=status,
                public=public, query=query, headers=headers, upload=upload, form=form,
                operation_id=operation_id, tag=tag, produces=produces,
                required_query=required_query))
            return handler
        return register

    def add_to(self, app: web.Application) -> None:
        """Register every endpoint's route; a query parameter it does not declare is refused."""
        for e in self.endpoints:
            app.router.add_route(e.method, e.path, _declared_query_only(e))


def _declared_query_only(endpoint: Endpoint) -> Handler:
    """``endpoint``'s handler behind a check that the query names only declared parameters,
    each once (as its OpenAPI document says: a misspelt or repeated filter is an error, never
    silently ignored)."""
    declared = frozenset(name for name, _ in endpoint.query) | frozenset(endpoint.required_query)
    handler = endpoint.handler

    async def checked(request: web.Request) -> web.StreamResponse:
        for name in request.query:
            shown = name[:40] or "(empty name)"
            if name not in declared:
                raise InvalidInputError(f"unknown query parameter {shown!r}", field="query")
            if len(request.query.getall(name)) > 1:  # which one counts would be a guess
                raise InvalidInputError(f"query parameter {shown!r} is given more than once",
                                        field="query")
        return await handler(request)

    checked.__name__ = handler.__name__
    checked.__doc__ = handler.__doc__
    return checked
