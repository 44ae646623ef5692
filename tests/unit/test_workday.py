"""Working days on the PRC calendar, with its make-up working days (调休), and the checklist
fields that count on them (002: "接收方需在3个工作日内确认").

The expected dates come from the State Council's 2025 arrangement (国办发明电〔2024〕12号):
National Day and Mid-Autumn, Wed 1 – Wed 8 October off; Sun 28 September and Sat 11 October
are working days. Spring Festival 2026 (国办发明电〔2025〕7号): Sun 15 – Mon 23 February off;
Sat 14 February and Sat 28 February are working days.
"""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from ledger.errors import ConfigurationError
from ledger.service import commands as c
from ledger.service.item_flow import creation_order, resolve_line
from ledger.settings import Settings
from ledger.workday import WorkingCalendar

PRC = WorkingCalendar()
D = dt.date


def test_a_weekend_declared_a_working_day_counts_and_a_holiday_does_not() -> None:
    assert PRC.is_working_day(D(2025, 9, 28))  # Sunday, 调休
    assert PRC.is_working_day(D(2025, 10, 11))  # Saturday, 调休
    assert not PRC.is_working_day(D(2025, 9, 27))  # an ordinary Saturday
    assert not PRC.is_working_day(D(2025, 10, 1))  # National Day
    assert not PRC.is_working_day(D(2025, 10, 8))  # the last day of the holiday


def test_three_working_days_from_a_friday_run_through_the_make_up_sunday() -> None:
    # Fri 26 Sep → Sun 28 (调休), Mon 29, Tue 30.
    assert PRC.add_working_days(D(2025, 9, 26), 3) == D(2025, 9, 30)


def test_three_working_days_across_the_national_day_holiday() -> None:
    # Tue 30 Sep → (1–8 Oct off) Thu 9, Fri 10, Sat 11 (调休).
    assert PRC.add_working_days(D(2025, 9, 30), 3) == D(2025, 10, 11)


def test_a_submission_on_a_holiday_still_gets_whole_working_days() -> None:
    assert PRC.add_working_days(D(2025, 10, 3), 1) == D(2025, 10, 9)


def test_the_2026_spring_festival_with_its_saturday_working_days() -> None:
    # Fri 13 Feb → Sat 14 (调休), then 15–23 off, Tue 24, Wed 25.
    assert PRC.add_working_days(D(2026, 2, 13), 3) == D(2026, 2, 25)


def test_a_plain_week_is_counted_on_weekdays() -> None:
    assert PRC.add_working_days(D(2025, 11, 14), 3) == D(2025, 11, 19)


def test_the_organisation_date_begins_in_its_time_zone() -> None:
    late_utc = dt.datetime(2025, 9, 30, 17, 0, tzinfo=dt.UTC)  # 01:00 on 1 Oct in Beijing

    assert PRC.local_date(late_utc) == D(2025, 10, 1)
    assert WorkingCalendar("DE", "Europe/Berlin").local_date(late_utc) == D(2025, 9, 30)


def test_the_period_is_bounded() -> None:
    with pytest.raises(ValueError, match="from 1 to 60"):
        PRC.add_working_days(D(2025, 9, 30), 0)


def test_an_unknown_calendar_or_zone_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="LEDGER_WORKING_CALENDAR"):
        WorkingCalendar.for_setting("XX", "Asia/Shanghai")
    with pytest.raises(ConfigurationError, match="LEDGER_TIME_ZONE"):
        WorkingCalendar.for_setting("CN", "Mars/Olympus")
    assert WorkingCalendar.for_setting("CN", "Asia/Shanghai") == PRC


# --- the checklist fields ----------------------------------------------------------------------

def line(key: str, requires: list[str] | None = None, **more: object) -> dict[str, object]:
    return {"key": key, "category": "assets", "title": key, "label": "",
            "acceptance_criteria": "", "receiver": "successor", "mandatory": True,
            "priority": "normal", "due_offset_days": 0, "requires": requires or [], **more}


def test_a_checklist_whose_requirements_go_round_in_a_circle_is_refused() -> None:
    with pytest.raises(ValidationError, match="circle: a → b → a"):
        c.DefineTemplate(key="x", role_family="technical", name="x", label="", items=[
            line("a", ["b"]), line("b", ["a"])])  # type: ignore[arg-type]


def test_a_checklist_may_require_a_key_of_another_checklist() -> None:
    template = c.DefineTemplate(key="x", role_family="clearance", name="x", label="", items=[
        line("device-wipe", ["laptop-review"], confirm_within_working_days=3,
             escalate_to="manager")])  # type: ignore[arg-type]

    assert template.items[0].requires == ["laptop-review"]


def test_a_confirmation_period_is_a_json_integer_from_1_to_60() -> None:
    for bad in (0, 61, "3", True):
        with pytest.raises(ValidationError):
            c.TemplateItem(**line("a", confirm_within_working_days=bad))  # type: ignore[arg-type]


def test_lines_are_created_after_the_lines_they_require() -> None:
    specs = [line("wipe", ["review", "backup"]), line("review"), line("backup", ["review"])]

    assert creation_order(specs) == [1, 2, 0]  # type: ignore[arg-type]


def test_required_keys_resolve_to_this_application_then_to_earlier_items() -> None:
    spec = line("wipe", ["review", "laptop", "nowhere"], confirm_within_working_days=3)

    resolved = resolve_line(spec, {"review": "id-r"}, {"laptop": ["id-l1", "id-l2"]})  # type: ignore[arg-type]

    assert resolved == {"requires": ["id-r", "id-l1", "id-l2"],
                        "unresolved_requires": ["nowhere"], "confirm_within_working_days": 3,
                        "escalate_to": None}


def test_the_calendar_is_read_from_the_environment_once() -> None:
    chosen = Settings.from_env({"LEDGER_WORKING_CALENDAR": "HK",
                                "LEDGER_TIME_ZONE": "Asia/Hong_Kong"})
    default = Settings.from_env({})

    assert (chosen.working_calendar, chosen.time_zone) == ("HK", "Asia/Hong_Kong")
    assert (default.working_calendar, default.time_zone) == ("CN", "Asia/Shanghai")
