"""A help group bound to a project answers as the project's 旗县区 handles the item, where the
knowledge base has an override, and says which region the answer is for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import texts
from bot.app import build_application
from desk.bindings import bind_help_chat
from desk.models import Role
from desk.roles import Actor
from knowledge.answers import compose_item_answer
from knowledge.loader import load_knowledge
from ledger.importer import import_file
from tests.delivery_helpers import delivered
from tests.ledger_support import ledger_row, write_xlsx
from tests.recording_request import RecordingRequest
from tests.updates import message_update

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

ADMIN, ENTERPRISE = 7001, 5_000_000_001
SAIHAN_GROUP, CITY_GROUP, UNBOUND = -1001234567001, -1001234567002, -1001234567999


def test_the_answer_composition_takes_the_region_as_a_plain_value(regional_kb):
    kb = load_knowledge(regional_kb)
    item = kb.items["energy_review"]
    local = compose_item_answer(kb, item, "department", region="赛罕区")
    assert texts.REGION_NOTE.format(region="赛罕区") in local
    assert "赛罕区政务服务中心一楼 综合窗口" in local and "0471-6999001" in local
    assert kb.departments["natural_resources"].name in local
    city = compose_item_answer(kb, item, "department", region="新城区")  # no override
    assert city == compose_item_answer(kb, item, "department")
    assert "赛罕区" not in city and kb.departments["ndrc"].window in city
    assert texts.LEVEL_LINE.format(levels="旗县区") in compose_item_answer(kb, item, "process", region="赛罕区")


@pytest.fixture
def settings(settings, flow_database_url):
    """This module's flows run on SQLite and on PostgreSQL."""
    return settings.model_copy(update={"database_url": flow_database_url})


@pytest.fixture
async def app(settings, clock, tmp_path, regional_kb):
    settings = settings.model_copy(update={"knowledge_path": regional_kb, "admin_user_ids": [ADMIN]})
    request = RecordingRequest()
    application = build_application(settings, clock=clock, request=request, rate_limit=False)
    await application.initialize()
    services = application.bot_data["services"]
    services.db.call(
        import_file,
        path=write_xlsx(
            tmp_path / "l.xlsx",
            [
                ledger_row(项目代码="P001", 旗县区="赛罕区", 手续="节能审查", 受理日期=None, days=None, 状态="未启动"),
                ledger_row(
                    项目代码="P002",
                    项目名称="物流园",
                    旗县区="新城区",
                    手续="节能审查",
                    受理日期=None,
                    days=None,
                    状态="未启动",
                ),
            ],
        ),
    )
    admin = Actor(user_id=ADMIN, chat_id=None, role=Role.admin)
    for chat, code in ((SAIHAN_GROUP, "P001"), (CITY_GROUP, "P002")):
        services.db.call(
            bind_help_chat, actor=admin, chat_id=chat, project_code=code, now=datetime(2026, 3, 1, tzinfo=UTC)
        )
    application.bot_data["request"] = request
    yield application
    await application.shutdown()
    services.db.dispose()


async def _ask(app: Any, chat_id: int, text: str) -> str:
    request: RecordingRequest = app.bot_data["request"]
    request.clear()
    await app.process_update(message_update(app.bot, chat_id=chat_id, user_id=ENTERPRISE, text=text))
    await delivered(app)
    (answer,) = request.texts_to(chat_id)
    return answer


async def test_a_bound_group_gets_its_regions_window_and_says_so(app) -> None:
    saihan = await _ask(app, SAIHAN_GROUP, "能评去哪个窗口办？")
    assert "赛罕区" in saihan and "赛罕区政务服务中心一楼 综合窗口" in saihan
    assert "0471-6999001" in saihan

    city = await _ask(app, CITY_GROUP, "能评去哪个窗口办？")  # 新城区 has no override
    assert "赛罕区" not in city and "二楼 投资项目审批窗口" in city

    unbound = await _ask(app, UNBOUND, "能评去哪个窗口办？")
    assert unbound == city
