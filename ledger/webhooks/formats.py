"""Message formats: what a subscription's receiver is sent for one logged event. Pure.

- ``json``: the event as Standard Webhooks recommends a payload (``type``, ``timestamp``,
  ``data``): its id, stream, version, recording time, log index, event hash and payload;
  RFC 8785 canonical bytes, so the same event is always the same body.
- ``dingtalk``, ``wecom``, ``feishu``: the group robots' message bodies, for the reminders and
  escalations the ledger sends (``DepartureReminderSent``, ``ItemConfirmationEscalated``), in
  Chinese and English. DingTalk signs in the query (``timestamp``, ``sign``), Feishu in the
  body (``timestamp``, ``sign``); WeCom's key is part of its URL and it has no signing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ledger.canonical import JSONObject, encode_canonical
from ledger.entry import Entry, format_time
from ledger.webhooks.signing import dingtalk_sign, feishu_sign

FORMATS = ("json", "dingtalk", "wecom", "feishu")
ROBOT_FORMATS = ("dingtalk", "wecom", "feishu")
REMINDER_EVENTS = ("DepartureReminderSent", "ItemConfirmationEscalated")
WECOM_MAX_BYTES = 4096  # a WeCom markdown message's content is at most 4096 bytes


def render(fmt: str, entry: Entry, log_index: int, departure_id: str) -> bytes:
    """The body of ``entry`` in format ``fmt`` (precondition: a robot format only renders
    the reminder events, as subscriptions enforce)."""
    if fmt == "json":
        return _event_json(entry, log_index)
    text = _reminder_text(entry, departure_id)
    title = "交接升级 Handover escalation" if _escalation(entry) else "交接提醒 Handover reminder"
    message: dict[str, Any]
    if fmt == "dingtalk":
        message = {"msgtype": "markdown", "markdown": {"title": title,
                                                       "text": f"### {title}\n\n{text}"}}
    elif fmt == "wecom":
        content = f"### {title}\n{text}".encode()[:WECOM_MAX_BYTES].decode(errors="ignore")
        message = {"msgtype": "markdown", "markdown": {"content": content}}
    else:
        message = {"msg_type": "text", "content": {"text": f"{title}\n{text}"}}
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def _event_json(entry: Entry, log_index: int) -> bytes:
    recorded_at = format_time(entry.recorded_at)
    document: JSONObject = {
        "type": entry.event_type, "timestamp": recorded_at,
        "data": {"id": str(entry.event_id), "type": entry.event_type,
                 "stream": {"type": entry.stream_type, "id": str(entry.stream_id)},
                 "version": entry.version, "recorded_at": recorded_at,
                 "log_index": log_index, "event_hash": entry.event_hash.hex(),
                 "payload": entry.payload}}
    return encode_canonical(document)


def _escalation(entry: Entry) -> bool:
    return entry.event_type == "ItemConfirmationEscalated" or entry.payload.get(
        "escalation") is True


def _reminder_text(entry: Entry, departure_id: str) -> str:
    p = entry.payload
    lines = [f"- 离职交接 Departure: {departure_id}", f"- 致 To: {p.get('to', '')}"]
    if entry.event_type == "ItemConfirmationEscalated":
        lines += [f"- 事项 Item: {entry.stream_id}",
                  f"- 接收人 Receiver: {p.get('receiver', '')}",
                  f"- 确认期限 Confirm by: {p.get('confirm_by') or '-'}",
                  f"- 逾期 Overdue on: {p.get('overdue_on', '')}"]
    else:
        items = p.get("item_ids")
        listed = ", ".join(str(i) for i in items) if isinstance(items, list) else ""
        lines.append(f"- 事项 Items: {listed or '-'}")
    if p.get("message"):
        lines.append(f"\n{p['message']}")
    lines.append(f"\n({format_time(entry.recorded_at)})")
    return "\n".join(lines)


@dataclass(frozen=True)
class Outgoing:
    """One request as sent: where, the exact body bytes, and the headers to add."""

    url: str
    body: bytes
    headers: dict[str, str]


def robot_request(fmt: str, url: str, secret: str | None, body: bytes,
                  now: dt.datetime) -> Outgoing:
    """A robot message with its signing applied at ``now`` (none for WeCom, or without a
    secret)."""
    if secret and fmt == "dingtalk":
        timestamp_ms = int(now.timestamp() * 1000)
        query = urlencode({"timestamp": timestamp_ms, "sign": dingtalk_sign(timestamp_ms, secret)})
        return Outgoing(f"{url}{'&' if '?' in url else '?'}{query}", body, {})
    if secret and fmt == "feishu":
        timestamp = int(now.timestamp())
        message = {"timestamp": str(timestamp), "sign": feishu_sign(timestamp, secret),
                   **json.loads(body)}
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    return Outgoing(url, body, {})


def robot_refusal(fmt: str, answer: bytes) -> str | None:
    """Why a robot refused a message it answered with HTTP 2xx (its JSON ``errcode`` or, for
    Feishu, ``code``/``StatusCode`` is not 0); None when it took it."""
    try:
        document = json.loads(answer)
    except ValueError:
        return f"{fmt} answered with something other than JSON"
    if not isinstance(document, dict):
        return f"{fmt} answered with something other than a JSON object"
    keys = ("code", "StatusCode") if fmt == "feishu" else ("errcode",)
    code = next((document[k] for k in keys if k in document), None)
    if code == 0:
        return None
    detail = document.get("errmsg") or document.get("msg") or document.get("StatusMessage")
    return f"{fmt} refused the message: code {code!r}: {str(detail)[:200]}"
