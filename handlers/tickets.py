"""Tickets in Telegram: a handoff becomes a ticket with a card in the steward group; a reply
to a card is relayed into the help group; follow-ups join the asker's ticket; 「已解决」/
「没解决，转人工」 under answers. Buttons and /escalate are in tickets_buttons, admin
commands, /stats and /learn in tickets_admin, the SLA sweep in bot.jobs.sla_job.

Thin: parse the update → one `services.db.run(...)` unit of work (desk.work)
→ render with desk.render and texts."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Message, Update, User
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

import texts
from bot.outbox import batcher_of, received_at
from bot.sender import sender_of
from bot.services import DESK_CHECK, TEXT_READING, DeskCheck, QuestionPart, hand_on
from bot.shared_facts import SharedFacts
from bot.telegram_io import (
    addressed_to_bot,
    keyboard,
    pressed_message,
    replied_message,
    services_of,
    without_mention,
)
from delivery.outbox import ChatMoved, DeliveryOutcome, Owed, enqueue_all, message_payload, run_owing
from desk import callbacks, render, work
from desk.errors import DeskError
from desk.models import DEPARTMENT_CARD, STEWARD_CARD, ChatKind
from handlers import tickets_admin, tickets_buttons
from handlers import tickets_common as common
from knowledge.context import leave_context
from knowledge.question_cue import ASKS, MAY_ASK
from knowledge.question_log import log_unmatched
from knowledge.service import Reply, answered_by_bot

log = logging.getLogger(__name__)

FEEDBACK_PREFIX = callbacks.FEEDBACK_PREFIX


def _name(user: User) -> str:
    return user.full_name or user.username or str(user.id)


# --------------------------------------------------------------------------- handoff → ticket


def _ticket_unit(
    context: ContextTypes.DEFAULT_TYPE,
    *,
    question_message: Message,
    asker: User,
    question: str,
    candidates: list[dict[str, object]],
    thread_id: int | None,
    facts: SharedFacts | None = None,
    leaves_context: bool = False,
) -> partial[work.CardInfo]:
    """The unit of work that creates the ticket and owes its acknowledgement and card
    (`facts`: checked in this transaction, they give the help group's project; else it is read; `leaves_context`:
    the asker turned the items offered down, so a follow-up next borrows none of them)."""
    services = services_of(context)
    settings = services.settings
    now = received_at(services.clock(), question_message)  # the clock starts when the enterprise asked
    minutes = f"{settings.sla_first_response_minutes:g}"
    if services.hours.is_open(now):
        ack = texts.HANDOFF_ACK.format(minutes=minutes)
    else:
        ack = texts.HANDOFF_ACK_CLOSED.format(
            minutes=minutes, opens_at=render.when(services.hours.next_open(now), services.hours)
        )
    help_chat, help_message = question_message.chat_id, question_message.message_id

    def owed(info: work.CardInfo) -> list[Owed]:
        rows = [
            Owed(
                help_chat,
                message_payload(ack, reply_to=help_message, thread_id=thread_id),
                "handoff_ack",
                ticket_id=info.ticket.id,
            )
        ]
        steward_chat = services.staff_chats.steward_chat_id  # where it is now (resolved in this transaction)
        if steward_chat is None:
            log.warning("ticket %s: STEWARD_CHAT_ID is not set, no card posted", info.ticket.id)
            return rows
        rows.append(common.steward_card_owed(services, info.ticket, info.project_name, steward_chat))
        return rows

    def opened(session: Session, **kwargs: Any) -> work.CardInfo:
        info = work.open_ticket(session=session, **kwargs)
        if leaves_context:  # as a question handed off: 「那要多久」 next joins this ticket, not the item turned down
            leave_context(session=session, chat_id=help_chat, user_id=asker.id, at=now)
        return info

    return partial(
        run_owing,
        fn=opened,
        compose=owed,
        now=now,
        hours=services.hours,
        sla_minutes=settings.sla_first_response_minutes,
        help_chat_id=help_chat,
        asker_user_id=asker.id,
        asker_name=_name(asker),
        question=question,
        help_message_id=help_message,
        help_thread_id=thread_id,
        candidates=candidates,
        project_code=facts.ticket_project(help_chat) if facts is not None else None,
        lookup_project=facts is None,
    )


async def _open_ticket(
    context: ContextTypes.DEFAULT_TYPE,
    *,
    question_message: Message,
    asker: User,
    question: str,
    candidates: list[dict[str, object]],
    thread_id: int | None,
    leaves_context: bool = False,
) -> None:
    """Create the ticket and owe its acknowledgement and card, in one transaction."""
    unit = _ticket_unit(
        context,
        question_message=question_message,
        asker=asker,
        question=question,
        candidates=candidates,
        thread_id=thread_id,
        leaves_context=leaves_context,
    )
    help_chat, help_message = question_message.chat_id, question_message.message_id
    try:
        await batcher_of(context).run(unit)
    except SQLAlchemyError as exc:
        # The database is down: the ticket (its clock from the message's date), its
        # acknowledgement and its card are written when it is back.
        log.warning("database unavailable (%s): ticket for %s/%s deferred", type(exc).__name__, help_chat, help_message)
        sender_of(context.application).later(unit)


def handoff_part(update: Update, context: ContextTypes.DEFAULT_TYPE) -> QuestionPart:
    """Hooks.handoff: a question the matcher could not answer becomes a ticket, in the
    question's transaction (in a private chat: a note that tickets are for help groups)."""
    message = update.effective_message
    user = update.effective_user
    services = services_of(context)

    def part(session: Session, reply: Reply) -> bool:
        if message is None or user is None:
            return False
        if message.chat.type == ChatType.PRIVATE:
            note = Owed(
                message.chat_id, message_payload(texts.TICKET_PRIVATE_HANDOFF, parse_mode=None), "handoff_private"
            )
            enqueue_all(session=session, owed=[note], now=services.clock())
            return True
        kb = services.knowledge.kb
        # a follow-up handed off by the doubt (reason doubted_kept) has the conversation's item as its candidate
        earlier = {"earlier": True} if reply.result.keeps_context else {}
        candidates: list[dict[str, object]] = [
            {"key": c.item, "title": kb.label(c.item), "score": round(c.score, 3), **earlier}
            for c in reply.result.candidates
        ]
        unit = _ticket_unit(
            context,
            question_message=message,
            asker=user,
            question=reply.result.question or message.text or "",
            candidates=candidates,
            thread_id=common.thread_of(message),
            facts=services.facts if services.facts.checked_in(session) else None,
        )
        unit(session=session)
        return True

    return part


