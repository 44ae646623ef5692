"""Working days of an organisation's calendar: receivers' deadlines (002: "接收方需在3个工作日内
确认") are counted on them.

The calendar is the maintained ``holidays`` library's (python-holidays), which knows the PRC's
public holidays *and* its make-up working days (调休: a Saturday or Sunday declared a working
day, ``weekend_workdays``) year by year as the State Council announces them. It also covers
other countries, so the organisation's setting only names one (``LEDGER_WORKING_CALENDAR``,
ISO 3166 code, default ``CN``) and the time zone its days begin in (``LEDGER_TIME_ZONE``,
default ``Asia/Shanghai``). Chosen over ``chinesecalendar``, which also knows 调休 but covers
only China, is released about once a year and raises for any year it has no data for.

Pure: no clock, no I/O (the library's data is code). The service layer reads the clock and
turns the instant into a local date with ``local_date``. For a year whose arrangement is not
yet announced, the library knows the statutory holidays but no make-up days: a deadline that
far ahead is counted on weekends and holidays only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from ledger.errors import ConfigurationError

DEFAULT_CALENDAR = "CN"
DEFAULT_TIME_ZONE = "Asia/Shanghai"
MAX_WORKING_DAYS = 60


@dataclass(frozen=True)
class WorkingCalendar:
    """One organisation's working days: a country's calendar, in a time zone.

    Precondition: ``country`` is a code the ``holidays`` library supports and ``time_zone`` an
    IANA zone name; ``for_setting`` checks both and raises ConfigurationError otherwise.
    """

    country: str = DEFAULT_CALENDAR
    time_zone: str = DEFAULT_TIME_ZONE
    _days: holidays.HolidayBase = field(init=False, repr=False, compare=False)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_days", holidays.country_holidays(self.country))
        object.__setattr__(self, "_zone", ZoneInfo(self.time_zone))

    @classmethod
    def for_setting(cls, country: str, time_zone: str) -> WorkingCalendar:
        """The calendar a setting names; ConfigurationError if the library lacks it."""
        if country not in holidays.list_supported_countries():
            raise ConfigurationError(
                f"LEDGER_WORKING_CALENDAR must be a country code the holidays library knows "
                f"(e.g. CN), not {country!r}")
        try:
            return cls(country, time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"LEDGER_TIME_ZONE must be an IANA time zone (e.g. Asia/Shanghai), "
                f"not {time_zone!r}") from None

    def is_working_day(self, day: dt.date) -> bool:
        """Whether ``day`` is a working day: a weekday that is no public holiday, or a
        weekend day declared a make-up working day (调休)."""
        return bool(self._days.is_working_day(day))

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``start`` (``start`` itself never counts: a
        submission on a holiday still gets ``n`` whole working days). Precondition:
        1 <= n <= MAX_WORKING_DAYS."""
        if not 1 <= n <= MAX_WORKING_DAYS:
            raise ValueError(f"n must be from 1 to {MAX_WORKING_DAYS}, not {n}")
        return self._days.get_nth_working_day(start, n)

    def local_date(self, instant: dt.datetime) -> dt.date:
        """The organisation's calendar date at ``instant`` (an aware datetime)."""
        return instant.astimezone(self._zone).date()
