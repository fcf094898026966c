"""A whole-project progress question in plain words, through the real Application: answered with the
/progress answer in a bound group, handed to a steward in an unbound one, never with another project."""

from __future__ import annotations

import texts
from tests import test_ledger_bot
from tests.test_ledger_bot import GROUP_A, UNBOUND, _say, handoffs_caught
from tests.texts_match import says

# the ledger conversation's fixtures, its `settings` too: on SQLite and PostgreSQL
app, ledger_settings, settings = test_ledger_bot.app, test_ledger_bot.ledger_settings, test_ledger_bot.settings


async def test_a_progress_question_in_a_bound_group_gets_the_progress_answer(app) -> None:
    handed = handoffs_caught(app)
    (progress,) = (await _say(app, "/progress")).texts_to(GROUP_A)
    (asked,) = (await _say(app, "咱们项目还有哪些手续没办完")).texts_to(GROUP_A)
    assert asked == progress and says(texts.LEDGER_PROGRESS_SHORT, asked, name="新材料产业园")  # names the project
    assert handed == []


async def test_in_an_unbound_group_it_goes_to_a_steward(app) -> None:
    handed = handoffs_caught(app)
    assert (await _say(app, "我们项目的手续办得怎么样了", chat_id=UNBOUND)).texts_to(UNBOUND) == []
    assert handed == [UNBOUND]


async def test_naming_another_projects_code_is_not_answered_with_this_groups_project(app) -> None:
    handed = handoffs_caught(app)
    assert (await _say(app, "P002项目的手续办得怎么样了")).texts_to(GROUP_A) == []
    assert handed == [GROUP_A]
    (own,) = (await _say(app, "P001项目的手续办得怎么样了")).texts_to(GROUP_A)
    assert says(texts.LEDGER_PROGRESS_SHORT, own, name="新材料产业园")