def answer_markup(update: Update, reply: Reply) -> InlineKeyboardMarkup | None:
    """Hooks.answer_markup: 「已解决」/「没解决，转人工」 under answers in groups, and 「都不是，转人工」
    under a choice of items (a choice that guessed wrong would otherwise reach no one); in a private chat 「都不是」
    under a choice, which says where a person answers."""
    message = update.effective_message
    if message is None:
        return None
    if message.chat.type == ChatType.PRIVATE:
        private_none = keyboard([[(texts.CLARIFY_NONE_PRIVATE, f"{FEEDBACK_PREFIX}:no")]])
        return private_none if reply.result.shown_as_choice(private=True) else None
    if reply.result.action == "clarify":  # the asker turned the items down: the ticket guesses none of them
        return keyboard([[(texts.CLARIFY_NONE, f"{FEEDBACK_PREFIX}:no")]])
    item = reply.result.item or ""
    unsolved = f"{FEEDBACK_PREFIX}:no:{item}" if len(item) < 40 else f"{FEEDBACK_PREFIX}:no"
    return keyboard([[(texts.FEEDBACK_SOLVED, f"{FEEDBACK_PREFIX}:ok"), (texts.FEEDBACK_UNSOLVED, unsolved)]])


async def on_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Thank for 「已解决」, or open a ticket from the original question for 「没解决，转人工」 (under an
    answer) or 「都不是，转人工」 (under a choice)."""
    query = update.callback_query
    if query is None:
        return
    answer_message = query.message
    shown = pressed_message(
        answer_message,
        bot_id=context.bot.id,
        staff_chat=(answer_message is not None and answer_message.chat.id in services_of(context).staff_chats),
    )
    choice = callbacks.feedback(query.data, shown, presser_id=query.from_user.id) if shown is not None else None
    if choice is None or not isinstance(answer_message, Message):
        await query.answer(texts.DESK_ERR_PERMISSION, show_alert=True)
        return
    if choice.solved:
        await query.answer(texts.FEEDBACK_THANKS)
    elif answer_message.chat.type == ChatType.PRIVATE:
        # 「都不是」 under a choice in a private chat: no person takes questions here; the choice becomes the pointer
        # to the help group, and the items turned down are no context of the next question
        services = services_of(context)
        await services.db.run(
            leave_context, chat_id=answer_message.chat.id, user_id=query.from_user.id, at=services.clock()
        )
        await query.answer()
        try:
            await answer_message.edit_text(texts.TICKET_PRIVATE_HANDOFF, reply_markup=None)
        except TelegramError as exc:
            log.info("could not turn the choice into the help group's pointer: %s", exc)
        return
    else:
        original = replied_message(answer_message)
        if original is None or not original.text or original.from_user is None:
            await query.answer(texts.FEEDBACK_NO_QUESTION, show_alert=True)
            return
        services = services_of(context)
        existing = await services.db.run(
            work.ticket_for_question, help_chat_id=original.chat_id, help_message_id=original.message_id
        )
        if existing is not None:  # a second press: one ticket per question
            await query.answer(texts.TICKET_FEEDBACK_ALREADY.format(ticket_id=existing))
        else:
            await query.answer()
            kb = services.knowledge.kb
            item = choice.item if choice.item in kb.items else None
            candidates: list[dict[str, object]] = [{"key": item, "title": kb.label(item)}] if item else []
            await _open_ticket(
                context,
                question_message=original,
                asker=original.from_user,
                question=without_mention(original.text, context.bot.username),
                candidates=candidates,
                thread_id=common.thread_of(answer_message),
                leaves_context=choice.item is None,  # 「都不是」 under a choice: none of its items
            )
    try:
        await answer_message.edit_reply_markup(reply_markup=None)
    except TelegramError as exc:
        log.info("could not remove feedback buttons: %s", exc)


# --------------------------------------------------------------------------- group messages


async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Relay card replies in staff chats; throttle and attach follow-ups in help groups."""
    message = update.effective_message
    user = update.effective_user
    if message is None or not message.text or user is None or user.is_bot:
        return
    if message.chat_id in services_of(context).staff_chats:
        await _staff_text(update, context, message, user)
        return
    await _help_text(update, context, message, user)


