"""Text for tickets, alerts and numbers, HTML (parse_mode=HTML) unless said otherwise.
Every piece of user text goes through html.escape; every sentence comes from texts.py.
Long user text is clipped so a card (which carries buttons) stays one message."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import texts
from desk.callbacks import MAX_ID
from desk.errors import (
    AlreadyClaimed,
    DeskError,
    EmptyAnswer,
    InvalidTransition,
    NotACard,
    NotBound,
    PermissionDenied,
    TicketChanged,
    TicketNotFound,
    UnknownDepartment,
    UnknownProject,
)
from desk.models import FINAL_STATUSES, CardKind, Role, TicketStatus
from desk.sla import AlertKind, Audience, Recipient, SlaAlert
from desk.stats import DeskStats, GroupStats
from desk.throttle import Verdict
from desk.tickets import Escalation, FollowUp, Relay
from desk.views import BindingView, MessageView, TicketView
from workdays import BusinessHours

QUESTION_CLIP = 1200
THREAD_ITEM_CLIP = 400
THREAD_MAX_ITEMS = 12

Names = Mapping[str, str] | None


def esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def status_label(status: TicketStatus | str) -> str:
    return texts.DESK_STATUS[str(TicketStatus(status))]


def duration(minutes: float) -> str:
    """Business minutes as 「25分钟」 / 「1小时5分钟」."""
    whole = int(minutes + 0.5)
    if minutes < 1:
        return texts.DESK_DURATION_UNDER_MINUTE
    if whole < 60:
        return texts.DESK_DURATION_MINUTES.format(minutes=whole)
    return texts.DESK_DURATION_HOURS.format(hours=whole // 60, minutes=whole % 60)


def when(at: datetime, hours: BusinessHours) -> str:
    local = at.astimezone(hours.tz)
    return texts.DESK_TIME.format(
        month=local.month,
        day=local.day,
        weekday=texts.DESK_WEEKDAYS[local.weekday()],
        hour=local.hour,
        minute=local.minute,
    )


def percent(value: float | None) -> str:
    return texts.DESK_NONE if value is None else texts.DESK_PERCENT.format(value=value)


def department_name(key: str | None, departments: Names = None) -> str:
    if not key:
        return texts.DESK_STEWARDS
    return (departments or {}).get(key, key)


def project_label(ticket: TicketView, project_name: str | None = None) -> str:
    if project_name:
        return esc(project_name)
    return esc(ticket.project_code) if ticket.project_code else texts.DESK_PROJECT_UNBOUND


def holder(ticket: TicketView, departments: Names = None) -> str:
    if ticket.department_key:
        dept = esc(department_name(ticket.department_key, departments))
        if ticket.assignee_name:
            return texts.DESK_HOLDER_DEPARTMENT_PERSON.format(department=dept, name=esc(ticket.assignee_name))
        return dept
    if ticket.assignee_name:
        return esc(ticket.assignee_name)
    return texts.DESK_HOLDER_NOBODY


def clock(ticket: TicketView, *, now: datetime, hours: BusinessHours) -> str:
    """The line about time: left, paused (outside business hours), overdue or answered."""
    due = when(ticket.sla_due_at, hours)
    if ticket.first_response_at is not None:
        took = duration(hours.minutes_between(ticket.created_at, ticket.first_response_at))
        at = when(ticket.first_response_at, hours)
        template = texts.DESK_CLOCK_ANSWERED if ticket.answered_in_time else texts.DESK_CLOCK_ANSWERED_LATE
        return template.format(at=at, took=took)
    if ticket.status in FINAL_STATUSES:
        return texts.DESK_CLOCK_CLOSED_UNANSWERED
    if now >= ticket.sla_due_at:
        return texts.DESK_CLOCK_OVERDUE.format(over=duration(hours.minutes_between(ticket.sla_due_at, now)), due=due)
    if not hours.is_open(now):
        return texts.DESK_CLOCK_PAUSED.format(opens_at=when(hours.next_open(now), hours), due=due)
    left = duration(hours.minutes_between(now, ticket.sla_due_at))
    return texts.DESK_CLOCK_LEFT.format(left=left, due=due)


def _candidates(ticket: TicketView) -> str:
    names = [str(c.get("title") or c.get("name") or c.get("key") or "") for c in ticket.candidates]
    names = [n for n in names if n][:3]
    if not names:
        return ""
    if all(c.get("earlier") for c in ticket.candidates):
        # a follow-up the bot doubted was still about the conversation's item: that item is no guess of this one
        return texts.DESK_CARD_EARLIER.format(item=esc(names[0]))
    return texts.DESK_CARD_CANDIDATES.format(candidates=esc("、".join(names)))


def thread_lines(thread: Iterable[MessageView], hours: BusinessHours) -> list[str]:
    items = list(thread)
    if len(items) > THREAD_MAX_ITEMS:
        items = items[:1] + items[-(THREAD_MAX_ITEMS - 1) :]
    lines = []
    for m in items:
        template = texts.DESK_THREAD_IN if m.direction == "in" else texts.DESK_THREAD_OUT
        lines.append(
            template.format(
                at=when(m.at, hours), author=esc(m.author_name or "?"), text=esc(clip(m.text, THREAD_ITEM_CLIP))
            )
        )
    return lines


def ticket_card(
    ticket: TicketView,
    *,
    now: datetime,
    hours: BusinessHours,
    project_name: str | None = None,
    departments: Names = None,
    thread: Iterable[MessageView] = (),
    for_department: bool = False,
) -> str:
    """The card for the steward group (or, with for_department, a department group).
    `thread`: the ticket's messages; the first (the question itself) is skipped."""
    parts = [
        texts.DESK_CARD.format(
            ticket_id=ticket.id,
            status=status_label(ticket.status),
            project=project_label(ticket, project_name),
            asker=esc(ticket.asker_name or "?"),
            asked_at=when(ticket.created_at, hours),
            question=esc(clip(ticket.question, QUESTION_CLIP)),
            clock=clock(ticket, now=now, hours=hours),
            holder=holder(ticket, departments),
        )
    ]
    candidates = _candidates(ticket)
    if candidates and not for_department:
        parts.append(candidates)
    rest = list(thread)[1:]
    if rest:
        parts.append(texts.DESK_THREAD_HEAD + "\n" + "\n".join(thread_lines(rest, hours)))
    parts.append(texts.DESK_CARD_HINT_DEPARTMENT if for_department else texts.DESK_CARD_HINT_STEWARD)
    return "\n\n".join(parts)


