"""Shared helpers of the ticket handlers: settings → Who, keyboards, department lookup,
following a group's upgrade, editing and posting cards (with record_card). Sending with
retries is bot.sending's, the staff-chat check bot.services.StaffChats, so the jobs in
bot/jobs need nothing from here."""

from __future__ import annotations

import logging

from sqlmodel import Session
from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

import texts
from bot.sending import Sent, send
from bot.services import Services, department_names
from bot.telegram_io import keyboard, services_of
from delivery.outbox import Owed, enqueue_all, message_payload
from desk import callbacks, render, work
from desk.bindings import ChatMigration, migrate_chat
from desk.models import CardKind, ChatKind
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


async def follow_migration(
    context: ContextTypes.DEFAULT_TYPE, old_chat_id: int | None, sent: Sent, *, posting: int | None = None
) -> None:
    """A send found the group upgraded to a supergroup (the service message was missed):
    move its binding, tickets and reminders there, as the migrate_to_chat_id update would
    (`posting`: the ticket whose card this send carried, not to be posted twice)."""
    if sent.migrated_to is None or old_chat_id is None:
        return
    services = services_of(context)
    moved = await services.db.run(
        migrate_chat, old_chat_id=old_chat_id, new_chat_id=sent.migrated_to, now=services.clock()
    )
    await refresh_facts(context)
    await repost_department_cards(context, moved, skip=posting)
    await repost_steward_cards(context, old_chat_id, sent.migrated_to)


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
        "ticket_card",
        ticket_id=ticket.id,
        follow_up={"kind": "card", "card_kind": CardKind.steward.value, **shows},
    )


async def repost_steward_cards(context: ContextTypes.DEFAULT_TYPE, old_chat_id: int, new_chat_id: int) -> None:
    """A group holding steward cards (the steward group) became a supergroup: its cards stay in the old chat, where
    no button or reply reaches, so every ticket still in progress gets its card again in the supergroup (once per
    move: `work.claim_left_steward_cards`), in the transaction that claims them. Only where the supergroup is the
    steward group now (after `refresh_facts`): a former steward group bound since as another group gets none."""
    services = services_of(context)
    if services.staff_chats.steward_chat_id != new_chat_id:
        return

    def unit(session: Session) -> int:
        now = services.clock()
        left = work.claim_left_steward_cards(session=session, old_chat_id=old_chat_id, new_chat_id=new_chat_id, now=now)
        enqueue_all(
            session=session,
            owed=[steward_card_owed(services, c.ticket, c.project_name, new_chat_id, checked=True) for c in left],
            now=now,
        )
        return len(left)

    reposted = await services.db.run(unit)
    if reposted:
        log.info("group %s became supergroup %s: %d steward cards posted again", old_chat_id, new_chat_id, reposted)


async def repost_department_cards(
    context: ContextTypes.DEFAULT_TYPE, moved: ChatMigration, *, skip: int | None = None
) -> None:
    """A department group became a supergroup: its cards stay in the old chat, where no reply
    reaches, so post every ticket still waiting on it again in the supergroup. Once: a second
    announcement of the same move finds the binding moved already (`moved.binding` is None)."""
    if moved.binding is None or moved.binding.kind != ChatKind.department.value:
        return
    services = services_of(context)
    for waiting in await services.db.run(work.waiting_on_department_chat, chat_id=moved.new_chat_id):
        if waiting.ticket.id != skip:
            await post_escalation(context, waiting)


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


async def post_steward_card(context: ContextTypes.DEFAULT_TYPE, info: work.CardInfo) -> None:
    """Post a new ticket's card to the steward group and remember it."""
    services = services_of(context)
    chat_id = services.staff_chats.steward_chat_id
    if chat_id is None:
        log.warning("ticket %s: STEWARD_CHAT_ID is not set, no card posted", info.ticket.id)
        return
    sent = await send(
        context.bot, chat_id, card_text(services, info.ticket, info.project_name), markup=card_markup(info.ticket.id)
    )
    if sent.parts:  # every part: a reply to any of them answers the ticket
        await services.db.run(
            work.record_cards,
            ticket_id=info.ticket.id,
            now=services.clock(),
            cards=[(chat_id, part.message_id, CardKind.steward.value, None) for part in sent.parts],
        )


async def post_escalation(context: ContextTypes.DEFAULT_TYPE, result: work.PressResult) -> bool:
    """Send the escalation card (with the thread) to the department group; True if sent.
    On False the caller tells the steward (the ticket stays escalated: they may escalate it
    elsewhere or answer it themselves); a 403 also retires the group's binding."""
    services = services_of(context)
    escalation = result.escalation
    assert escalation is not None
    html = render.escalation_card(
        escalation,
        now=services.clock(),
        hours=services.hours,
        project_name=result.project_name,
        departments=department_names(services),
    )
    sent = await send(
        context.bot, escalation.department_chat_id, html, markup=card_markup(escalation.ticket.id, CardKind.department)
    )
    await follow_migration(context, escalation.department_chat_id, sent, posting=escalation.ticket.id)
    if sent.message is None:
        if sent.gone:
            await services.db.run(work.chat_gone, chat_id=escalation.department_chat_id, now=services.clock())
            await refresh_department_chats(context)
        return False
    await services.db.run(
        work.record_cards,
        ticket_id=escalation.ticket.id,
        now=services.clock(),
        cards=[
            (
                sent.migrated_to or escalation.department_chat_id,
                part.message_id,
                CardKind.department.value,
                escalation.department_key,
            )
            for part in sent.parts
        ],
    )
    return True


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
