"""The report's Chinese and English labels of payload fields (the timeline's phrases for whole
events live in ``ledger.service.timeline``)."""

from __future__ import annotations

VALUE_WORDS: dict[bool | None, str] = {True: "是 / yes", False: "否 / no", None: "-"}

QUEUE_PREFIX = "dept:"
"""A receiver that is a department's queue (``dept:it``) rather than a person."""

DEPARTURE_STATES: dict[str, tuple[str, str]] = {
    "requested": ("已申请", "requested"),
    "declined": ("未受理", "declined"),
    "draft": ("草稿", "draft"),
    "pending_approval": ("待审批", "pending approval"),
    "approved": ("已批准", "approved"),
    "handing_over": ("交接中", "handing over"),
    "closed": ("已结案", "closed"),
    "withdrawn": ("已撤回", "withdrawn"),
}
ITEM_STATES: dict[str, tuple[str, str]] = {
    "open": ("待交接", "open"),
    "submitted": ("已提交待确认", "submitted"),
    "rejected": ("已退回", "rejected"),
    "confirmed": ("已确认", "confirmed"),
    "waived": ("已豁免", "waived"),
}
DISPUTE_STATES: dict[str, tuple[str, str]] = {
    "open": ("未决", "open"),
    "found": ("已认定", "found"),
}


AUTH_METHODS: dict[str, tuple[str, str]] = {
    "bearer": ("持有者令牌", "bearer token"),
    "session": ("会话（控制台）", "console session"),
    "link": ("一次性登录链接会话", "console session opened by a one-time sign-in link"),
    "system": ("系统内部操作", "the ledger itself (system)"),
    "cli": ("命令行（运维人员）", "command line (operator)"),
}
"""How a command's sender was authenticated (an entry's ``context.auth``): the API's bearer
token, the console's session (begun with a token, ``session``, or a one-time sign-in link,
``link``), the ledger's own workers and the operator's command line."""
OWN_SIGNATURE = ("本人 Ed25519 签名", "own Ed25519 signature")
"""What a command signed with the person's own registered key adds to its authentication."""


def auth_words(code: str) -> tuple[str, str]:
    """``(zh, en)`` of an authentication method; an unknown one is named once, as recorded."""
    if not code:
        return "-", "-"
    return AUTH_METHODS.get(code, (f"未知方式 {code}", "unknown method"))


_NO_KEY = ("（无个人密钥签名）", " (no personal key signature)")
CONFIRMED_WITHOUT_KEY: dict[str, tuple[str, str]] = {
    "bearer": ("凭登录令牌确认" + _NO_KEY[0],
               "confirmed with a bearer token" + _NO_KEY[1]),
    "session": ("在控制台会话中确认" + _NO_KEY[0],
                "confirmed in a console session" + _NO_KEY[1]),
    "link": ("在一次性登录链接开启的控制台会话中确认" + _NO_KEY[0],
             "confirmed in a console session opened by a one-time sign-in link" + _NO_KEY[1]),
    "system": ("由账本自身记录" + _NO_KEY[0], "recorded by the ledger itself" + _NO_KEY[1]),
    "cli": ("经命令行记录" + _NO_KEY[0], "recorded from the command line" + _NO_KEY[1]),
}
"""What a row says of a confirmation or sign-off recorded without the person's own signature
(``signature`` null), by the request's authentication method."""


def confirmed_without_key(code: str) -> tuple[str, str]:
    """``(zh, en)`` of a confirmation recorded without a personal key, authenticated by
    ``code``; for an unknown method, its words (``auth_words``) in brackets."""
    found = CONFIRMED_WITHOUT_KEY.get(code)
    if found is not None:
        return found
    zh, en = auth_words(code)
    return f"无个人密钥签名（{zh}）", f"no personal key signature ({en})"


