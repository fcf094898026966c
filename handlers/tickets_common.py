"""Shared helpers of the ticket handlers: settings → Who, keyboards, department lookup,
following a group's upgrade, editing cards and composing the ones owed (the outbox sends them and
records them: delivery.follow_ups). The staff-chat check is bot.services.StaffChats, so the jobs in
bot/jobs need nothing from here."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

import texts
from bot.services import Services, department_names
from bot.telegram_io import keyboard, services_of
from delivery.outbox import Owed, enqueue_all, message_payload
from desk import callbacks, render, work
from desk.models import DEPARTMENT_CARD, STEWARD_CARD, CardKind
from desk.roles import Action
from desk.views import TicketView

log = logging.getLogger(__name__)


def who(services: Services) -> work.Who:
    """The steward and lead groups where they are now (a group upgraded to a supergroup is followed there)."""
    chats = services.staff_chats
    return work.Who(
        steward_chat_id=chats.steward_chat_id,
        lead_chat_id=chats.lead_chat_id,
        admin_ids=tuple(services.settings.admin_user_ids),
    )


def department_key(services: Services, text: str) -> str | None:
    """The department a person typed: its key, name or one of its aliases."""
    wanted = text.strip()
    if not wanted:
        return None
    departments = services.knowledge.kb.departments
    if wanted in departments:
        return wanted
    for key, dept in departments.items():
        if wanted == dept.name or wanted in dept.aliases:
            return key
    for key, dept in departments.items():  # 「生态环境」 for 「生态环境局」
        if len(wanted) >= 2 and wanted in dept.name:
            return key
    return None


def thread_of(message: Message) -> int | None:
    """The forum topic of a message (None outside forum topics)."""
    return message.message_thread_id if message.is_topic_message else None


# --------------------------------------------------------------------------- keyboards


def card_markup(ticket_id: int, kind: CardKind | str = CardKind.steward) -> InlineKeyboardMarkup:
    if CardKind(kind) is CardKind.department:
        return keyboard([[(texts.TICKET_BUTTON_CLAIM, callbacks.encode(Action.claim, ticket_id))]])
    return keyboard(
        [
            [
                (texts.TICKET_BUTTON_CLAIM, callbacks.encode(Action.claim, ticket_id)),
                (texts.TICKET_BUTTON_ESCALATE, callbacks.encode(Action.escalate, ticket_id)),
                (texts.TICKET_BUTTON_CLOSE, callbacks.encode(Action.close, ticket_id)),
            ]
        ]
    )


def chooser_markup(ticket_id: int, keys: tuple[str, ...], names: dict[str, str]) -> InlineKeyboardMarkup:
    rows = [[(names.get(k, k), callbacks.encode(Action.escalate, ticket_id, k))] for k in keys]
    rows.append([(texts.TICKET_BUTTON_BACK, callbacks.encode(Action.view, ticket_id))])
    return keyboard(rows)


# --------------------------------------------------------------------------- sending


async def follow_move(context: ContextTypes.DEFAULT_TYPE, old_chat_id: int, new_chat_id: int) -> None:
    """A group's move to a supergroup is recorded (Telegram announced it, or a send found it): this process follows
    it now, and the cards left in the old chat are posted again in the new one (once per move)."""
    await refresh_facts(context)
    await repost_left_cards(context, old_chat_id, new_chat_id)


# How far back a move not followed yet is still followed (`follow_unfollowed_moves`): a stop or a failed follow-up
# is minutes, and the moves recorded before the claim existed (the twenty-sixth pass) are left alone.
UNFOLLOWED_MOVES_WITHIN = timedelta(days=1)


async def follow_unfollowed_moves(context: ContextTypes.DEFAULT_TYPE) -> int:
    """Follow the recent moves whose left cards no one claimed (a move only the sender met, whose follow-up failed or
    did not run before a stop); how many there were. Run after start-up and every minute (`handlers.tickets`): the
    claim is once per move, so another process, or the sender's own follow-up, racing it posts nothing twice."""
    services = services_of(context)
    moves = await services.db.run(work.unfollowed_moves, since=services.clock() - UNFOLLOWED_MOVES_WITHIN)
    for old_chat_id, new_chat_id in moves:
        try:
            await follow_move(context, old_chat_id, new_chat_id)
        except SQLAlchemyError as exc:  # this move's claim rolled back: the next run tries it again, the others now
            log.warning("group %s → %s: the cards left there not followed yet (%s)", old_chat_id, new_chat_id, exc)
    return len(moves)


def steward_card_owed(
    services: Services, ticket: TicketView, project_name: str | None, chat_id: int, *, checked: bool = False
) -> Owed:
    """The ticket's card for the steward group, owed to `chat_id`; the sender records it as the ticket's card.
    `checked`: it carries the status it shows, and should the ticket change before it is sent, it is refreshed once
    sent (`handlers.tickets._after_delivery`; a status read per card, so only for a card of a ticket already under
    way: a new ticket's card is its first, which no one can act on before it is sent)."""
    assert ticket.id is not None
    shows = {"shows": str(ticket.status)} if checked else {}
    return Owed(
        chat_id,
        message_payload(card_text(services, ticket, project_name), markup=card_markup(ticket.id).to_dict()),
        STEWARD_CARD,
        ticket_id=ticket.id,
        follow_up={"kind": "card", "card_kind": CardKind.steward.value, **shows},
    )


