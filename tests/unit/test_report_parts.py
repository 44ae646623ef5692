"""The pure parts of the bundle report: clients read from User-Agents, the checkpoint and keys
as the "How to verify" page prints them, payload fields as facts, and the refusals."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from ledger.aggregates.departure import ROLE_FAMILIES
from ledger.bundle.layout import entry_path
from ledger.bundle.report import render_report_html
from ledger.bundle.report_case import title_of
from ledger.bundle.report_client import clients_of, describe_client, origin_of
from ledger.bundle.report_labels import (
    auth_words,
    code_words,
    confirmed_without_key,
    receiver_label,
)
from ledger.bundle.report_row import (
    Clock,
    cited_file_of,
    facts_of,
    how_signed,
    signed_of,
    text_of,
    uploads_of,
)
from ledger.bundle.report_verify import checkpoint_view, key_views
from ledger.bundle.source import ReportSource
from ledger.canonical import JSONObject
from ledger.entry import decode_entry, encode_entry
from ledger.errors import VerificationError
from ledger.tlog.checkpoint import Checkpoint, format_checkpoint
from ledger.tlog.note import Signer, sign_note

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1")
CURL = "curl/8.5.0"
SIGNER = Signer("example.com/log", bytes(range(32)))


def test_a_phone_browser_reads_as_its_device_browser_and_system() -> None:
    assert describe_client(PHONE) == ("Apple iPhone", "Mobile Safari 17.1", "iOS 17.1")
    assert describe_client("") == ("-", "-", "-")


def test_clients_are_labelled_in_the_order_of_their_user_agents() -> None:
    contexts = [{"user_agent": PHONE}, {"user_agent": CURL}, {"user_agent": PHONE}, {}]
    clients = clients_of(contexts)
    assert [(c.label, c.user_agent) for c in clients.values()] == [("C1", PHONE),
                                                                    ("C2", CURL)]
    origin = origin_of({"ip": "198.51.100.4", "user_agent": CURL, "auth": "bearer"}, clients)
    assert origin is not None and origin.client is not None
    assert (origin.ip, origin.client.label, origin.auth_en) == ("198.51.100.4", "C2",
                                                                "bearer token")
    assert origin_of({"ip": None, "user_agent": None, "auth": None, "request_id": "x"},
                     clients) is None


def test_the_checkpoint_and_keys_print_their_origin_size_root_and_fingerprint() -> None:
    text = format_checkpoint(Checkpoint("example.com/log", 42, bytes(32)))
    view = checkpoint_view(sign_note(text, [SIGNER]))
    assert (view.origin, view.size, view.root) == ("example.com/log", 42, "A" * 43 + "=")
    assert view.signers == ("example.com/log",)
    (key, bad) = key_views([SIGNER.verifier.vkey, "not a key"])
    assert (key.name, key.key_id) == ("example.com/log", f"{SIGNER.key_id:08x}")
    assert len(key.fingerprint) == 64 and (bad.key_id, bad.text) == ("-", "not a key")
    with pytest.raises(VerificationError, match="checkpoint: malformed"):
        checkpoint_view(b"example.com/log\nx\n\n")


def test_every_payload_field_is_a_fact_except_blocks_and_empty_ones() -> None:
    raw, _ = encode_entry(
        event_id=uuid.uuid4(), stream_type="item", stream_id=uuid.uuid4(), version=1,
        event_type="ItemSubmitted", recorded_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        actor={"id": "wang.lei", "role": "employee"}, context={},
        payload={"by": "wang.lei", "on_behalf": False, "urgent": False, "note": "好",
                 "evidence": [], "lines": None, "zz_new_field": {"b": 1, "a": [2]}},
        prev=None)
    facts = facts_of(decode_entry(raw))
    assert [(f.en, f.value) for f in facts] == [
        ("note", "好"), ("on the giver's behalf", "否 / no"),
        ("zz_new_field", '{"a":[2],"b":1}')]
    assert text_of(True) == "是 / yes" and text_of(None) == "-"


def test_the_leaver_and_the_approval_chain_print_as_labelled_members_not_json() -> None:
    """A case's start, as the report's history prints it: the leaver and each step of the
    chain by their members, in words (before: canonical JSON, braces and quotes)."""
    raw, _ = encode_entry(
        event_id=uuid.uuid4(), stream_type="departure", stream_id=uuid.uuid4(), version=1,
        event_type="DepartureStarted", recorded_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        actor={"id": "hr.sun", "role": "hr"}, context={},
        payload={"leaver": {"id": "li.wen", "name": "李文", "department": "销售部",
                            "position": "客户经理", "role_family": "sales"},
                 "approval_chain": [{"name": "部门经理", "approver_id": "li.qiang"},
                                    {"name": "HR", "approver_id": "hr.zhou"}]},
        prev=None)
    facts = {f.en: f.value for f in facts_of(decode_entry(raw))}
    assert facts["leaver"] == (
        "部门 department: 销售部, 账号 id: li.wen, 姓名 name: 李文, 职位 position: 客户经理"
        ", 岗位类别 role family: 销售 sales")
    assert facts["approval chain"] == (
        "1. 审批人 approver: li.qiang, 步骤 step: 部门经理; "
        "2. 审批人 approver: hr.zhou, 步骤 step: HR")
    assert "{" not in facts["leaver"] + facts["approval chain"]


def test_every_role_family_prints_in_words_in_chinese_and_english() -> None:
    """The leaver's role family is a code (``admin``); the report says it in words."""
    words = {family: code_words("role_family", family) for family in ROLE_FAMILIES}
    assert words["admin"] == "行政 administration" and words["sales"] == "销售 sales"
    for family, said in words.items():
        zh, en = said.split(" ", 1)
        assert not zh.isascii() and en.isascii() and en, family