@dataclass(frozen=True)
class CardFace:
    """What a ticket's card shows now: its text, and whose buttons (None: none, it is done)."""

    html: str
    buttons: CardKind | None


def card_face(
    ticket: TicketView,
    kind: CardKind | str,
    *,
    now: datetime,
    hours: BusinessHours,
    project_name: str | None = None,
    departments: Names = None,
) -> CardFace:
    """The card of `kind` for the ticket's current state: its status, clock and holder as they
    are now (after a delivery failed, the ticket is open again, and so is the card)."""
    kind = CardKind(kind)
    html = ticket_card(
        ticket,
        now=now,
        hours=hours,
        project_name=project_name,
        departments=departments,
        for_department=kind is CardKind.department,
    )
    return CardFace(html, None if TicketStatus(ticket.status) in FINAL_STATUSES else kind)


def escalation_card(
    escalation: Escalation,
    *,
    now: datetime,
    hours: BusinessHours,
    project_name: str | None = None,
    departments: Names = None,
    note: str | None = None,
) -> str:
    head = texts.DESK_ESCALATION_HEAD.format(department=esc(department_name(escalation.department_key, departments)))
    if note:
        # One line: the card's own head follows the first blank line (card_ticket_id).
        one_line = " ".join(note.split())
        head += "\n" + texts.DESK_ESCALATION_NOTE.format(note=esc(clip(one_line, THREAD_ITEM_CLIP)))
    return (
        head
        + "\n\n"
        + ticket_card(
            escalation.ticket,
            now=now,
            hours=hours,
            project_name=project_name,
            departments=departments,
            thread=escalation.thread,
            for_department=True,
        )
    )


_TAG = re.compile(r"<[^>]+>")


def _plain_lines(template: str) -> list[str]:
    return _TAG.sub("", template).splitlines()


def _head(template: str) -> re.Pattern[str]:
    """The line of a card template that names the ticket, as a pattern on the message's plain
    text (what Telegram shows: tags gone): the literal text before the number and up to the
    next placeholder after it."""
    line = next(line for line in _plain_lines(template) if "{ticket_id}" in line)
    before, after = line.split("{ticket_id}", 1)
    assert "{" not in before, template
    return re.compile(re.escape(before) + "([0-9]{1,19})" + re.escape(after.split("{", 1)[0]))


def _whole_line(template: str) -> re.Pattern[str]:
    """A one-line template as a pattern, its placeholders standing for any text."""
    parts = [part.split("}", 1)[-1] for part in _plain_lines(template)[0].split("{")]
    return re.compile(".+?".join(re.escape(part) for part in parts) + "$")


