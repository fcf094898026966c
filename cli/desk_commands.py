"""`steward stats`: how well the response promise is kept."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

import texts
from cli.common import fail, open_database, settings_or_exit
from config import Settings, SettingsError
from config.clock import working_clock
from desk.render import stats_text
from desk.stats import compute_stats
from knowledge.errors import KnowledgeError
from storage import utcnow
from workdays import BusinessHours


def business_hours(settings: Settings) -> BusinessHours:
    try:
        return working_clock(settings)[1]
    except SettingsError as exc:
        fail(texts.SETTINGS_INVALID.format(detail=exc))


def _department_names(settings: Settings) -> dict[str, str]:
    """Department display names from the knowledge base; keys if it cannot be read."""
    try:
        from knowledge.loader import load_knowledge

        kb = load_knowledge(settings.knowledge_path)
    except KnowledgeError:  # names are a nicety; the numbers must print anyway
        return {}
    return {key: dept.name for key, dept in kb.departments.items()}


def cmd_stats(args: argparse.Namespace) -> None:
    settings = settings_or_exit()
    db = open_database(settings, create=False)
    now = utcnow()
    since = now - timedelta(days=args.days) if args.days else None
    hours = business_hours(settings)
    try:
        stats = db.call(compute_stats, hours=hours, now=now, since=since, until=None)
    finally:
        db.dispose()
    if args.json:
        print(json.dumps(stats.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(stats_text(stats, days=args.days, departments=_department_names(settings), as_html=False))


MOST_DAYS = 36_500  # a hundred years: every ticket; more overflows the date arithmetic


def _positive_days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = 0
    if not 0 < days <= MOST_DAYS:
        raise argparse.ArgumentTypeError(texts.CLI_DAYS_INVALID.format(value=value, most=MOST_DAYS))
    return days


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("stats", help="响应统计：按时率、首次响应用时、分部门/分管家、自动答复率")
    parser.add_argument("--json", action="store_true", help="输出 JSON")
    parser.add_argument(
        "--days", type=_positive_days, default=None, metavar="天数", help="只统计最近这么多天新建的工单（默认全部）"
    )
    parser.set_defaults(func=cmd_stats)