CODES: dict[str, dict[str, tuple[str, str]]] = {
    "channel": {
        "email": ("电子邮件", "email"), "sms": ("短信", "SMS"), "dingtalk": ("钉钉", "DingTalk"),
        "wecom": ("企业微信", "WeCom"), "feishu": ("飞书", "Feishu"),
        "webhook": ("Webhook", "webhook"), "phone": ("电话", "phone"),
        "in_person": ("当面", "in person"), "letter": ("信函", "letter"),
    },
    "category": {
        "clients": ("客户", "clients"), "projects": ("项目", "projects"),
        "documents": ("文档", "documents"),
        "accounts_permissions": ("账号与权限", "accounts and permissions"),
        "assets": ("资产", "assets"), "finance": ("财务", "finance"),
        "knowledge": ("知识", "knowledge"), "management": ("管理", "management"),
    },
    "priority": {
        "low": ("低", "low"), "normal": ("普通", "normal"), "high": ("高", "high"),
        "critical": ("关键", "critical"),
    },
    "role_family": {
        "sales": ("销售", "sales"), "technical": ("技术", "technical"),
        "admin": ("行政", "administration"), "finance": ("财务", "finance"),
        "management": ("管理", "management"), "general": ("通用", "general"),
    },
    "mode": {
        "on_site": ("现场", "on site"), "remote": ("远程", "remote"),
        "meeting": ("会议", "meeting"),
        "recorded_walkthrough": ("录屏讲解", "recorded walkthrough"),
    },
}
"""Payload fields whose value is a code, and the code's ``(zh, en)`` words; a code not here is
printed as recorded."""
HOW_PARTS: dict[str, tuple[str, str]] = {
    "mode": ("方式", "mode"),
    "location": ("地点", "location"),
    "attendees": ("参与人", "attendees"),
}
"""The parts of ``how`` (how an item was handed over)."""
MEMBER_LABELS: dict[str, tuple[str, str]] = {
    "id": ("账号", "id"),
    "name": ("姓名", "name"),
    "department": ("部门", "department"),
    "position": ("职位", "position"),
    "approver_id": ("审批人", "approver"),
}
"""Members of a known field's objects (the ``leaver``, each step of the ``approval_chain``)
that are no payload field of their own; the others are labelled as ``LABELS`` says."""
FIELD_MEMBER_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "approval_chain": {"name": ("步骤", "step")},
}
"""Members whose label depends on the field they are in (a step's ``name`` names the step)."""


def code_words(field: str, value: str) -> str:
    """A coded value as ``zh en`` (``企业微信 WeCom``), or as recorded if it is no known code."""
    found = CODES.get(field, {}).get(value)
    return f"{found[0]} {found[1]}" if found else value


def state_words(states: dict[str, tuple[str, str]], state: str) -> tuple[str, str]:
    """``(zh, en)`` of a state; an unknown state is printed as recorded, in both places."""
    return states.get(state, (state, state))


def receiver_label(value: object, previous: bool = False) -> tuple[str, str]:
    """``(zh, en)`` label of a receiver: a person is a receiver, ``dept:...`` a queue."""
    queue = isinstance(value, str) and value.startswith(QUEUE_PREFIX)
    zh, en = ("接收队列", "queue") if queue else ("接收人", "receiver")
    return ("原" + zh, "previous " + en) if previous else (zh, en)

