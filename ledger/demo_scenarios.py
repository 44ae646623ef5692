"""The four seed scenarios; see ``ledger.demo`` for the cast and the mechanics, and
``ledger.demo_stories`` for the COO's and the project lead's."""

from __future__ import annotations

import contextlib
import datetime as dt
from uuid import UUID

from ledger.aggregates.item import HandoverItem
from ledger.demo import ADMIN, FINANCE, HR, IAM, IT, Demo, Person, employee
from ledger.demo_stories import coo_management, project_lead
from ledger.errors import ConflictError
from ledger.service import commands as c
from ledger.service.ledger import SYSTEM_ACTOR, Ledger
from ledger.service.principal_cases import create_principal, issue_token
from ledger.store.blob_port import BlobStore
from ledger.store.principal_port import PrincipalStore

WANG = Person("wang.lei", "王磊")
ZHAO = Person("zhao.min", "赵敏")
LI = Person("li.qiang", "李强")
ZHANG = Person("zhang.wei", "张伟")
HUANG = Person("huang.tao", "黄涛")
CHEN = Person("chen.jing", "陈静")
CEO = Person("ma.yun", "马云峰")
SONG = Person("song.jia", "宋佳")
LIU = Person("liu.yang", "刘洋")
XU = Person("xu.ming", "徐明")
PEOPLE = {p.id: p for p in (WANG, ZHAO, LI, ZHANG, HUANG, CHEN, CEO, SONG, LIU, XU)}


async def sales_dispute(demo: Demo) -> str:
    """王磊's client file: rejected for missing the latest needs, then confirmed; every item
    done, the handover confirmation signed by both sides and HR, closed; a month later the
    successor disputes it."""
    dep = await demo.open_case(
        c.Leaver(id=WANG.id, name=WANG.name, department="华东销售部", position="销售经理",
                 role_family="sales"), LI, -35, "个人发展，主动离职", ["sales", "clearance"], ZHAO)
    client = await demo.item(dep, "client-list")
    await demo.submit(client, PEOPLE, "客户名单已导出（共 86 家）")
    await demo.run(employee(ZHAO), c.RejectItem(
        item_id=client.id, reason="缺少重点客户（宏达科技）最新需求与报价进展，无法跟进"))
    await demo.submit(client, PEOPLE, "已补充宏达科技最新需求：二期扩容 200 套，报价单 V3 附后",
                      lines=[c.Line(id="hongda", text="宏达科技：二期扩容 200 套，报价单 V3"),
                             c.Line(id="others", text="其余 85 家客户及联系人（见附件）")],
                      mode="on_site", location="华东销售部会议室", attendees=[WANG.name, ZHAO.name])
    await demo.sign_off(client.id, PEOPLE, "已逐一核对 86 家客户及重点客户最新需求，确认接收")
    await demo.finish_all(dep, PEOPLE)
    await demo.sign_confirmation(dep, PEOPLE)
    await demo.run(HR, c.CloseDeparture(departure_id=dep, note="交接完毕，经济补偿可发放"))
    await disputed_after_close(demo, dep, client.id)
    return dep


async def disputed_after_close(demo: Demo, dep: str, client_item: UUID) -> None:
    """A month later the successor claims the client's latest needs were hidden (seed 000);
    both sides state, the leaver citing the file the successor had confirmed; HR finds."""
    raised = await demo.run(employee(ZHAO), c.RaiseDispute(
        departure_id=UUID(dep), item_ids=[client_item],
        claim="宏达科技三期需求未在交接中说明，客户投诉我方不了解其最新需求"))
    dispute = UUID(str(raised["dispute_id"]))
    client = await demo.ledger.load(HandoverItem, client_item)
    await demo.run(employee(WANG), c.AddDisputeStatement(
        dispute_id=dispute,
        text="交接时已提交宏达科技二期需求及报价单 V3，三期需求当时客户尚未提出",
        evidence=[c.CitedEvidence(sha256=str(e["sha256"]), item_id=client_item)
                  for e in client.evidence]))
    await demo.run(employee(ZHAO), c.AddDisputeStatement(
        dispute_id=dispute, text="确认书中只列二期，三期是口头沟通，未见记录"))
    await demo.run(HR, c.RecordDisputeFinding(
        dispute_id=dispute, responsibility="none",
        reasons="交接确认书经双方签署，所列客户需求与当时记录一致；三期需求产生于离职之后"))


async def remote_technician(demo: Demo) -> str:
    """张伟 (seed 001's 老张) left the site, requests his departure from his phone; HR accepts,
    his last day moves to the day he left, access is frozen; he hands over remotely."""
    # The request is dated by the real clock (the use case refuses a past intended day).
    asked_for = max(demo.today, dt.datetime.now(dt.UTC).date()) + dt.timedelta(days=7)
    letter = await demo.store_file("辞职申请.txt", "家庭原因，申请离职。预计离职时间：下周三。\n")
    requested = await demo.run(employee(ZHANG), c.RequestDeparture(
        department="工程服务部", position="现场技术员", reason="家庭原因",
        intended_last_working_day=asked_for, letter=letter))
    dep = str(requested["departure_id"])
    await demo.run(HR, c.AcceptDepartureRequest(
        departure_id=UUID(dep), role_family="technical", manager_id=HUANG.id,
        hr_owner_id=HR.id, notice_date=demo.today - dt.timedelta(days=30),
        last_working_day=demo.today + dt.timedelta(days=2), successor_id=HUANG.id,
        approval_chain=[c.ApprovalStep(name="部门负责人", approver_id=HUANG.id)]))
    await demo.apply_checklists(dep, ["technical", "clearance"], HUANG)
    await demo.run(employee(HUANG), c.ApproveStep(departure_id=UUID(dep), step=0))
    left = demo.today - dt.timedelta(days=3)
    await demo.run(HR, c.ChangeLastWorkingDay(
        departure_id=UUID(dep), last_working_day=left,
        reason="已离开项目点，“下周一周二才能回来办手续”：最后工作日按实际离开日更正"))
    await demo.run(HR, c.RecordLeft(departure_id=UUID(dep), left_on=left, note="已离开项目点"))
    await demo.run(HR, c.FreezeAccess(departure_id=UUID(dep),
                                      reason="暂时冻结系统权限，避免离职后登录系统"))
    await remote_handover(demo, dep)
    open_ids = [i.id for i in await demo.items(dep) if i.state == "open" and i.mandatory][:5]
    await demo.run(HR, c.SendReminder(departure_id=dep, to=ZHANG.id, item_ids=open_ids,
                                      channel="wecom", message="请于本周五前完成远程交接"))
    await demo.run(HR, c.SendReminder(departure_id=dep, to=HUANG.id, item_ids=open_ids,
                                      channel="email", escalation=True,
                                      message="逾期未交接，升级至部门负责人"))
    return dep