async def _throttle(context: ContextTypes.DEFAULT_TYPE, message: Message, user: User, text: str) -> None:
    """Stop the update (ApplicationHandlerStop) when this user floods this chat; say so once.
    The flood is measured by when the messages were sent (their date), so a backlog handled
    late trips it as the burst did. A throttled question is still logged, as throttled. A
    message handled a second time (replayed from the inbox) is counted once."""
    verdict = services_of(context).throttle.check(
        (message.chat_id, user.id), message.date, message=(message.chat_id, message.message_id)
    )
    if not verdict.allowed:
        services = services_of(context)
        await services.db.run(
            log_unmatched,
            text=text,
            at=services.clock(),
            action="throttled",
            reason="first_refusal" if verdict.first_refusal else "",
            chat_id=message.chat_id,
            user_id=user.id,
        )
        if verdict.first_refusal:
            await message.reply_text(render.throttled_notice(verdict))
        raise ApplicationHandlerStop


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Throttle a flood of questions in a private chat (every one goes to the matcher)."""
    message = update.effective_message
    user = update.effective_user
    if message is None or not message.text or user is None or user.is_bot:
        return
    await _throttle(context, message, user, message.text)


async def _help_text(update: Update, context: ContextTypes.DEFAULT_TYPE, message: Message, user: User) -> None:
    services = services_of(context)
    now = services.clock()
    text = without_mention(message.text or "", context.bot.username)
    addressed = addressed_to_bot(message, context.bot.username, context.bot.id)
    reading = services.knowledge.reading_of(text)
    hand_on(context, TEXT_READING, reading)  # the question handler reads the same text: the reader runs once
    marked = addressed or reading == ASKS
    # One the learned reader alone takes may ask: it counts against the flood throttle and the desk looks at it (a
    # steward's message is left alone), but it is no follow-up of a waiting ticket (「是的」 after a handoff).
    question_like = marked or reading == MAY_ASK
    if question_like:
        await _throttle(context, message, user, text)
    replied = replied_message(message)
    reply_to_bot = bool(replied and replied.from_user and replied.from_user.id == context.bot.id)
    reply_to_user = (
        replied.from_user.id if replied is not None and replied.from_user and not replied.from_user.is_bot else None
    )
    if not work.may_concern_desk(question_like=question_like, reply_to_user_id=reply_to_user):
        return  # people chatting: no database round trip
    thread_id = common.thread_of(message)
    # A question the bot answers itself is not a follow-up of the asker's waiting ticket.
    matcher = services.knowledge.matcher
    plain = matcher.alone(text) if question_like else None  # read once: the service reads it in its context
    follow_up_like = marked and plain is not None and not answered_by_bot(matcher.in_context(plain, None))
    who = common.who(services)
    facts = services.facts

    def owed(outcome: work.HelpOutcome) -> list[Owed]:
        if outcome.follow_up is None:
            return []
        follow_up = outcome.follow_up
        ticket_id = follow_up.ticket.id
        rows = [
            Owed(
                message.chat_id,
                message_payload(
                    render.follow_up_ack(follow_up.ticket), reply_to=message.message_id, thread_id=thread_id
                ),
                "follow_up_ack",
                ticket_id=ticket_id,
            )
        ]
        notice = render.follow_up_notice(follow_up)
        direct = {target.chat_id for target in follow_up.notify}
        for target in follow_up.notify:
            department = follow_up.ticket.department_key if target.kind == "department" else None
            # A card left in a group since upgraded to a supergroup: the notice goes to the supergroup (no call to
            # the old id), quoting nothing (the supergroup numbers its messages afresh) — unless a card there gets it.
            chat = facts.current(target.chat_id)
            if chat is None or (chat != target.chat_id and chat in direct):
                continue
            reply_to = target.reply_to_message_id if chat == target.chat_id else None
            rows.append(
                Owed(
                    chat,
                    message_payload(notice, reply_to=reply_to),
                    "follow_up_notice",
                    ticket_id=ticket_id,
                    follow_up={"kind": "card", "card_kind": target.kind, "department_key": department},
                )
            )
        return rows

    def unit(session: Session) -> work.HelpOutcome:
        # Surely an enterprise member (the cached staff, checked in this transaction) whose
        # message cannot be a follow-up: the role and ticket queries would find nothing.
        if not facts.may_be_staff(user.id, who.admin_ids) and not (
            facts.chat_kind(message.chat_id) is ChatKind.help and (follow_up_like or reply_to_bot)
        ):
            return work.HelpOutcome()
        # 「那要多久？」 after the bot's answer about 环评: answered in the asker's conversation, so no follow-up of the
        # ticket waiting on another matter (read here, where the transaction has read the asker's context)
        asks_more = (
            follow_up_like
            and plain is not None
            and not answered_by_bot(
                services.knowledge.read_in_context(
                    session=session, plain=plain, chat_id=message.chat_id, user_id=user.id, at=now
                )
            )
        )
        return run_owing(
            session=session,
            fn=work.help_message,
            compose=owed,
            who=who,
            now=now,
            chat_id=message.chat_id,
            user_id=user.id,
            name=_name(user),
            text=text,
            message_id=message.message_id,
            question_like=asks_more,
            reply_to_bot=reply_to_bot,
            reply_to_user_id=reply_to_user,
            replied_bot_message_id=replied.message_id if reply_to_bot and replied is not None else None,
        )

    check = DeskCheck(unit=unit, takes=_desk_takes, after=partial(_after_desk, context), plain=plain)
    if question_like:  # the question handler runs it first in the question's one transaction
        hand_on(context, DESK_CHECK, check)
        return
    try:
        outcome = await batcher_of(context).run(lambda session: unit(session))
    except SQLAlchemyError as exc:  # the database is down: let the question be answered
        log.warning("database unavailable (%s): follow-up check skipped", type(exc).__name__)
        return
    if _desk_takes(outcome):
        await _after_desk(context, outcome)
        raise ApplicationHandlerStop


def _desk_takes(outcome: work.HelpOutcome) -> bool:
    """Stewards and department staff are not asking; a follow-up joins the asker's ticket."""
    return outcome.staff or outcome.follow_up is not None