LABELS: dict[str, tuple[str, str]] = {
    "acceptance_criteria": ("验收标准", "acceptance criteria"),
    "acknowledged": ("逐条确认", "lines acknowledged"),
    "approval_chain": ("审批链", "approval chain"),
    "author": ("作者", "author"),
    "by": ("操作人", "by"),
    "category": ("类别", "category"),
    "cause": ("原因类型", "cause"),
    "channel": ("渠道", "channel"),
    "claim": ("主张", "claim"),
    "comment": ("意见", "comment"),
    "confirm_by": ("确认期限", "confirm by"),
    "confirm_within_working_days": ("确认期限（工作日）", "confirm within (working days)"),
    "confirmation_sha256": ("交接确认书 SHA-256", "handover confirmation SHA-256"),
    "confirmed": ("已确认", "confirmed"),
    "content_hash": ("内容哈希", "content hash"),
    "criteria_label": ("验收标准（英文）", "acceptance criteria in English"),
    "department_may_confirm_directly": ("部门可直接确认", "department may confirm directly"),
    "departure_id": ("离职单", "departure"),
    "details": ("详情", "details"),
    "direct": ("直接确认", "direct confirmation"),
    "dispute_id": ("争议", "dispute"),
    "document": ("文件", "document"),
    "due_date": ("截止日", "due date"),
    "escalate_to": ("逾期升级至", "escalate to"),
    "escalation": ("升级", "escalation"),
    "frozen_at": ("冻结时间", "frozen at"),
    "giver_id": ("交出人", "giver"),
    "how": ("交接方式", "how handed over"),
    "hr_owner_id": ("HR 负责人", "HR owner"),
    "intended_last_working_day": ("拟最后工作日", "intended last working day"),
    "item_id": ("事项", "item"),
    "item_ids": ("事项", "items"),
    "items": ("事项", "items"),
    "items_total": ("事项总数", "items in total"),
    "key": ("键", "key"),
    "keys": ("键", "keys"),
    "kind": ("类型", "kind"),
    "label": ("标签", "label"),
    "last_working_day": ("最后工作日", "last working day"),
    "leaver": ("离职人", "leaver"),
    "left_on": ("离职日", "left on"),
    "letter": ("离职信", "resignation letter"),
    "lines": ("条目", "lines"),
    "manager_id": ("直属经理", "manager"),
    "mandatory": ("必需", "mandatory"),
    "message": ("内容", "message"),
    "module": ("模块", "module"),
    "note": ("备注", "note"),
    "notice_date": ("通知日", "notice date"),
    "on_behalf": ("代为提交", "on the giver's behalf"),
    "on_evidence": ("依据外部证据（版本）", "on external evidence (version)"),
    "optional_open": ("未完成的可选事项", "optional items open"),
    "overdue_on": ("逾期日", "overdue on"),
    "parties": ("签署身份", "signs as"),
    "party": ("当事方", "party"),
    "previous": ("原签字人", "previous signer"),
    "previous_due_date": ("原截止日", "previous due date"),
    "previous_hr_owner_id": ("原 HR 负责人", "previous HR owner"),
    "previous_left_on": ("原离职日", "previous leaving day"),
    "previous_state": ("原状态", "previous state"),
    "principal_id": ("账号", "principal"),
    "priority": ("优先级", "priority"),
    "question_id": ("问题编号", "question"),
    "raised_as": ("提出身份", "raised as"),
    "raised_by": ("提出人", "raised by"),
    "reason": ("原因", "reason"),
    "reasons": ("理由", "reasons"),
    "reference": ("参考编号", "reference"),
    "rejected_lines": ("退回的条目", "lines rejected"),
    "requires": ("前置事项", "requires"),
    "responsibility": ("责任", "responsibility"),
    "revision": ("修订版本", "revision"),
    "role_family": ("岗位类别", "role family"),
    "rule": ("规则", "rule"),
    "satisfied_by": ("可由外部证据满足", "satisfied by"),
    "severance_releasable": ("可发放离职补偿", "severance may be released"),
    "sha256": ("SHA-256", "SHA-256"),
    "signatory": ("签署人", "signatory"),
    "signer": ("签字位", "signer slot"),
    "signers": ("签字人", "signers"),
    "signers_in_order": ("按顺序签字", "signers in order"),
    "source": ("来源系统", "source"),
    "statement_sha256": ("所签文本 SHA-256", "signed statement SHA-256"),
    "step": ("审批步骤（自 0 起）", "approval step (from 0)"),
    "submission": ("第几次提交", "submission"),
    "successor_id": ("接任者", "successor"),
    "template": ("交接清单", "checklist"),
    "template_item_key": ("清单条目键", "checklist line key"),
    "terminated_on": ("合同解除日", "terminated on"),
    "text": ("内容", "text"),
    "title": ("标题", "title"),
    "to": ("对象", "to"),
    "unresolved_requires": ("未关联的前置条目", "unresolved requirements"),
    "urgent": ("紧急", "urgent"),
    "waived": ("已豁免", "waived"),
    "warnings": ("提示", "warnings"),
    # EvidenceExported (docs/bundle-format.md, "Export")
    "bundle_format": ("包格式", "bundle format"),
    "status": ("状态", "status"),
    "checkpoint": ("检查点", "checkpoint"),
    "manifest_sha256": ("清单 SHA-256", "manifest SHA-256"),
    "with_files": ("含附件", "with files"),
}
