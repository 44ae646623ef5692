"""The four seed scenarios; see ``ledger.demo`` for the cast and the mechanics."""

from __future__ import annotations

import contextlib
import datetime as dt
from uuid import UUID

from ledger.aggregates.item import HandoverItem
from ledger.demo import ADMIN, FINANCE, HR, IAM, IT, Demo, Person, employee
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
    """王磊's client file: rejected for missing the latest needs, then confirmed; closed."""
    dep = await demo.open_case(
        c.Leaver(id=WANG.id, name=WANG.name, department="华东销售部", position="销售经理",
                 role_family="sales"), LI, -20, "个人发展，主动离职", ["sales", "clearance"], ZHAO)
    items = await demo.items(dep)
    client = next(i for i in items if i.category == "clients")
    await demo.submit(client, WANG, "客户名单已导出（共 86 家）")
    await demo.run(employee(ZHAO), c.RejectItem(
        item_id=client.id, reason="缺少重点客户（宏达科技）最新需求与报价进展，无法跟进"))
    await demo.submit(client, WANG, "已补充宏达科技最新需求：二期扩容 200 套，报价单 V3 附后")
    await demo.run(employee(ZHAO), c.ConfirmItem(
        item_id=client.id, note="已逐一核对 86 家客户及重点客户最新需求，确认接收"))
    await demo.finish_all(dep, WANG, PEOPLE)
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
    """张伟 left the site before handing over; remote handover, overdue, chased."""
    dep = await demo.open_case(
        c.Leaver(id=ZHANG.id, name=ZHANG.name, department="工程服务部", position="现场技术员",
                 role_family="technical"), HUANG, -5, "提前离开现场，远程交接",
        ["technical", "clearance"], HUANG)
    items = await demo.items(dep)
    records = next(i for i in items if i.category == "documents")
    await demo.submit(records, ZHANG, "设备维护记录扫描件（远程提交）")
    open_ids = [i.id for i in items if i.state == "open" and i.mandatory][:5]
    await demo.run(HR, c.SendReminder(departure_id=dep, to=ZHANG.id, item_ids=open_ids,
                                      channel="wecom", message="请于本周五前完成现场交接"))
    await demo.run(HR, c.SendReminder(departure_id=dep, to=HUANG.id, item_ids=open_ids,
                                      channel="email", escalation=True,
                                      message="逾期未交接，升级至部门负责人"))
    return dep


async def coo_management(demo: Demo) -> str:
    """陈静, COO: five management modules, some confirmed by the CEO, in progress."""
    dep = await demo.open_case(
        c.Leaver(id=CHEN.id, name=CHEN.name, department="运营中心", position="首席运营官 COO",
                 role_family="management"), CEO, 25, "合同到期不再续签",
        ["management", "clearance"], SONG)
    for item in (await demo.items(dep))[:4]:
        await demo.submit(item, CHEN, f"模块交付物：{item.title}")
        await demo.run(demo.reviewer(item, PEOPLE), c.ConfirmItem(item_id=item.id))
    return dep


async def project_lead(demo: Demo) -> str:
    """刘洋's documents lived on a laptop; IAM reports his accounts disabled."""
    dep = await demo.open_case(
        c.Leaver(id=LIU.id, name=LIU.name, department="研发中心", position="项目负责人",
                 role_family="technical"), XU, 3, "跳槽", ["technical", "clearance"], XU)
    items = await demo.items(dep)
    # The clearance checklist lets IAM's report submit these items; IT still confirms them.
    for item in [i for i in items if i.satisfied_by_report("system", IAM.id,
                                                          "account_disabled")][:3]:
        await demo.run(IAM, c.RecordExternalEvidence(
            item_id=item.id, source="IAM", kind="account_disabled",
            reference=f"iam-ticket-{str(item.id)[:8]}",
            details={"account": f"{LIU.id}@corp.example", "status": "disabled"}))
    return dep


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
        "coo_management (in progress)": await coo_management(demo),
        "project_lead (in progress)": await project_lead(demo),
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