async def _after_desk(context: ContextTypes.DEFAULT_TYPE, outcome: work.HelpOutcome) -> None:
    if outcome.follow_up is not None and outcome.follow_up.reopened:  # answered → open: the cards say so
        await common.refresh_cards(context, outcome.follow_up.ticket.id)
    if outcome.relay is not None:  # a steward answered in the help group: the cards show it answered, no 「认领」 left
        await common.refresh_cards(context, outcome.relay.ticket.id)


async def _staff_text(
    update: Update, context: ContextTypes.DEFAULT_TYPE, message: Message, user: User, *, edited: bool = False
) -> None:
    """A reply to a ticket card in the steward or a department group: relay it (an edited
    one as a correction of what it relayed). The replied message's text goes along: a card
    whose message id is not recorded yet is known by the ticket it names (desk.work.staff_reply)."""
    services = services_of(context)
    now = services.clock()
    replied = replied_message(message)
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        if not edited:  # not an answer; still remember who is staff (recognised in help groups)
            await services.db.run(
                work.seen, who=common.who(services), now=now, chat_id=message.chat_id, user_id=user.id, name=_name(user)
            )
        return
    names = common.department_names(services)
    staff_chat, card_id = message.chat_id, replied.message_id

    def owed(result: work.StaffRelay | None) -> list[Owed]:
        """The relayed answer, and the confirmation to the staff once it is delivered (or the
        notice that it could not be); the cards are refreshed on the outcome (_after_delivery)."""
        if result is None:
            return []
        relay = result.relay
        html = render.relayed_answer(
            relay, responder_role=result.role, department_key=result.department_key, departments=names
        )
        return [
            Owed(
                relay.help_chat_id,
                message_payload(html, reply_to=relay.reply_to_message_id, thread_id=relay.thread_id),
                "relay",
                ticket_id=relay.ticket.id,
                follow_up={"kind": "relay", "message_row": relay.message_id, "first_response": relay.first_response},
            ),
            Owed(
                staff_chat,
                message_payload(
                    render.relay_confirmation(relay, hours=services.hours, project_name=result.project_name),
                    reply_to=message.message_id,
                    if_failed=render.relay_failed(relay.ticket.id),
                ),
                "relay_confirmation",
                ticket_id=relay.ticket.id,
                after=0,
            ),
        ]

    try:
        await services.db.run(
            run_owing,
            fn=work.staff_reply,
            compose=owed,
            who=common.who(services),
            now=now,
            chat_id=staff_chat,
            user_id=user.id,
            name=_name(user),
            card_message_id=card_id,
            card_text=replied.text or replied.caption or "",
            text=message.text or "",
            staff_message_id=message.message_id,
            edited=edited,
        )
    except DeskError as exc:
        await message.reply_text(render.error_message(exc, departments=names), parse_mode=ParseMode.HTML)


