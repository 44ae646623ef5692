"""A ZIP bomb never gets inflated: both verifiers (the bundle's standard-library verify.py and
``ledger verify-bundle``'s) refuse it at step 1, in the same words, from the sizes the ZIP
declares, before a byte is inflated, when their caller bounds the ratio (the console's upload);
offline they inflate what the declared sizes allow, within the unzipped total, so a very
compressible attachment still verifies; and a caller may bound the unzipped total lower."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

from ledger.bundle import verifier, verify
from ledger.tlog.note import generate_key
from tests.support.bundles import zip_bytes

KEY = generate_key("ledger.example")[1]


def bomb(members: int = 2, size: int = 64 << 20) -> bytes:
    """A ZIP whose members are ``size`` zero bytes each, deflated (~1000:1)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("mimetype", verify.MEDIA_TYPE)
        for n in range(members):
            archive.writestr(zipfile.ZipInfo(f"files/{n:064x}"), bytes(size),
                             compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def step_one(path: Path, **limits: int) -> list[str]:
    _, problems = verify.read_zip(path, **limits)
    return problems


def test_a_member_inflating_a_thousandfold_is_refused_before_it_is_inflated(
        tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    path.write_bytes(bomb())
    assert path.stat().st_size < 1 << 20
    started = time.perf_counter()
    assert step_one(path, max_ratio=100) == [
        f"files/{n:064x}: inflates more than 100 times" for n in (0, 1)]
    assert time.perf_counter() - started < 0.5  # 128 MiB of inflating would take longer
    lines = {c.line() for c in verify.inspect_bundle(path, KEY, max_ratio=100).checks}
    assert lines == {c.line()
                     for c in verifier.verify_bundle(path, KEY, max_ratio=100).checks}
    assert f"FAIL files/{0:064x}: inflates more than 100 times" in lines


def test_the_unzipped_total_is_bounded_by_the_declared_sizes_first(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    noise = bytes(range(256)) * 4096  # 1 MiB that hardly shrinks
    path.write_bytes(zip_bytes({"mimetype": verify.MEDIA_TYPE.encode(),
                                **{f"files/{n:064x}": noise for n in range(3)}}))
    assert step_one(path, max_total=2 << 20) == ["bundle: too large"]
    assert step_one(path) == []
    checks = verifier.verify_bundle(path, KEY, max_total=2 << 20).checks
    assert [c.line() for c in checks if c.status == "FAIL"] == ["FAIL bundle: too large"]


def test_small_or_modestly_compressed_members_pass_the_ratio(tmp_path: Path) -> None:
    path = tmp_path / "fine.zip"
    path.write_bytes(bomb(members=1, size=1 << 20))  # 1 MiB of zeros: under the floor
    assert step_one(path, max_ratio=100) == []


def test_offline_a_very_compressible_member_is_no_bomb(tmp_path: Path) -> None:
    path = tmp_path / "sparse.zip"
    path.write_bytes(bomb(members=1, size=8 << 20))  # a sparse 8 MiB attachment: ~1000:1
    assert step_one(path) == []  # the declared sizes bound the work