def test_times_print_in_utc_and_in_the_organisations_zone() -> None:
    moment = Clock("Asia/Shanghai", {}).moment(dt.datetime(2026, 12, 1, 21, 20, 18, 123456,
                                                           tzinfo=dt.UTC))
    assert (moment.utc, moment.local) == ("2026-12-01 21:20:18.123456Z",
                                          "2026-12-02 05:20:18 +08:00")


def _source(entries: dict[str, bytes]) -> ReportSource:
    note = sign_note(format_checkpoint(Checkpoint("example.com/log", 1, bytes(32))), [SIGNER])
    return ReportSource(departure_id=str(uuid.uuid4()),
                        generated_at="2026-12-01T00:00:00.000000Z", status="interim",
                        time_zone="Asia/Shanghai", checkpoint=note, keys=[], entries=entries,
                        report_source_sha256="0" * 64)


def test_a_report_without_its_departure_or_with_a_malformed_entry_is_refused() -> None:
    with pytest.raises(VerificationError, match=r"entries/departure/.*: missing"):
        render_report_html(_source({}))
    path = entry_path("departure", str(uuid.uuid4()), 1)
    with pytest.raises(VerificationError, match="malformed entry"):
        render_report_html(_source({path: b'{"v":1}'}))


def _entry(event_type: str, payload: JSONObject) -> bytes:
    raw, _ = encode_entry(
        event_id=uuid.uuid4(), stream_type="item", stream_id=uuid.uuid4(), version=1,
        event_type=event_type, recorded_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        actor={"id": "wang.lei"}, context={}, payload=payload, prev=None)
    return raw


def test_a_file_cited_by_digest_is_named_from_the_bundles_upload_of_it() -> None:
    digest = "ab" * 32
    upload = decode_entry(_entry("ItemEvidenceUploaded", {
        "sha256": digest, "name": "clients.txt", "size": 1234, "media_type": "text/plain"}))
    uploads = uploads_of([("entries/item/x/000002.json", upload)])
    cited = cited_file_of({"sha256": digest, "item_id": "x"}, uploads)
    assert (cited.name, cited.size, cited.media_type, cited.named_by) == (
        "clients.txt", "1,234 B", "text/plain", "entries/item/x/000002.json")
    unknown = cited_file_of({"sha256": "cd" * 32}, uploads)
    assert (unknown.name, unknown.size, unknown.named_by) == ("-", "-", "")