async def on_edited_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Relay an edited answer to a ticket card as a correction; other edits change nothing."""
    message = update.edited_message
    user = update.effective_user
    if message is None or not message.text or user is None or user.is_bot:
        return
    if message.chat_id in services_of(context).staff_chats:
        await _staff_text(update, context, message, user, edited=True)


async def on_edited_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say that an edited command is not run again (and stop it reaching any command)."""
    message = update.edited_message
    if message is not None:
        await message.reply_text(texts.EDITED_COMMAND_IGNORED)
    raise ApplicationHandlerStop


async def _after_delivery(application: Application, outcome: DeliveryOutcome) -> None:  # type: ignore[type-arg]
    """A relay's final outcome changes the ticket (answered, or open again): the cards say so. A card sent after its
    ticket changed (it waited in the outbox: the sender stopped, Telegram slow) is brought up to date. A group that
    removed the bot is no longer offered as a department's (its binding was retired with the outcome)."""
    context = ContextTypes.DEFAULT_TYPE(application)
    if outcome.chat_gone:
        await common.refresh_department_chats(context)
    if outcome.ticket_id is None:
        return
    if outcome.purpose == "relay":
        await common.refresh_cards(context, outcome.ticket_id)
    elif outcome.purpose in (STEWARD_CARD, DEPARTMENT_CARD) and outcome.sent and "shows" in outcome.follow_up:
        now = await services_of(context).db.run(work.ticket_status, ticket_id=outcome.ticket_id)
        if now is not None and now != outcome.follow_up["shows"]:
            await common.refresh_cards(context, outcome.ticket_id)


