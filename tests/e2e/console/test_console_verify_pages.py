"""The Verify page over real HTTP: the log's checkpoint and keys for anyone (as /log/checkpoint
and /log/key are public), and, for a signed-in principal, a bundle checked part by part as
``ledger verify-bundle`` checks it, with pass or fail at the top."""

from __future__ import annotations

import re

import aiohttp

from ledger.bundle.report_verify import key_views
from tests.integration.http_fixtures import Api, Reply
from tests.support.bundles import open_members, zip_bytes
from tests.support.console import Console, csrf_of
from tests.support.console_cases import caught_up, closed_case

VERIFY = "/console/verify"


async def exported_bundle(site: Api) -> bytes:
    """A closed case's final bundle, exported through the API by legal."""
    departure_id = await closed_case(site)
    await caught_up(site)
    reply = await site.get(f"/v1/departures/{departure_id}/bundle", "legal.x")
    assert reply.status == 200, reply.body[:300]
    return reply.body


async def upload(console: Console, data: bytes, *, token: str | None = None,
                 csrf_first: bool = True, lang: str = "en") -> Reply:
    """POST ``data`` as the ``bundle`` field, the page's CSRF token first (or ``token``)."""
    if token is None:
        token = csrf_of((await console.get(VERIFY)).body)
    form = aiohttp.FormData()
    if csrf_first:
        form.add_field("csrf", token)
    form.add_field("bundle", data, filename="bundle.zip", content_type="application/zip")
    if not csrf_first:
        form.add_field("csrf", token)
    return await console.request("POST", VERIFY, data=form, headers={"Accept-Language": lang})


async def test_anyone_reads_the_checkpoint_and_the_keys_with_their_fingerprints(
        console: Console, site: Api) -> None:
    await closed_case(site)
    await caught_up(site)
    page = await console.get(VERIFY, headers={"Accept-Language": "en"})
    assert page.status == 200  # no session: public, like /log/checkpoint and /log/key
    text = page.body.decode()
    latest = await site.runtime.reader.latest()
    assert f"<dd>{latest.size}</dd>" in text
    root = latest.note.decode().split("\n")[2]
    assert f'<code class="hash">{root}</code>' in text
    [key] = key_views([v.vkey for v in site.runtime.verifiers])
    assert f'<code class="hash">{key.fingerprint}</code>' in text and key.key_id in text
    assert latest.signed_at is not None and "<dt>Signed at</dt>" in text
    assert 'enctype="multipart/form-data"' not in text  # checking needs a session


async def test_a_real_bundle_passes_part_by_part(console: Console, site: Api) -> None:
    bundle = await exported_bundle(site)
    await console.sign_in("legal.x")
    reply = await upload(console, bundle)
    assert reply.status == 200, reply.body[:500]
    page = reply.body.decode()
    verdict = page.split('<section class="verdict ')[1].split("</section>")[0]
    assert verdict.startswith("pass") and "PASS: the bundle is intact" in verdict
    assert "<samp>PASS: final bundle of departure" in verdict
    lines = page.split('<ol class="check-lines">')[1].split("</ol>")[0]
    assert lines.count('<li class="line-ok">') > 5 and "line-fail" not in lines


async def test_a_tampered_bundle_fails_naming_the_changed_entry(console: Console,
                                                               site: Api) -> None:
    members = open_members(await exported_bundle(site))
    entry = next(p for p in members if p.startswith("entries/"))
    members[entry] = members[entry].replace(b'"', b"'", 1)
    await console.sign_in("hr.sun")
    reply = await upload(console, zip_bytes(members))
    page = reply.body.decode()
    verdict = page.split('<section class="verdict ')[1].split("</section>")[0]
    assert verdict.startswith("fail") and "FAIL: the bundle does not verify" in verdict
    assert f"<li>{entry}: SHA-256 differs from the manifest</li>" in verdict
    assert "<samp>FAIL: 1 problem(s)</samp>" in verdict


