"""Shared set-up for the tests/test_desk_*.py files: databases, a fake clock, a bound
help group, a department group and the people in them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from desk.bindings import bind_department_chat, bind_help_chat
from desk.roles import Actor, resolve_role
from storage import Database
from tests.databases import postgres_schema_database
from tests.updates import supergroup_id, user_id
from workdays import DEFAULT_BUSINESS_HOURS, BusinessHours, WorkingCalendar

SH = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar()
HOURS = BusinessHours.parse(DEFAULT_BUSINESS_HOURS, calendar=CALENDAR, tz=SH)
ALWAYS = BusinessHours.parse("24x7", calendar=CALENDAR, tz=SH)

STEWARD_CHAT = supergroup_id(1)
LEAD_CHAT = supergroup_id(2)
HELP_CHAT = supergroup_id(10)
OTHER_HELP_CHAT = supergroup_id(11)
DEPT_CHAT = supergroup_id(20)
OTHER_DEPT_CHAT = supergroup_id(21)
ADMIN = user_id(1)
STEWARD = user_id(11)
STEWARD_2 = user_id(12)
DEPT_MEMBER = user_id(21)
OTHER_DEPT_MEMBER = user_id(22)
LEADER = user_id(31)
ASKER = user_id(41)
OTHER_ASKER = user_id(42)
PROJECTS = {"P-001", "P-002"}


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    """A moment in Asia/Shanghai."""
    return datetime(year, month, day, hour, minute, tzinfo=SH)


class Clock:
    """The fake clock: tests move it, nothing sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, minutes: float) -> datetime:
        self.now = self.now + timedelta(minutes=minutes)
        return self.now

    def set(self, moment: datetime) -> datetime:
        self.now = moment
        return self.now


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """A Database on PostgreSQL inside a fresh schema (others' tests share the database)."""
    with postgres_schema_database("desk_test") as db:
        yield db


@dataclass
class World:
    db: Database
    clock: Clock

    def actor(self, user_id: int, chat_id: int, name: str = "") -> Actor:
        return self.db.call(
            resolve_role,
            user_id=user_id,
            chat_id=chat_id,
            now=self.clock.now,
            admin_ids=[ADMIN],
            steward_chat_id=STEWARD_CHAT,
            lead_chat_id=LEAD_CHAT,
            name=name or f"user{user_id}",
        )

    @property
    def admin_in_steward_chat(self) -> Actor:
        return self.actor(ADMIN, STEWARD_CHAT, "管理员")

    @property
    def steward(self) -> Actor:
        return self.actor(STEWARD, STEWARD_CHAT, "王管家")

    @property
    def steward2(self) -> Actor:
        return self.actor(STEWARD_2, STEWARD_CHAT, "李管家")

    @property
    def dept(self) -> Actor:
        return self.actor(DEPT_MEMBER, DEPT_CHAT, "赵科长")

    @property
    def other_dept(self) -> Actor:
        return self.actor(OTHER_DEPT_MEMBER, OTHER_DEPT_CHAT, "钱科长")

    @property
    def lead(self) -> Actor:
        return self.actor(LEADER, LEAD_CHAT, "孙组长")

    @property
    def asker(self) -> Actor:
        return self.actor(ASKER, HELP_CHAT, "企业张经理")


def make_world(db: Database, start: datetime) -> World:
    """Bind two help groups and two department groups, as an admin would."""
    clock = Clock(start)
    world = World(db=db, clock=clock)
    for chat, code in ((HELP_CHAT, "P-001"), (OTHER_HELP_CHAT, "P-002")):
        admin = world.actor(ADMIN, chat, "管理员")
        db.call(
            bind_help_chat,
            actor=admin,
            chat_id=chat,
            project_code=code,
            now=clock.now,
            title=code,
            project_exists=PROJECTS.__contains__,
        )
    for chat, key in ((DEPT_CHAT, "natural_resources"), (OTHER_DEPT_CHAT, "ecology")):
        admin = world.actor(ADMIN, chat, "管理员")
        db.call(bind_department_chat, actor=admin, chat_id=chat, department_key=key, now=clock.now, title=key)
    return world
