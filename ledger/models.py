"""Ledger tables: a major project and its pre-construction procedures (前期手续)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class ProcedureStatus(str, enum.Enum):
    """Stored as these ascii values so renaming a label never touches the data."""

    done = "done"  # 已办结
    not_needed = "not_needed"  # 无需办理 (counts as finished in the published figures)
    in_progress = "in_progress"  # 办理中
    not_started = "not_started"  # 未启动

    @property
    def is_finished(self) -> bool:
        return self in FINISHED_STATUSES


STATUS_LABELS: dict[ProcedureStatus, str] = {
    ProcedureStatus.done: "已办结",
    ProcedureStatus.not_needed: "无需办理",
    ProcedureStatus.in_progress: "办理中",
    ProcedureStatus.not_started: "未启动",
}

OPEN_STATUSES = (ProcedureStatus.in_progress, ProcedureStatus.not_started)
FINISHED_STATUSES = (ProcedureStatus.done, ProcedureStatus.not_needed)


class Project(SQLModel, table=True):
    __tablename__ = "ledger_project"
    __table_args__ = (
        CheckConstraint("investment_yi >= 0", name="ck_ledger_project_investment"),
        CheckConstraint("start_half in (1, 2)", name="ck_ledger_project_half"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True, index=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    enterprise: str | None = Field(default=None, sa_column=Column(String(200)))
    region: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    sector: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    investment_yi: Decimal = Field(sa_column=Column(Numeric(14, 4), nullable=False))
    start_half: int = Field(sa_column=Column(Integer, nullable=False))
    start_year: int = Field(sa_column=Column(Integer, nullable=False))
    planned_start_date: date | None = None
    steward: str | None = Field(default=None, sa_column=Column(String(64)))
    # Set by /bind in the project's help group, never by an import.
    help_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, index=True))
    # Set by `ledger remove` / `import --prune`: out of reports and reminders, history kept;
    # cleared when an import names the project again.
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(timezone=True), index=True))


class Procedure(SQLModel, table=True):
    __tablename__ = "ledger_procedure"
    __table_args__ = (
        UniqueConstraint("project_id", "item_key", name="uq_ledger_procedure_project_item"),
        CheckConstraint("promised_days is null or promised_days >= 0", name="ck_ledger_procedure_days"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(
        sa_column=Column(Integer, ForeignKey("ledger_project.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    item_key: str = Field(sa_column=Column(String(64), nullable=False))  # a knowledge item key
    status: ProcedureStatus = Field(
        sa_column=Column(
            Enum(
                ProcedureStatus,
                native_enum=False,
                length=16,
                create_constraint=True,
                values_callable=lambda e: [m.value for m in e],
                name="ledger_procedure_status",
            ),
            nullable=False,
            index=True,
        )
    )
    # As written in the ledger; None means "the item's department" (resolved when shown).
    department: str | None = Field(default=None, sa_column=Column(String(100)))
    accepted_on: date | None = None
    promised_days: int | None = None
    finished_on: date | None = None
    note: str | None = Field(default=None, sa_column=Column(String(1000)))


# The Core tables, for the bulk statements and aggregates (SQLModel's stubs hide __table__).
PROJECT_TABLE: Table = Project.__table__  # type: ignore[attr-defined]
PROCEDURE_TABLE: Table = Procedure.__table__  # type: ignore[attr-defined]
