"""LEDGER_AUTO_APPLY_CHECKLISTS: off by default, ``on`` on request, anything else refused; and
the rule it serves beside it: before approval only urgent items are worked."""

import pytest

from ledger.aggregates.departure import DepartureStateError
from ledger.aggregates.item import HandoverItem
from ledger.errors import ConfigurationError
from ledger.service.item_cases import require_workable
from ledger.settings import Settings
from tests.unit.test_departure import departure_in


def test_checklists_are_applied_on_approval_unless_the_environment_says_off() -> None:
    assert Settings.from_env({}).auto_apply_checklists is True
    assert Settings.from_env({"LEDGER_AUTO_APPLY_CHECKLISTS": "on"}).auto_apply_checklists
    assert not Settings.from_env({"LEDGER_AUTO_APPLY_CHECKLISTS": "off"}).auto_apply_checklists


@pytest.mark.parametrize("value", ["", "ON", "true", "1", "strict"])
def test_refuses_an_auto_apply_setting_it_does_not_know(value: str) -> None:
    with pytest.raises(ConfigurationError, match="LEDGER_AUTO_APPLY_CHECKLISTS must be on or off"):
        Settings.from_env({"LEDGER_AUTO_APPLY_CHECKLISTS": value})


def item(urgent: bool) -> HandoverItem:
    return HandoverItem(departure_id="d-1", category="documents", title="客户B设备维护记录",
                        label="", acceptance_criteria="", giver_id="emp-zhang",
                        receiver="emp-li", mandatory=True, priority="high", due_date=None,
                        template_item_key="client-b", urgent=urgent)


@pytest.mark.parametrize("state", ["draft", "pending_approval"])
def test_before_approval_only_urgent_items_are_worked(state: str) -> None:
    departure = departure_in(state)

    require_workable(departure, item(urgent=True))
    with pytest.raises(DepartureStateError, match="only urgent items can be worked"):
        require_workable(departure, item(urgent=False))


@pytest.mark.parametrize("state", ["approved", "handing_over"])
def test_after_approval_every_item_is_worked(state: str) -> None:
    require_workable(departure_in(state), item(urgent=False))