def test_a_receiver_is_a_person_or_a_queue_and_only_a_closed_final_case_is_a_certificate(
        ) -> None:
    assert receiver_label("zhao.min") == ("接收人", "receiver")
    assert receiver_label("dept:it") == ("接收队列", "queue")
    assert receiver_label("dept:it", previous=True) == ("原接收队列", "previous queue")
    receiver = decode_entry(_entry("ItemReceiverChanged", {
        "receiver": "dept:it", "previous_receiver": "zhao.min"}))
    assert [(f.en, f.value) for f in facts_of(receiver)] == [
        ("previous receiver", "zhao.min"), ("queue", "dept:it")]
    assert title_of(False, "closed")[1] == "Handover certificate of completion"
    assert title_of(False, "withdrawn")[1] == "Handover evidence report (withdrawn)"
    assert title_of(True, "closed")[1] == "Handover evidence report (interim)"


def test_each_authentication_method_is_named_once_in_words_never_as_its_code() -> None:
    for code, words in [("session", ("会话（控制台）", "console session")),
                        ("link", ("一次性登录链接会话",
                                  "console session opened by a one-time sign-in link")),
                        ("bearer", ("持有者令牌", "bearer token"))]:
        origin = origin_of({"ip": "127.0.0.1", "auth": code}, {})
        assert origin is not None and (origin.auth_zh, origin.auth_en) == words
    assert auth_words("sso") == ("未知方式 sso", "unknown method")
    assert auth_words("") == ("-", "-")


def test_a_confirmation_without_a_key_says_how_its_sender_was_authenticated() -> None:
    def confirmed(auth: str, signature: JSONObject | None = None) -> tuple[str, str] | None:
        raw, _ = encode_entry(
            event_id=uuid.uuid4(), stream_type="item", stream_id=uuid.uuid4(), version=1,
            event_type="ItemConfirmed", recorded_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
            actor={"id": "zhao.min"}, context={"auth": auth}, payload={
                "signature": signature}, prev=None)
        return how_signed(decode_entry(raw), signed_of(signature))
    assert confirmed("session") == ("在控制台会话中确认（无个人密钥签名）",
                                    "confirmed in a console session (no personal key signature)")
    assert confirmed("link") == confirmed_without_key("link")
    assert "one-time sign-in link" in confirmed_without_key("link")[1]
    assert confirmed("bearer") == ("凭登录令牌确认（无个人密钥签名）",
                                   "confirmed with a bearer token (no personal key signature)")
    assert confirmed("sso") == ("无个人密钥签名（未知方式 sso）",
                                "no personal key signature (unknown method)")
    own = confirmed("session", {"key_id": "k", "statement": "s", "signature": "x"})
    assert own == ("本人 Ed25519 签名", "signed with their own Ed25519 key")


def test_lines_are_listed_by_id_and_codes_and_how_are_printed_in_words() -> None:
    facts = facts_of(decode_entry(_entry("ItemSubmitted", {
        "lines": [{"id": "1", "text": "<客户>"}, {"id": "2", "text": "合同"}],
        "how": {"mode": "remote", "attendees": ["a", "b"]}, "acknowledged": ["1", "2"],
        "category": "accounts_permissions", "channel": "feishu", "priority": "urgentish"})))
    by = {f.en: f for f in facts}
    assert by["lines"].lines == (("1", "<客户>"), ("2", "合同")) and by["lines"].value == ""
    assert by["how handed over"].value == "参与人 attendees: a, b; 方式 mode: 远程 remote"
    assert by["lines acknowledged"].value == "1, 2"
    assert by["category"].value == "账号与权限 accounts and permissions"
    assert by["channel"].value == "飞书 Feishu"
    assert by["priority"].value == "urgentish"  # not a known code: as recorded
    rejected = facts_of(decode_entry(_entry("ItemRejected", {
        "reason": "缺", "rejected_lines": [{"id": "2", "reason": "无签字"}]})))
    assert [f.lines for f in rejected if f.lines] == [(("2", "无签字"),)]