async def test_checking_needs_a_session_and_the_token_before_the_file(
        console: Console) -> None:
    data = b"PK\3\4 not really a zip"
    pre = csrf_of((await console.get("/console/sign-in")).body)  # a pre-session token
    assert (await upload(console, data, token=pre)).status == 403  # not signed in
    await console.sign_in("audit.x")
    assert (await upload(console, data, token="0" * 64)).status == 403
    assert (await upload(console, data, token="0" * 100_000)).status == 403  # not read whole
    assert (await upload(console, data, csrf_first=False)).status == 403
    not_zip = await upload(console, data)
    assert not_zip.status == 200 and 'class="verdict fail"' in not_zip.body.decode()
    empty = await upload(console, b"")
    assert empty.status == 422 and "the file is empty" in empty.body.decode()


async def test_a_bundle_over_the_configured_bound_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    from tests.integration.http_fixtures import serve
    from tests.support.console import console_session

    assert isinstance(tmp_path, Path)
    async with serve(f"sqlite:///{tmp_path}/l.db", tmp_path,
                     console_verify_max_bytes=1 << 20) as site, console_session() as session:
        console = Console(site, session)
        await console.sign_in("legal.x")
        reply = await upload(console, b"PK" + b"\0" * (2 << 20))
        assert reply.status == 413 and "larger than 1048576 bytes" in reply.body.decode()


async def test_a_zip_bomb_is_refused_at_once_and_the_checks_are_capped_per_process(
        console: Console) -> None:
    import asyncio
    import io
    import time
    import zipfile

    from web.verify_pages import MAX_CHECKS

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for n in range(4):
            archive.writestr(zipfile.ZipInfo(f"files/{n:064x}"), bytes(128 << 20),
                             compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    await console.sign_in("wang.lei")
    started = time.perf_counter()
    reply = await upload(console, out.getvalue())
    assert time.perf_counter() - started < 2  # 512 MiB inflated would take longer
    assert reply.status == 200 and "inflates more than 100 times" in reply.body.decode()
    # MAX_CHECKS uploads that have not finished arriving hold every slot: one more is 503
    token = csrf_of((await console.get(VERIFY)).body)
    head = (f"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"bundle\"; "
            "filename=\"b.zip\"\r\n\r\nPK").encode() + bytes(1 << 16)
    host, port = console.api.base.removeprefix("http://").split(":")
    held = []
    for _ in range(MAX_CHECKS):  # uploads still arriving hold every slot: one more is 503
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"POST {VERIFY} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     f"Cookie: hl_session={console.cookie('hl_session')}\r\n"
                     "Content-Type: multipart/form-data; boundary=b\r\n"
                     f"Content-Length: {len(head) + 1000}\r\n\r\n".encode() + head)
        await writer.drain()
        held.append(writer)
    await asyncio.sleep(0.5)
    busy = await upload(console, b"PK\3\4 not really a zip", token=token)
    assert busy.status == 503 and busy.headers["Retry-After"] == "10"
    for writer in held:
        writer.close()
    await asyncio.sleep(0.5)
    assert (await upload(console, b"PK\3\4 not really a zip", token=token)).status == 200


CJK = re.compile(r"[\u4e00-\u9fff]")


async def test_in_chinese_every_check_line_and_the_verdict_are_translated(
        console: Console, site: Api) -> None:
    bundle = await exported_bundle(site)
    await console.sign_in("legal.x")
    page = (await upload(console, bundle, lang="zh")).body.decode()
    lines = re.findall(r'<span class="status">(.*?)</span> <span class="what">(.*?)</span>',
                       page.split('<ol class="check-lines">')[1].split("</ol>")[0])
    assert len(lines) > 5
    for status, text in lines:
        assert status == "通过" and CJK.search(text), text  # none left in English
    assert any(text.startswith("案件：离职单状态“已结案”") for _, text in lines)
    assert "<samp>通过：离职单 " in page and "的最终版证据包" in page
    members = open_members(bundle)
    entry = next(p for p in members if p.startswith("entries/"))
    members[entry] = members[entry].replace(b'"', b"'", 1)
    failed = (await upload(console, zip_bytes(members), lang="zh")).body.decode()
    verdict = failed.split('<section class="verdict ')[1].split("</section>")[0]
    assert f"<li>{entry}：SHA-256 与清单不符</li>" in verdict
    assert "<samp>未通过：1 个问题</samp>" in verdict