async def _after_move(application: Application, moved: ChatMoved) -> None:  # type: ignore[type-arg]
    """A send found a group upgraded to a supergroup (Telegram's announcement may never come): follow it."""
    await common.follow_move(ContextTypes.DEFAULT_TYPE(application), moved.old_chat_id, moved.new_chat_id)


async def _follow_moves_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Follow the moves no one followed yet (`common.follow_unfollowed_moves`); a failure waits for the next run."""
    try:
        await common.follow_unfollowed_moves(context)
    except SQLAlchemyError as exc:
        log.warning("following unfollowed group moves skipped: database unavailable (%s)", type(exc).__name__)


FOLLOW_MOVES_SECONDS = 60


def register(application: Application) -> None:  # type: ignore[type-arg]
    sender_of(application).on_outcome = partial(_after_delivery, application)
    sender_of(application).on_moved = partial(_after_move, application)
    if application.job_queue is not None:  # the move the sender met, should its follow-up not have run
        application.job_queue.run_repeating(
            _follow_moves_job, interval=FOLLOW_MOVES_SECONDS, first=5, name="follow-moves"
        )
    application.add_handler(CallbackQueryHandler(on_feedback, pattern=rf"^{FEEDBACK_PREFIX}:"))
    # Before every other group: an edited command never runs (CommandHandler takes edits).
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.COMMAND, on_edited_command), group=-10
    )
    application.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.GROUPS & filters.UpdateType.EDITED_MESSAGE,
            on_edited_text,
        ),
        group=5,
    )
    application.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.GROUPS & ~filters.UpdateType.EDITED, on_group_text
        ),
        group=5,
    )
    application.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & ~filters.UpdateType.EDITED, on_private_text
        ),
        group=5,
    )
    tickets_buttons.register(application)
    tickets_admin.register(application)