# The bot's messages that are cards of a ticket (follow_up kind "card" in the outbox, or the
# escalation card): each begins with its own line naming the ticket, before any user text.
_CARD_HEADS = tuple(
    _head(t)
    for t in (
        texts.DESK_CARD,
        texts.DESK_WARNING,
        texts.DESK_BREACH_NOTICE,
        texts.DESK_FOLLOW_UP_NOTICE,
        texts.DESK_FOLLOW_UP_REOPENED,
    )
)
_ESCALATION_HEAD = _whole_line(texts.DESK_ESCALATION_HEAD)


def card_ticket_id(text: str) -> int | None:
    """The ticket a card (or warning, breach or follow-up notice) of the bot names, from the
    message's plain text: its first line, or for an escalation card the card's own first line,
    after the head and the steward's note (one line). None for any other text, a digest or a
    relay confirmation included. Only the head counts: user text (the question, the thread, the
    note) comes after it or in its own line, so a question quoting 「🎫 工单 #7」 cannot name
    another ticket."""
    lines = text.strip().splitlines()
    if not lines:
        return None
    if _ESCALATION_HEAD.match(lines[0]):  # the card's own head follows the first blank line
        blank = next((i for i, line in enumerate(lines) if not line.strip()), len(lines) - 1)
        found = _CARD_HEADS[0].match(lines[blank + 1]) if blank + 1 < len(lines) else None
    else:
        found = next((m for m in (head.match(lines[0]) for head in _CARD_HEADS) if m), None)
    if found is None:
        return None
    ticket_id = int(found.group(1))
    return ticket_id if 0 < ticket_id <= MAX_ID else None


def warning(
    alert: SlaAlert, *, hours: BusinessHours, project_name: str | None = None, departments: Names = None
) -> str:
    t = alert.ticket
    return texts.DESK_WARNING.format(
        ticket_id=t.id,
        left=duration(alert.minutes_left),
        holder=holder(t, departments),
        project=project_label(t, project_name),
        question=esc(clip(t.question, QUESTION_CLIP)),
    )


def breach_alert(
    alert: SlaAlert, *, hours: BusinessHours, project_name: str | None = None, departments: Names = None
) -> str:
    """For the lead group: the ticket and who held it when time ran out."""
    t = alert.ticket
    return texts.DESK_BREACH_ALERT.format(
        ticket_id=t.id,
        project=project_label(t, project_name),
        asker=esc(t.asker_name or "?"),
        asked_at=when(t.created_at, hours),
        question=esc(clip(t.question, QUESTION_CLIP)),
        due=when(t.sla_due_at, hours),
        holder=holder(t, departments),
    )


DIGEST_QUESTION_CLIP = 120
MESSAGE_LIMIT = 4096  # Telegram's limit for one message, in UTF-16 code units


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _digest_item(alert: SlaAlert, hours: BusinessHours, departments: Names) -> str:
    t = alert.ticket
    if alert.kind is AlertKind.warning:
        return texts.DESK_DIGEST_WARNING_ITEM.format(
            ticket_id=t.id,
            left=duration(alert.minutes_left),
            project=project_label(t),
            question=esc(clip(t.question, DIGEST_QUESTION_CLIP)),
            holder=holder(t, departments),
        )
    return texts.DESK_DIGEST_BREACH_ITEM.format(
        ticket_id=t.id,
        project=project_label(t),
        asker=esc(t.asker_name or "?"),
        asked_at=when(t.created_at, hours),
        question=esc(clip(t.question, DIGEST_QUESTION_CLIP)),
        due=when(t.sla_due_at, hours),
        holder=holder(t, departments),
    )


