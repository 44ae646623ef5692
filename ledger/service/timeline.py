"""A case's timeline: who did what and when, in Chinese and English, oldest first.

Read from the verified entries of the case, its items and its disputes, each stream only if
its reader may read it (an item's receiver sees the case's own steps and their items, not
another item's comments). Personal papers (the resignation letter, the termination document)
are named, never their digests.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.aggregates.dispute import Dispute
from ledger.aggregates.item import HandoverItem
from ledger.entry import Entry, format_time
from ledger.errors import NotFoundError
from ledger.service.context import Actor
from ledger.service.dispute_queries import authorize_dispute
from ledger.service.ledger import Ledger
from ledger.service.queries import get_departure
from ledger.service.relation import may_read_item

# event type → (中文, English); {by} is who acted, {item} the item's title, others payload.
PHRASES: dict[str, tuple[str, str]] = {
    "DepartureStarted": ("{by} 发起离职交接", "{by} started the departure"),
    "DepartureRequested": ("{by} 提交离职申请", "{by} requested their departure"),
    "DepartureRequestAccepted": ("{by} 受理离职申请", "{by} accepted the request"),
    "DepartureRequestDeclined": ("{by} 驳回离职申请：{reason}",
                                 "{by} declined the request: {reason}"),
    "DepartureSubmittedForApproval": ("{by} 提交审批", "{by} submitted it for approval"),
    "DepartureStepApproved": ("{by} 审批通过第 {step} 步", "{by} approved step {step}"),
    "DepartureStepRejected": ("{by} 驳回第 {step} 步：{reason}",
                              "{by} rejected step {step}: {reason}"),
    "DepartureWithdrawn": ("{by} 撤回：{reason}", "{by} withdrew it: {reason}"),
    "DepartureHandedOver": ("{by} 将案件转交 {hr_owner_id}",
                            "{by} handed the case over to {hr_owner_id}"),
    "DepartureSuccessorNamed": ("{by} 指定接任者 {successor_id}",
                                "{by} named {successor_id} the successor"),
    "DepartureTemplateApplied": ("应用交接清单「{template_name}」",
                                 "the checklist “{template_name}” was applied"),
    "DepartureChecklistSkipped": ("交接清单「{key}」留待 HR 应用：{reason}",
                                  "the checklist {key} was left for HR to apply: {reason}"),
    "DepartureItemAdded": ("新增交接事项", "an item was added"),
    "DepartureReminderSent": ("{by} 提醒 {to}（{items} 项{rule_zh}）",
                              "{by} reminded {to} ({items} item(s){rule_en})"),
    "DepartureLastWorkingDayChanged": ("{by} 将最后工作日改为 {last_working_day}：{reason}",
                                       "{by} moved the last working day to "
                                       "{last_working_day}: {reason}"),
    "DepartureLeft": ("{by} 记录实际离职日 {left_on}", "{by} recorded the leaving day {left_on}"),
    "DepartureContractTerminated": ("{by} 记录劳动合同解除（{terminated_on}）",
                                    "{by} recorded the contract's termination "
                                    "({terminated_on})"),
    "DepartureAccessFrozen": ("{by} 冻结系统权限：{reason}", "{by} froze access: {reason}"),
    "DepartureConfirmationSigned": ("{by} 签署交接确认书", "{by} signed the handover "
                                    "confirmation"),
    "DepartureConfirmationSignatureExcused": ("{by} 免除 {signatory} 签署：{reason}",
                                              "{by} excused {signatory} from signing: "
                                              "{reason}"),
    "DepartureClosed": ("{by} 结案", "{by} closed the case"),
    "DepartureLegalHoldPlaced": ("因争议进入法律保全", "a dispute placed it on legal hold"),
    "DepartureEvidenceExported": ("{by} 导出证据包（{status_zh}）",
                                  "{by} exported the evidence bundle ({status})"),
    "ItemCreated": ("新增事项「{item}」", "item “{item}” was created"),
    "ItemSubmitted": ("{by} 提交「{item}」", "{by} submitted “{item}”"),
    "ItemEvidenceUploaded": ("{by} 为「{item}」上传文件 {name}",
                             "{by} uploaded {name} to “{item}”"),
    "ItemConfirmed": ("{by} 确认「{item}」", "{by} confirmed “{item}”"),
    "ItemSignedOff": ("{by} 签字「{item}」", "{by} signed off “{item}”"),
    "ItemRejected": ("{by} 退回「{item}」：{reason}", "{by} rejected “{item}”: {reason}"),
    "ItemWaived": ("{by} 豁免「{item}」：{reason}", "{by} waived “{item}”: {reason}"),
    "ItemReassigned": ("{by} 将「{item}」改由 {receiver} 接收",
                       "{by} reassigned “{item}” to {receiver}"),
    "ItemSignerReplaced": ("{by} 将「{item}」的签字人 {previous} 换为 {signer}",
                           "{by} replaced signer {previous} of “{item}” with {signer}"),
    "ItemCommented": ("{by} 评论「{item}」", "{by} commented on “{item}”"),
    "ItemQuestionAsked": ("{by} 就「{item}」向 {to} 提问", "{by} asked {to} about “{item}”"),
    "ItemQuestionAnswered": ("{by} 回答「{item}」的问题", "{by} answered a question on "
                             "“{item}”"),
    "ItemExternalEvidenceRecorded": ("{by} 报告「{item}」：{kind}",
                                     "{by} reported {kind} on “{item}”"),
    "ItemDueDateChanged": ("「{item}」截止日改为 {due_date}", "“{item}” is now due {due_date}"),
    "ItemConfirmationEscalated": ("「{item}」确认逾期，升级至 {to}",
                                  "the confirmation of “{item}” is overdue, escalated to {to}"),
    "ItemRequirementsLinked": ("「{item}」关联前置事项", "“{item}” was linked to the items it "
                               "requires"),
    "DisputeRaised": ("{raised_by} 提出争议：{claim}", "{raised_by} raised a dispute: {claim}"),
    "DisputeStatementAdded": ("{by} 陈述意见", "{by} made a statement"),
    "DisputeEvidenceUploaded": ("{by} 上传争议证据 {name}", "{by} uploaded evidence {name}"),
    "DisputeFindingRecorded": ("{by} 认定责任：{responsibility_zh}",
                               "{by} found responsibility: {responsibility_en}"),
}


RESPONSIBILITY = {"giver": ("交出方", "the giver"), "receiver": ("接收方", "the receiver"),
                  "shared": ("双方共同", "both, shared"), "none": ("无责任", "nobody")}


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def describe(entry: Entry, item_title: str | None) -> dict[str, Any]:
    """One timeline line of ``entry``."""
    zh, en = PHRASES.get(entry.event_type, ("{type}", "{type}"))
    fields = _Fields({**entry.payload, "by": entry.actor.get("id", entry.payload.get("by")),
                      "item": item_title or "", "type": entry.event_type})
    template = entry.payload.get("template")
    if isinstance(template, dict):
        fields["template_name"] = template.get("name") or template.get("key") or "?"
    items = entry.payload.get("item_ids")
    fields["items"] = len(items) if isinstance(items, list) else 0
    rule = entry.payload.get("rule")
    fields["rule_zh"] = f"，规则 {rule}" if rule else ""
    fields["rule_en"] = f", rule {rule}" if rule else ""
    responsibility = str(entry.payload.get("responsibility", ""))
    fields["responsibility_zh"], fields["responsibility_en"] = RESPONSIBILITY.get(
        responsibility, (responsibility, responsibility))
    fields["status_zh"] = {"final": "终版", "interim": "临时版"}.get(
        str(entry.payload.get("status")), "?")
    step = entry.payload.get("step")
    if isinstance(step, int):  # shown from 1
        fields["step"] = step + 1
    return {"at": format_time(entry.recorded_at), "type": entry.event_type,
            "stream": str(entry.stream_id), "version": entry.version,
            "actor": entry.actor.get("id"), "zh": zh.format_map(fields),
            "en": en.format_map(fields)}


async def timeline(ledger: Ledger, actor: Actor, departure_id: UUID) -> list[dict[str, Any]]:
    """The case's timeline as ``actor`` may read it."""
    departure = await get_departure(ledger, actor, departure_id)
    lines: list[tuple[Entry, str | None]] = [(e, None) for e in await ledger.entries(
        departure.id)]
    for item_id in departure.item_ids:
        item = await ledger.load(HandoverItem, item_id)
        if may_read_item(actor, item, departure):
            lines += [(e, item.title) for e in await ledger.entries(item.id)]
    for dispute_id in departure.dispute_ids:
        dispute = await ledger.load(Dispute, dispute_id)
        try:
            await authorize_dispute(ledger, actor, dispute)
        except NotFoundError:
            continue
        lines += [(e, None) for e in await ledger.entries(dispute.id)]
    lines.sort(key=lambda pair: (pair[0].recorded_at, str(pair[0].stream_id),
                                 pair[0].version))
    return [describe(entry, title) for entry, title in lines]