async def remote_handover(demo: Demo, dep: str) -> None:
    """The records flagged urgent, a question answered, the site handed over on video."""
    records = await demo.item(dep, "equipment-maintenance-records")
    await demo.submit(records, PEOPLE, "紧急：客户B的设备需本周完成维护", mode="remote",
                      location="钉钉（手机端）", urgent=True)
    await demo.sign_off(records.id, PEOPLE, "已在线查看设备维护记录", mode="remote")
    tasks = await demo.item(dep, "unfinished-tasks")
    await demo.run(employee(HUANG), c.CommentItem(
        item_id=tasks.id, question_to=ZHANG.id,
        text="请上传‘未完成的维修任务’清单，客户B的设备需本周完成"))
    await demo.run(employee(ZHANG), c.AnswerQuestion(
        item_id=tasks.id, question_id="1", text="清单在我电脑里，今晚通过钉钉传过来"))
    site = await demo.item(dep, "on-site-handover")
    await demo.submit(site, PEOPLE, "现场录像讲解：设备运行状态、备件位置、现场联系人",
                      mode="recorded_walkthrough", location="客户B项目点（录像）",
                      attendees=[ZHANG.name, HUANG.name])
    await demo.sign_off(site.id, PEOPLE, "已看完录像并与张伟视频确认", mode="remote")


async def play_all(ledger: Ledger, today: dt.date, blobs: BlobStore,
                   principals: PrincipalStore | None = None) -> dict[str, str]:
    """Play every scenario (evidence files into ``blobs``); return scenario name → departure
    id. With ``principals``, first create every person the scenarios name (a case may name only
    known principals)."""
    if principals is not None:
        await create_demo_principals(principals)
    await ledger.install_builtin_templates()
    demo = Demo(ledger, today, blobs)
    return {
        "sales_dispute (closed)": await sales_dispute(demo),
        "remote_technician (overdue)": await remote_technician(demo),
        "coo_management (in progress)": await coo_management(demo, CHEN, CEO, SONG, PEOPLE),
        "project_lead (in progress)": await project_lead(demo, LIU, XU, PEOPLE),
    }


DEMO_PRINCIPALS = (
    (HR.id, "孙丽 (HR)", ("hr", "employee"), "HR owner of every demo case"),
    (WANG.id, WANG.name, ("employee",), "leaver, sales_dispute"),
    (ZHAO.id, ZHAO.name, ("employee",), "successor, sales_dispute"),
    (LI.id, LI.name, ("employee",), "manager and approver, sales_dispute"),
    (IT.id, "钱工 (IT)", ("it", "employee"), "works the dept:it queue"),
    (FINANCE.id, "周会计 (Finance)", ("finance", "employee"), "works the dept:finance queue"),
    (ADMIN.id, "吴主管 (Admin)", ("admin", "employee"), "works the dept:admin queue"),
    (IAM.id, "IAM integration", ("system",), "posts external evidence"),
    ("legal.gao", "高律师 (Legal)", ("legal",), "reads every case"),
    ("audit.he", "何审计 (Auditor)", ("auditor",), "reads every case"),
    (ZHANG.id, ZHANG.name, ("employee",), "leaver, remote_technician"),
    (HUANG.id, HUANG.name, ("employee",), "manager and successor, remote_technician"),
    (CHEN.id, CHEN.name, ("employee",), "leaver, coo_management"),
    (CEO.id, CEO.name, ("employee",), "CEO: approver and receiver, coo_management"),
    (SONG.id, SONG.name, ("employee",), "successor, coo_management"),
    (LIU.id, LIU.name, ("employee",), "leaver, project_lead"),
    (XU.id, XU.name, ("employee",), "manager and successor, project_lead"),
)


async def create_demo_principals(principals: PrincipalStore) -> None:
    """Create every principal of the demo cast that does not exist yet."""
    for principal_id, name, roles, _part in DEMO_PRINCIPALS:
        # On a restart with --demo the principal exists already.
        with contextlib.suppress(ConflictError):
            await create_principal(principals, SYSTEM_ACTOR, principal_id, name, list(roles))


async def issue_demo_tokens(principals: PrincipalStore) -> list[tuple[str, str, str, str]]:
    """Create the demo cast as principals; return (principal, roles, part, token) for each."""
    issued = []
    await create_demo_principals(principals)
    for principal_id, _name, roles, part in DEMO_PRINCIPALS:
        token = await issue_token(principals, SYSTEM_ACTOR, principal_id, "demo")
        issued.append((principal_id, ",".join(roles), part, token))
    return issued