def sla_digest(
    entries: Sequence[tuple[SlaAlert, Recipient]], *, hours: BusinessHours, departments: Names = None
) -> list[str]:
    """Several alerts for one chat in one sweep, as one message: the breaches, then the
    warnings, each ticket on a few lines; for a staff chat a hint to answer on the tickets'
    cards and a mention of each person holding one (Telegram notifies them). A message is at
    most Telegram's limit; a longer list goes on in more messages, split between tickets."""
    breaches = [a for a, _ in entries if a.kind is AlertKind.breach]
    warnings = [a for a, _ in entries if a.kind is AlertKind.warning]
    blocks: list[str] = []
    if breaches:
        blocks.append(texts.DESK_DIGEST_BREACH_HEAD.format(count=len(breaches)))
        blocks.extend(_digest_item(a, hours, departments) for a in breaches)
    if warnings:
        blocks.append(texts.DESK_DIGEST_WARNING_HEAD.format(count=len(warnings)))
        blocks.extend(_digest_item(a, hours, departments) for a in warnings)
    if any(r.audience is not Audience.lead for _, r in entries):
        blocks.append(texts.DESK_DIGEST_HINT)
        mentioned: dict[int, str] = {}
        for alert, recipient in entries:
            if recipient.mention_user_id is not None and recipient.mention_user_id not in mentioned:
                mentioned[recipient.mention_user_id] = texts.DESK_HOLDER_MENTION.format(
                    user_id=int(recipient.mention_user_id), name=esc(alert.holder_name or recipient.mention_user_id)
                )
        if mentioned:
            blocks.append("　".join(mentioned.values()))
    parts: list[str] = []
    current = blocks[0]
    for block in blocks[1:]:
        if _units(current) + 2 + _units(block) > MESSAGE_LIMIT:
            parts.append(current)
            current = texts.DESK_DIGEST_CONTINUED.format(part=len(parts) + 1)
        current += "\n\n" + block
    parts.append(current)
    return parts


def breach_notice(alert: SlaAlert, *, hours: BusinessHours, departments: Names = None) -> str:
    """For the steward group (and the department holding it)."""
    t = alert.ticket
    return texts.DESK_BREACH_NOTICE.format(ticket_id=t.id, due=when(t.sla_due_at, hours), holder=holder(t, departments))


def relayed_answer(
    relay: Relay, *, responder_role: Role | str, department_key: str | None = None, departments: Names = None
) -> str:
    """The text posted into the help group."""
    role = Role(responder_role)
    responder = department_name(department_key, departments) if role is Role.department else texts.DESK_STEWARDS
    template = texts.DESK_RELAYED_CORRECTION if relay.correction else texts.DESK_RELAYED_ANSWER
    return template.format(responder=esc(responder), answer=esc(relay.text))


def relay_confirmation(relay: Relay, *, hours: BusinessHours, project_name: str | None = None) -> str:
    t = relay.ticket
    project = project_label(t, project_name)
    if relay.correction:
        return texts.DESK_CORRECTION_CONFIRM.format(project=project, ticket_id=t.id)
    if not relay.first_response or t.first_response_at is None:
        return texts.DESK_RELAY_CONFIRM.format(project=project, ticket_id=t.id)
    took = duration(hours.minutes_between(t.created_at, t.first_response_at))
    template = texts.DESK_RELAY_CONFIRM_FIRST if t.answered_in_time else texts.DESK_RELAY_CONFIRM_FIRST_LATE
    return template.format(project=project, ticket_id=t.id, took=took)


def relay_failed(ticket_id: int) -> str:
    return texts.DESK_RELAY_FAILED.format(ticket_id=ticket_id)


def follow_up_notice(follow_up: FollowUp) -> str:
    template = texts.DESK_FOLLOW_UP_REOPENED if follow_up.reopened else texts.DESK_FOLLOW_UP_NOTICE
    return template.format(
        ticket_id=follow_up.ticket.id,
        asker=esc(follow_up.ticket.asker_name or "?"),
        text=esc(clip(follow_up.message.text, QUESTION_CLIP)),
    )


def error_message(exc: DeskError, *, departments: Names = None) -> str:
    """The Chinese sentence for a desk error (never its internals)."""
    if isinstance(exc, TicketNotFound):
        return texts.DESK_ERR_NOT_FOUND.format(ticket_id=esc(exc.ticket_id))
    if isinstance(exc, PermissionDenied):
        return texts.DESK_ERR_PERMISSION
    if isinstance(exc, InvalidTransition):
        return texts.DESK_ERR_TRANSITION.format(
            ticket_id=exc.ticket_id, status=status_label(exc.from_status), to=status_label(exc.to_status)
        )
    if isinstance(exc, TicketChanged):
        if exc.department_key:
            return texts.DESK_ERR_CHANGED_DEPARTMENT.format(
                ticket_id=exc.ticket_id, department=esc(department_name(exc.department_key, departments))
            )
        return texts.DESK_ERR_CHANGED.format(ticket_id=exc.ticket_id, status=status_label(exc.status))
    if isinstance(exc, AlreadyClaimed):
        return texts.DESK_ERR_ALREADY_CLAIMED.format(ticket_id=exc.ticket_id, name=esc(exc.holder_name or "?"))
    if isinstance(exc, NotBound):
        if exc.kind == "department":
            return texts.DESK_ERR_DEPARTMENT_NOT_BOUND.format(
                department=esc(department_name(str(exc.key), departments)), key=esc(exc.key)
            )
        return texts.DESK_ERR_CHAT_NOT_BOUND
    if isinstance(exc, UnknownProject):
        return texts.DESK_ERR_UNKNOWN_PROJECT.format(code=esc(exc.code))
    if isinstance(exc, UnknownDepartment):
        return texts.DESK_ERR_UNKNOWN_DEPARTMENT.format(key=esc(exc.key))
    if isinstance(exc, EmptyAnswer):
        return texts.DESK_ERR_EMPTY_ANSWER
    if isinstance(exc, NotACard):
        return texts.DESK_ERR_NOT_A_CARD.format(ticket_id=exc.ticket_id)
    return texts.DESK_ERR_PERMISSION