def department_card_owed(
    services: Services,
    result: work.PressResult,
    *,
    tell_chat_id: int | None,
    tell_reply_to: int | None = None,
    tell_thread_id: int | None = None,
) -> Owed:
    """The escalation card (with the thread) owed to the department's group; the sender records it as the ticket's
    card. It carries the status it shows (refreshed once sent if the ticket changed while it waited), and, should it
    finally not reach the group (the bot removed, a refusal) while the ticket still waits on that department, the
    notice owed then to `tell_chat_id` (the steward who escalated it: a reply to `tell_reply_to`, in its topic), in
    the transaction that records the failure (`delivery.follow_ups`)."""
    escalation = result.escalation
    assert escalation is not None and escalation.ticket.id is not None
    names = department_names(services)
    html = render.escalation_card(
        escalation, now=services.clock(), hours=services.hours, project_name=result.project_name, departments=names
    )
    undelivered = (
        {
            "undelivered": {
                "chat_id": tell_chat_id,
                "payload": message_payload(
                    texts.TICKET_ESCALATION_UNDELIVERED.format(
                        ticket_id=escalation.ticket.id,
                        department=render.esc(render.department_name(escalation.department_key, names)),
                    ),
                    reply_to=tell_reply_to,
                    thread_id=tell_thread_id,
                ),
            }
        }
        if tell_chat_id is not None
        else {}
    )
    return Owed(
        escalation.department_chat_id,
        message_payload(html, markup=card_markup(escalation.ticket.id, CardKind.department).to_dict()),
        DEPARTMENT_CARD,
        ticket_id=escalation.ticket.id,
        follow_up={
            "kind": "card",
            "card_kind": CardKind.department.value,
            "department_key": escalation.department_key,
            "shows": str(escalation.ticket.status),
            **undelivered,
        },
    )


def escalation_owes(services: Services, result: work.PressResult, *, told: Message) -> list[Owed]:
    """What an escalation owes: the department's card ([] when nothing was escalated), its notice, should it never
    arrive, told in reply to `told` (the steward's card or command), in its topic."""
    if result.escalation is None:
        return []
    return [
        department_card_owed(
            services, result, tell_chat_id=told.chat_id, tell_reply_to=told.message_id, tell_thread_id=thread_of(told)
        )
    ]


async def repost_left_cards(context: ContextTypes.DEFAULT_TYPE, old_chat_id: int, new_chat_id: int) -> None:
    """A group holding cards became a supergroup: its cards stay in the old chat, where no button or reply reaches.
    In the transaction that claims them (once per move: `work.claim_left_cards`), every ticket still in progress
    gets its steward card again in the supergroup when that is the steward group now (after `refresh_facts`: a former
    steward group bound since as another group gets none), and every ticket waiting on the department bound to it
    its department card."""
    services = services_of(context)
    steward_chat = services.staff_chats.steward_chat_id

    def unit(session: Session) -> tuple[int, int]:
        now = services.clock()
        left = work.claim_left_cards(
            session=session,
            old_chat_id=old_chat_id,
            new_chat_id=new_chat_id,
            now=now,
            steward_group=steward_chat == new_chat_id,
        )
        owed = [steward_card_owed(services, c.ticket, c.project_name, new_chat_id, checked=True) for c in left.steward]
        owed += [department_card_owed(services, w, tell_chat_id=steward_chat) for w in left.department]
        enqueue_all(session=session, owed=owed, now=now)
        return len(left.steward), len(left.department)

    steward, department = await services.db.run(unit)
    if steward or department:
        log.info(
            "group %s became supergroup %s: %d steward and %d department cards posted again",
            old_chat_id,
            new_chat_id,
            steward,
            department,
        )


async def edit_card(bot: Bot, chat_id: int, message_id: int, html: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await bot.edit_message_text(
            html, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML, reply_markup=markup
        )
    except TelegramError as exc:  # "message is not modified", deleted card …
        log.info("could not edit card %s/%s: %s", chat_id, message_id, exc)


async def edit_markup(card: Message, markup: InlineKeyboardMarkup | None) -> None:
    """Change only a card's buttons; a failure (unchanged markup, deleted card) is logged."""
    try:
        await card.edit_reply_markup(reply_markup=markup)
    except TelegramError as exc:
        log.info("could not edit the buttons of %s/%s: %s", card.chat_id, card.message_id, exc)


async def refresh_cards(context: ContextTypes.DEFAULT_TYPE, ticket_id: int) -> None:
    """Show the ticket's state as it is now on every card of it (after a delivery outcome or
    any other change): text, clock and holder, and buttons only while it is not done."""
    services = services_of(context)
    shown = await services.db.run(work.shown_cards, ticket_id=ticket_id)
    for card in shown.cards:
        if services.facts.current(card.chat_id) != card.chat_id:
            continue  # in a group upgraded to a supergroup since: Telegram keeps it there, and edits nothing
        face = render.card_face(
            shown.ticket,
            card.kind,
            now=services.clock(),
            hours=services.hours,
            project_name=shown.project_name,
            departments=department_names(services),
        )
        await edit_card(
            context.bot,
            card.chat_id,
            card.message_id,
            face.html,
            card_markup(ticket_id, face.buttons) if face.buttons else None,
        )


def card_text(services: Services, ticket: TicketView, project_name: str | None, *, for_department: bool = False) -> str:
    return render.ticket_card(
        ticket,
        now=services.clock(),
        hours=services.hours,
        project_name=project_name,
        departments=department_names(services),
        for_department=for_department,
    )


# --------------------------------------------------------------------------- staff chats


async def refresh_facts(context: ContextTypes.DEFAULT_TYPE) -> None:
    """After a group's move committed: reload this process's copy of the bindings and the moves now (the
    department groups, the steward and lead groups where they are now), not at the next update's transaction."""
    services = services_of(context)
    await services.db.run(services.facts.check)
    await refresh_department_chats(context)


async def refresh_department_chats(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reload the bound department groups after a binding changed."""
    services = services_of(context)
    services.staff_chats.departments = frozenset(await services.db.run(work.department_chat_ids))
