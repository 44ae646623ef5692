"""The COO's and the project lead's scenarios (see ``ledger.demo``).

3. 陈静, COO (seed 002): the five management modules signed module by module by the successor
   (not the CEO), finance first on the approval matrix; the risk register acknowledged line by
   line, one line rejected and corrected first ("逐条签字确认"); the clearance still open.
4. 刘洋, engineering project lead whose documents lived on a laptop (seed 004): IAM reports his
   accounts disabled; the laptop is reviewed with the successor, admin signs for the computer,
   and only then does IT wipe it ("方能进入下一环").
"""

from __future__ import annotations

from ledger.aggregates.item import MODULES
from ledger.demo import IAM, Demo, Person, employee
from ledger.service import commands as c

RISKS = [c.Line(id="R1", text="三期交付延期风险：高；应对：增派两名工程师；责任部门：工程部"),
         c.Line(id="R2", text="关键人员离职风险：高；应对：交接期内知识转移；责任部门：运营中心"),
         c.Line(id="R3", text="供应商涨价风险：中；应对：锁定年度框架协议"),
         c.Line(id="R4", text="客户回款风险：中；应对：按月对账催收；责任部门：财务部")]
R3_CORRECTED = c.Line(id="R3", text="供应商涨价风险：中；应对：锁定年度框架协议；责任部门：采购部")


async def coo_management(demo: Demo, coo: Person, ceo: Person, successor: Person,
                         people: dict[str, Person]) -> str:
    """陈静's five modules, each signed before the next; the clearance is still open."""
    dep = await demo.open_case(
        c.Leaver(id=coo.id, name=coo.name, department="运营中心", position="首席运营官 COO",
                 role_family="management"), ceo, 25, "合同到期不再续签",
        ["management", "clearance"], successor)
    items = [i for i in await demo.items(dep) if i.module is not None]
    for module in MODULES:
        for item in [i for i in items if i.module == module]:
            if item.template_item_key == "core-projects-risk-register":
                await risk_register(demo, item.id, people, successor)
                continue
            await demo.submit(item, people, f"{module} 模块交付物：{item.title}",
                              mode="meeting", location="总部 12 楼会议室",
                              attendees=[coo.name, successor.name])
            await demo.sign_off(item.id, people, f"已理解并接收：{item.title}")
    return dep


async def risk_register(demo: Demo, item_id: object, people: dict[str, Person],
                        successor: Person) -> None:
    """Line by line: the successor rejects R3 (no responsible department), acknowledges the
    rest; the corrected register is acknowledged line by line."""
    item = (await demo.items_of(item_id))[0]
    await demo.submit(item, people, "核心项目风险清单（4 项）", lines=RISKS)
    await demo.run(employee(successor), c.RejectItem(
        item_id=item.id, reason="R3 未写明责任部门",
        rejected_lines=[c.LineRejection(id="R3", reason="未写明责任部门")],
        acknowledged=["R1", "R2", "R4"]))
    item = (await demo.items_of(item_id))[0]
    await demo.submit(item, people, "已补充 R3 责任部门",
                      lines=[*RISKS[:2], R3_CORRECTED, RISKS[3]])
    await demo.sign_off(item.id, people, "逐条签字确认 R1–R4")


async def project_lead(demo: Demo, lead: Person, manager: Person,
                       people: dict[str, Person]) -> str:
    """刘洋's accounts reported disabled by IAM; his laptop reviewed before it is wiped."""
    dep = await demo.open_case(
        c.Leaver(id=lead.id, name=lead.name, department="研发中心", position="项目负责人",
                 role_family="technical"), manager, 3, "跳槽", ["technical", "clearance"],
        manager)
    items = await demo.items(dep)
    # The clearance checklist lets IAM's report submit these items; IT still confirms them.
    for item in [i for i in items if i.satisfied_by_report("system", IAM.id,
                                                          "account_disabled")][:3]:
        await demo.run(IAM, c.RecordExternalEvidence(
            item_id=item.id, source="IAM", kind="account_disabled",
            reference=f"iam-ticket-{str(item.id)[:8]}",
            details={"account": f"{lead.id}@corp.example", "status": "disabled"}))
    laptop = await demo.item(dep, "laptop-review")
    await demo.submit(laptop, people, "与交接人共同核查个人电脑，发现的工作文件均已归档",
                      lines=[c.Line(id="F1", text="D:/项目/三期施工节点.xlsx → 共享库/工程/三期"),
                             c.Line(id="F2", text="桌面/客户验收记录.docx → 共享库/客户/验收")],
                      mode="on_site", location="研发中心", attendees=[lead.name, manager.name])
    await demo.sign_off(laptop.id, people, "逐条核对，电脑中无未归档的项目资料")
    for key in ("admin-collect-devices", "it-wipe-devices"):  # the wipe requires the review
        item = await demo.item(dep, key)
        await demo.submit(item, people, f"已完成：{item.title}")
        await demo.sign_off(item.id, people)
    return dep
