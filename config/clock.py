"""The working-day calendar and business hours the settings describe."""

from __future__ import annotations

from config.settings import Settings, SettingsError
from workdays import BusinessHours, CalendarConfigError, WorkingCalendar


def working_clock(settings: Settings) -> tuple[WorkingCalendar, BusinessHours]:
    """Build the calendar and business hours; a bad one raises SettingsError naming its setting."""
    try:
        calendar = WorkingCalendar.from_settings(settings.calendar_overrides_path)
    except CalendarConfigError as exc:
        raise SettingsError(f"CALENDAR_OVERRIDES_PATH: {exc}") from None
    try:
        hours = BusinessHours.parse(settings.business_hours, calendar=calendar, tz=settings.tz)
    except ValueError as exc:
        raise SettingsError(f"BUSINESS_HOURS: {exc}") from None
    return calendar, hours
