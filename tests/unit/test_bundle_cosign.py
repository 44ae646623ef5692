"""What ``report.html`` and ``README.txt`` say of a bundle's witness cosignatures: each line's
witness, key ID and time read from the line (ledger.bundle.report_cosign), unreadable lines
named as such, and README's section only when the bundle carries cosignatures."""

from __future__ import annotations

import base64

import pytest

from ledger.bundle.readme import readme_text
from ledger.bundle.report_cosign import (
    cosignature_file,
    cosignature_lines,
    cosigners,
)
from ledger.witness.cosignature import WitnessSigner

BODY = "example.test/log\n3\nAAAA\n"
SIGNER = WitnessSigner("witness.example/w1", bytes([1]) * 32)
LINE = SIGNER.cosign(BODY, 1_765_000_000).rstrip("\n")  # 2025-12-06 05:46:40 UTC


def test_each_line_names_its_witness_and_time_in_utc_and_the_zone() -> None:
    [c] = cosigners([LINE], "Asia/Shanghai")
    assert (c.name, c.key_id) == ("witness.example/w1", f"{SIGNER.key.key_id:08x}")
    assert c.at is not None
    assert (c.at.utc, c.at.local) == ("2025-12-06 05:46:40Z", "2025-12-06 13:46:40 +08:00")


def _line(raw: bytes, name: str = "witness.example/w1") -> str:
    return f"— {name} {base64.b64encode(raw).decode()}"


@pytest.mark.parametrize(("line", "name", "key_id"), [
    ("not a signature line", "not a signature line", ""),
    ("— witness.example/w1 %%%", "witness.example/w1 %%%", ""),
    (_line(bytes(4) + bytes(8)), "witness.example/w1", "00000000"),  # too short: no signature
    (_line(bytes(4) + (2**64 - 1).to_bytes(8, "big") + bytes(64)), "witness.example/w1",
     "00000000"),  # a time no calendar holds
])
def test_an_unreadable_line_is_named_without_a_time(line: str, name: str, key_id: str) -> None:
    [c] = cosigners([line], "UTC")
    assert (c.name, c.key_id, c.at) == (name, key_id, None)


def test_lines_and_file_round_trip() -> None:
    data = cosignature_file([LINE, LINE.replace("w1", "w2")])
    assert data == f"{LINE}\n{LINE.replace('w1', 'w2')}\n".encode()
    assert cosignature_lines(data) == (LINE, LINE.replace("w1", "w2"))
    assert cosignature_lines(b"") == () and cosignature_lines(b"\n\n") == ()


def test_the_readme_says_how_to_check_cosignatures_only_when_there_are_some() -> None:
    plain = readme_text("d-1", "2026-12-06T05:01:07.123456Z", "final").decode()
    cosigned = readme_text("d-1", "2026-12-06T05:01:07.123456Z", "final",
                           witnesses=["witness.example/w1", "witness.example/w2"]).decode()
    assert "--witness" not in plain and "cosignatures" not in plain
    assert "by: witness.example/w1, witness.example/w2" in cosigned
    assert "见证者：witness.example/w1, witness.example/w2" in cosigned
    assert "--witness <witness key> --witnesses-required K" in cosigned
    assert "--witness <见证公钥> --witnesses-required K" in cosigned
    assert cosigned.replace(cosigned[cosigned.index("\n见证签名"):cosigned.index(
        "\n验证通过意味着")], "").replace(cosigned[cosigned.index("\nWitness cosignatures"):
                                               cosigned.index("\nA pass means")], "") == plain
