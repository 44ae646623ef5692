"""Helpers of the console's task pages tests: a case with an item wang.lei gives and zhao.min
receives, the inbox once the board has caught up, and a streamed upload form built as a
browser builds it (the CSRF token first, then the files and fields in the page's order)."""

from __future__ import annotations

import aiohttp

from tests.integration.http_fixtures import Api
from tests.support.case_steps import add_item
from tests.support.console import Console, csrf_of, open_case


async def case_with_item(api: Api, **fields: object) -> tuple[str, str]:
    """An approved case of wang.lei's with one item (客户资料) for zhao.min: (case, item)."""
    departure_id = await open_case(api)
    item_id = await add_item(api, departure_id, receiver="zhao.min", **fields)
    await caught_up(api)
    return departure_id, item_id


async def caught_up(api: Api) -> None:
    """Everything written so far sequenced and read by the board (the inbox reads it)."""
    await api.sequence()
    await api.runtime.board.catch_up()


def upload_form(csrf: str | None, files: list[tuple[str, bytes]], note: str = "",
                lines: str = "", keep: tuple[str, ...] = (),
                **extra: str) -> aiohttp.FormData:
    """The submit form's multipart body: ``csrf`` (None: left out), the files, then the
    fields (``extra``: more of them, such as on_behalf)."""
    form = aiohttp.FormData(default_to_multipart=True)  # as the page's enctype says
    if csrf is not None:
        form.add_field("csrf", csrf)
    for name, content in files:
        form.add_field("file", content, filename=name, content_type="application/octet-stream")
    for sha in keep:
        form.add_field("keep", sha)
    form.add_field("note", note)
    form.add_field("lines", lines)
    for name, value in extra.items():
        form.add_field(name, value)
    return form


async def submit_files(console: Console, item_id: str, files: list[tuple[str, bytes]],
                       keep: tuple[str, ...] = (), **fields: str) -> tuple[int, str]:
    """Post the item page's submit form with ``files`` (the token read from the page):
    the status and the page or redirect target."""
    page = await console.get(f"/console/items/{item_id}")
    reply = await console.request("POST", f"/console/items/{item_id}/submit",
                                  data=upload_form(csrf_of(page.body), files, keep=keep, **fields))
    return reply.status, reply.headers.get("Location") or reply.body.decode()
