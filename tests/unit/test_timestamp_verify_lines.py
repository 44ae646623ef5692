"""The Verify page shows the verifiers' timestamp lines (bundle format 1.2) in Chinese."""

from __future__ import annotations

from ledger.bundle.verify import Primitives, recorded_by
from web.i18n import load_catalogues
from web.verify_lines import translate_line

ZH = load_catalogues("Asia/Shanghai").translations["zh"].gettext
RECORD = {"token": "META-INF/timestamp-1.tst", "tsa_url": "https://tsa.example.com/",
          "gen_time": "2026-12-06T14:13:58Z"}


def test_the_timestamp_lines_of_both_verifiers_are_translated() -> None:
    line = f"{RECORD['token']}: {recorded_by(RECORD)} (its message imprint and time checked)"
    assert translate_line(line, ZH) == (
        "META-INF/timestamp-1.tst：检查点（因而本证据包的每一条事件）最迟于 2026-12-06T14:13:58Z "
        "已被记录，由时间戳机构 https://tsa.example.com/ 证明（已核对消息摘要与时间）")
    note = Primitives().timestamp_note()
    assert note is not None and translate_line(note.text, ZH).startswith("时间戳：verify.py 只核对")
    full = (f"{RECORD['token']}: {recorded_by(RECORD)} (CN=TSA; signature and certificate "
            "chain checked against the CA file given)")
    assert "签名与证书链已按所给的 CA 文件核对" in translate_line(full, ZH)
    for failure, said in (("message imprint is not the checkpoint's", "消息摘要与检查点不符"),
                          ("time differs from the manifest", "时间与清单不符"),
                          ("does not verify (Nonce mismatch)", "校验未通过（Nonce mismatch）")):
        assert translate_line(f"{RECORD['token']}: {failure}", ZH).endswith(said)
