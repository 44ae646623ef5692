"""The bundle's ``README.txt``: what it is and how to verify it, in Chinese and English."""

from __future__ import annotations

from collections.abc import Sequence

_TEXT = """\
交接账本证据包 / Handover Ledger evidence bundle
================================================

离职案件 / Departure: {departure_id}
生成时间 / Generated at (UTC): {generated_at}
状态 / Status: {status_zh} / {status}

这是什么
--------
本文件是一名员工离职交接的完整记录：谁交出了什么、谁确认了、何时确认。entries/ 中是账本
为该案件存储的每一条记录的原始字节（离职案件、全部交接事项、所用清单版本、相关争议），
proofs/ 中是每条记录在透明日志中的包含证明，checkpoint 是日志运营方签名的检查点，
META-INF/signature 是同一密钥对清单（META-INF/manifest.json）的签名。report.html 与
report.pdf 是由这些记录生成的可读报告。{interim_zh}

如何验证
--------
验证只需本文件和账本的验证公钥（向账本运营方索取，GET /log/key；请通过可信渠道核对，
不要只信任包内的 keys 文件，它仅供参考）：

    python3 -I verify.py --key <验证公钥>
    （仅需 Python 3.11 标准库，无需联网；在解压后的目录中运行，或在其后加上 bundle.zip）

    ledger verify-bundle bundle.zip --key <验证公钥> [--against <账本地址>]
    （账本自带的验证程序；还会重新生成 report.html 并比对 report.pdf 所附的清单；
     --against 证明这些记录至今仍是在线日志的一部分）

包内的 verify.py 随证据包一起流转：篡改证据包的人也可以替换它。请使用您从运营方取得的
verify.py（公开地址 GET /log/verify.py，与包内文件逐字节相同），或用 sha256sum 将包内文件与之
比对，或使用 ledger verify-bundle。
{witnesses_zh}
验证通过意味着：包内每个文件都与签名清单一致；每条记录自第 1 版起连续成链，且都包含在
该公钥签名的检查点中；案件所列的事项、清单版本与争议一个不少；重放记录得到的状态与结案
记录一致；报告由这些记录生成。
验证通过并不意味着：记录内容属实（账本证明的是谁在何时记录了什么，而非所述是否真实）；
包内已是案件的全部记录（检查点之后仍可能有新的记录，例如此后的导出；--against 只证明包内的
记录至今仍在日志中，不证明其后没有新记录）；公钥确属该运营方（需另行核实）。

What this is
------------
This file is the complete record of one employee's handover: who handed over what, who
confirmed it, and when. entries/ holds the exact stored bytes of every record of the case
(the departure, all its items, the checklist revisions it applied, any dispute), proofs/ each
record's inclusion proof in the transparency log, checkpoint the log operator's signed
checkpoint, and META-INF/signature the same key's signature over the manifest
(META-INF/manifest.json). report.html and report.pdf are the readable report produced from
those records.{interim_en}

How to verify
-------------
You need this file and the ledger's verifier key (ask the ledger's operator, GET /log/key,
and check it through a channel you trust; the keys file inside is information only):

    python3 -I verify.py --key <verifier key>
    (Python 3.11 standard library only, offline; run it in the unzipped folder, or add
     bundle.zip after it)

    ledger verify-bundle bundle.zip --key <verifier key> [--against <ledger URL>]
    (the ledger's own verifier; it also renders report.html again and checks the manifest
     attached to report.pdf; --against proves the records are still part of the live log)

verify.py travels inside the bundle, so whoever altered a bundle could replace it too: run a
verify.py you got from the operator (published at GET /log/verify.py, byte for byte the one
bundles carry), or compare this one's sha256sum with it, or use ledger verify-bundle.
{witnesses_en}
A pass means: every file matches the signed manifest; every record chains unbroken from
version 1 and is included in the checkpoint signed by that key; no item, checklist revision
or dispute the case names is missing; replaying the records gives states consistent with the
close; the report was produced from these records.
A pass does not mean: that what the records say is true (the ledger proves who recorded what
and when, not that it happened); that nothing about the case was recorded after the
checkpoint (later records, such as later exports, are not in this file; --against proves
only that these records are still in the log today); that the key belongs to the operator
(confirm that separately).
"""

_INTERIM_ZH = ("\n\n注意：这是临时版证据包。案件尚未结案或撤回，此后的记录不在包内。")
_INTERIM_EN = ("\n\nNote: this is an interim bundle. The case is not closed or withdrawn yet; "
               "later records are not in it.")


_WITNESSES_ZH = """
见证签名
--------
META-INF/cosignatures 中有见证者对检查点的联署签名，见证者：{names}
每位见证者声明，在其签名时间它已核对该检查点与它此前所见的本日志历史一致（日志没有向不同
的人展示不同的历史）。核验需要各见证者的公钥（向见证者运营方索取，并通过可信渠道核对），
每位见证者一个 --witness，K 为至少须成立的签名数：

    python3 -I verify.py --key <验证公钥> --witness <见证公钥> --witnesses-required K
    ledger verify-bundle bundle.zip --key <验证公钥> --witness <见证公钥> --witnesses-required K

不给出 --witness 时，这些签名只被列出，不被核验。
"""
_WITNESSES_EN = """
Witness cosignatures
--------------------
META-INF/cosignatures holds witness cosignatures of the checkpoint, by: {names}
Each witness states that, at its time, it had checked the checkpoint is consistent with the
history of this log it saw before (the log did not show different histories to different
people). Checking them takes each witness's key (ask the witness's operator, and check it
through a channel you trust), one --witness per witness; K is how many must hold:

    python3 -I verify.py --key <verifier key> --witness <witness key> --witnesses-required K
    ledger verify-bundle bundle.zip --key <verifier key> --witness <witness key> \\
        --witnesses-required K

Without --witness, the cosignatures are listed, not checked.
"""


def readme_text(departure_id: str, generated_at: str, status: str,
                witnesses: Sequence[str] = ()) -> bytes:
    """``README.txt`` for one bundle, UTF-8, LF line ends; ``witnesses``: the names on the
    bundle's witness cosignatures (META-INF/cosignatures), if it carries any."""
    interim = status != "final"
    names = ", ".join(witnesses)
    return _TEXT.format(
        departure_id=departure_id, generated_at=generated_at, status=status,
        status_zh="终版" if not interim else "临时版",
        interim_zh=_INTERIM_ZH if interim else "", interim_en=_INTERIM_EN if interim else "",
        witnesses_zh=_WITNESSES_ZH.format(names=names) if witnesses else "",
        witnesses_en=_WITNESSES_EN.format(names=names) if witnesses else "",
    ).encode("utf-8")
