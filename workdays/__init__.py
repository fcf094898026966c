"""Chinese working-day calendar (工作日, 调休) and business-hours arithmetic.

Plain Python: no Telegram, no database.
"""

from workdays.business_hours import DEFAULT_BUSINESS_HOURS, DEFAULT_TZ, BusinessHours
from workdays.calendar import DEFAULT_OVERRIDES_PATH, WorkingCalendar
from workdays.errors import CalendarConfigError

__all__ = [
    "BusinessHours",
    "CalendarConfigError",
    "DEFAULT_BUSINESS_HOURS",
    "DEFAULT_OVERRIDES_PATH",
    "DEFAULT_TZ",
    "WorkingCalendar",
]