def stats_text(stats: DeskStats, *, days: int | None = None, departments: Names = None, as_html: bool = True) -> str:
    """The numbers for /stats (HTML) or the command line (as_html=False)."""
    e = esc if as_html else str

    def minutes(value: float | None) -> str:
        return texts.DESK_NONE if value is None else duration(value)

    def group_line(g: GroupStats, label: str) -> str:
        return texts.DESK_STATS_GROUP_LINE.format(
            label=e(label),
            opened=g.opened,
            in_time=g.answered_in_time,
            breached=g.breached,
            compliance=percent(g.compliance_pct),
            median=minutes(g.median_first_response_min),
            p90=minutes(g.p90_first_response_min),
        )

    period = texts.DESK_STATS_PERIOD_DAYS.format(days=days) if days else texts.DESK_STATS_PERIOD_ALL
    lines = [
        texts.DESK_STATS_TITLE.format(period=period),
        texts.DESK_STATS_SUMMARY.format(
            opened=stats.opened,
            in_time=stats.answered_in_time,
            breached=stats.breached,
            late=stats.answered_late,
            pending=stats.pending,
            closed_early=stats.closed_early,
            compliance=percent(stats.compliance_pct),
            median=minutes(stats.median_first_response_min),
            p90=minutes(stats.p90_first_response_min),
        ),
    ]
    if stats.by_department:
        lines.append(texts.DESK_STATS_BY_DEPARTMENT)
        lines += [group_line(g, department_name(g.key, departments)) for g in stats.by_department]
    if stats.by_steward:
        lines.append(texts.DESK_STATS_BY_STEWARD)
        lines += [group_line(g, g.label) for g in stats.by_steward]
    lines.append(
        texts.DESK_STATS_QUESTIONS.format(
            questions=stats.questions,
            auto=stats.auto_answered,
            rate=percent(stats.auto_answer_rate_pct),
            clarified=stats.clarified,
            handed=stats.handed_off,
        )
    )
    if stats.top_handoffs:
        lines.append(texts.DESK_STATS_TOP_HANDOFFS)
        lines += [
            texts.DESK_STATS_TOP_LINE.format(rank=i, text=e(clip(h.example, 80)), count=h.count)
            for i, h in enumerate(stats.top_handoffs, 1)
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- short notices


def claimed_notice(ticket: TicketView) -> str:
    return texts.DESK_CLAIMED.format(name=esc(ticket.assignee_name or "?"), ticket_id=ticket.id)


def escalated_notice(escalation: Escalation, *, departments: Names = None) -> str:
    return texts.DESK_ESCALATED.format(
        ticket_id=escalation.ticket.id, department=esc(department_name(escalation.department_key, departments))
    )


def finished_notice(ticket: TicketView) -> str:
    template = texts.DESK_RESOLVED if ticket.status is TicketStatus.resolved else texts.DESK_CLOSED
    return template.format(ticket_id=ticket.id)


def follow_up_ack(ticket: TicketView) -> str:
    """Said in the help group when a message was attached to the asker's ticket."""
    return texts.DESK_FOLLOW_UP_ACK.format(ticket_id=ticket.id)


def bound_notice(binding: BindingView, *, project_name: str | None = None, departments: Names = None) -> str:
    if binding.kind == "department":
        return texts.DESK_BOUND_DEPARTMENT.format(department=esc(department_name(binding.department_key, departments)))
    return texts.DESK_BOUND_HELP.format(project=esc(project_name or binding.project_code or ""))


def unbound_notice() -> str:
    return texts.DESK_UNBOUND


def throttled_notice(verdict: Verdict) -> str:
    return texts.DESK_THROTTLED.format(seconds=max(1, math.ceil(verdict.retry_after_seconds)))
