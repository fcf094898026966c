"""The application's wiring: every handler module and hook in place at start-up, and the jobs
free of the handlers (no import cycle between bot/ and handlers/)."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import fields

import pytest

from bot.app import HANDLER_MODULES, build_application
from bot.services import Hooks, build_services
from bot.telegram_io import services_of_app
from config import Settings
from handlers import basics, ledger, questions, tickets
from knowledge.errors import KnowledgeError
from knowledge.question_cue import ASKS, TALK


@pytest.fixture
def settings(settings: Settings, flow_database_url: str) -> Settings:
    """Building the application migrates its database: on SQLite and on PostgreSQL."""
    return settings.model_copy(update={"database_url": flow_database_url})


def test_every_hook_is_wired_when_the_application_is_built(settings: Settings) -> None:
    application = build_application(settings, rate_limit=False)
    hooks = services_of_app(application).hooks
    assert hooks == Hooks(
        handoff=tickets.handoff_part,
        status_answer=ledger.status_part,
        project_status=ledger.project_status_part,
        answer_markup=tickets.answer_markup,
    )
    assert HANDLER_MODULES == (basics, questions, tickets, ledger)
    assert application.handlers, "no handler registered"
    assert application.job_queue is not None
    assert {job.name for job in application.job_queue.jobs()} >= {"desk_sla_sweep", "ledger-daily"}
    services_of_app(application).db.dispose()


def test_a_hook_left_out_fails_when_it_is_built() -> None:
    names = [f.name for f in fields(Hooks)]
    assert names == ["handoff", "status_answer", "project_status", "answer_markup"]
    with pytest.raises(TypeError, match="answer_markup"):
        Hooks(
            handoff=tickets.handoff_part,
            status_answer=ledger.status_part,  # type: ignore[call-arg]
            project_status=ledger.project_status_part,
        )


def test_services_without_the_application_refuse_to_guess_a_hook(settings: Settings) -> None:
    services = build_services(settings)
    with pytest.raises(RuntimeError, match="build_application"):
        _ = services.hooks
    services.db.dispose()


def test_a_broken_turns_file_stops_the_start_up_naming_its_line(settings: Settings, tmp_path, monkeypatch) -> None:
    # the question reader's file, rebuilt by `steward kb questions --write`: a bad line is the knowledge's error
    # (bot.py prints it in one line), not a traceback from the first message
    broken = tmp_path / "question_turns.jsonl"
    broken.write_text('{"q": "那时限", "question": true}\n{"q": "收到"}\n', encoding="utf-8")
    monkeypatch.setattr("bot.services.QUESTION_TURNS_PATH", broken)
    with pytest.raises(KnowledgeError) as raised:
        build_services(settings)
    (problem,) = raised.value.problems
    assert (problem.file, problem.line) == (str(broken), 2)


def test_without_the_turns_file_a_group_message_asks_by_its_marks_alone(
    settings: Settings, tmp_path, monkeypatch, caplog
) -> None:
    monkeypatch.setattr("bot.services.QUESTION_TURNS_PATH", tmp_path / "missing.jsonl")
    with caplog.at_level(logging.WARNING, logger="bot.services"):
        services = build_services(settings)
    assert services.knowledge.question_reader is None and "missing.jsonl" in caplog.text
    assert services.knowledge.reading_of("网上报还是去窗口") == TALK  # no reader: only a question mark asks
    assert services.knowledge.reading_of("网上报还是去窗口？") == ASKS
    services.db.dispose()


def test_the_jobs_do_not_import_the_handlers() -> None:
    code = (
        "import sys, bot.jobs.sla_job, bot.jobs.reminder_job, bot.sender, bot.services; "
        "print(sorted(m for m in sys.modules if m == 'handlers' or m.startswith('handlers.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
