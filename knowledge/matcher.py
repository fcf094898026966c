"""Find the approval item a chat message asks about, what it asks, and what to do.

Signals, strongest first, each giving an item a score in 0-1:
- an alias or name of the item written in the message (longer aliases score higher);
- the same alias typed with homophone typos (same folded pinyin: 环平 → 环评);
- the item written in latin letters (EIA, shigong xuke, huanping);
- a hint phrase that points to the item without naming it (开工前最后一个证);
- a near-miss of a long alias (rapidfuzz partial ratio) and a close FAQ question.
A hit inside a longer hit of another item is dropped (「竣工验收备案」 is not 「备案」).
The action uses both the best score and its gap to the runner-up: answer when confident,
clarify between close candidates, hand off when unsure or out of scope.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from threading import Lock

from rapidfuzz import fuzz, process

from knowledge.answer_doubt import (
    DOUBT_HANDOFF,
    KEPT_ANSWERS_PATH,
    AnswerDoubt,
    KeptAnswer,
    doubt_in_background,
    doubt_offer,
    is_kept_answer,
    is_switched_answer,
    read_kept_answers,
)
from knowledge.collector import collector_paused
from knowledge.context import Context
from knowledge.follow_up_gate import FOLLOW_UPS_PATH, FollowUpGate, gate_for
from knowledge.followup import FollowUpReader
from knowledge.intents import classify_intent, cue_book
from knowledge.match_result import ACTIONS, MAX_ASKS, RUN_TOGETHER, Ask, Candidate, MatchResult
from knowledge.model import Faq, KnowledgeBase
from knowledge.model_text import NO_ITEM, TextModel, asking_clause
from knowledge.names import Hit, PhraseIndex, name_span
from knowledge.normalize import compact as compact_text
from knowledge.normalize import has_cjk, normalize, normalize_many
from knowledge.scoring import EVIDENCE, Thresholds, Weights
from knowledge.wording import (
    EACH,
    ELLIPSIS,
    LATIN_TOKEN,
    MAY,
    PARTNER_MARKS,
    SEVERAL_PROJECTS,
    TOGETHER,
    TOGETHER_GOES,
    TOGETHER_IF,
    asks_by_form,
    asks_something,
    background_spans,
    clause_intent,
    clause_starts,
)

log = logging.getLogger(__name__)

__all__ = ["ACTIONS", "Ask", "Candidate", "MatchResult", "Matcher", "Thresholds", "Weights"]

SEVERAL_CHARS = 30  # several items are asked about in a short message; a long one names them as background
CLAUSE_ASKS_CHARS = 40  # clauses that each ask about their own item: 「消防验收去哪个窗口？竣工验收备案又在哪办？」

# What 「那水保的呢」 holds besides the item's name.
_ELLIPSIS_FILLERS = "那这个的还有再又呢"
# Progress of the whole project rather than of one procedure.
_PROJECT_STATUS = re.compile(
    r"(项目|咱们|我们|我司|整体|全部|所有).{0,10}(手续|审批|前期|证).{0,8}(没办完|没办|未办|还差|还剩|剩下|办完|办了多少|进度|进展|到哪|怎么样|情况)"
    r"|(项目|整体)(的)?(总体)?(进度|进展)|还有(哪些|几个|什么)(手续|审批|证).{0,4}(没|未|要)|(手续|前期).{0,4}(办得怎么样|进度|进展|情况)"
    r"|(手续|事项).{0,6}(完成了?几|完成率|还差几|办结|都批完|都办完|在办)|(所有|全部)(在办|未办|没办)|台账.{0,10}(办结|办完|无需|完成)"
    # 「整体还有几项没办」「总共还有几个没办完的」「整个项目3月底能批完吗」: how many are left, of the whole project
    r"|(整体|整个项目|项目整体|总共|一共).{0,8}(几项|几个手续|没办|没批|批完|办完)|(还剩|还有|剩下)几(项|个)没"
)

# The last word of a procedure's name: 「林木采伐许可证」「招投标备案」 name a procedure of their own when the
# words before it are not a name of the knowledge base.
_PROCEDURE_WORDS = "(许可证|许可|审批|备案|验收|资质)"
_PROCEDURE_WORD = re.compile(_PROCEDURE_WORDS + "(?!平台|系统|监管|中心|窗口|大厅|局|科|处)")
# Topics that are themselves a way of running procedures together: named in a together question, what is asked
_TOGETHER_SCHEMES = frozenset({"five_certs"})
# A name that is a procedure word alone (备案, 备案证 of 企业投资项目备案), also in 「备案系统」
_BARE_NAME = re.compile(_PROCEDURE_WORDS)

# A character before a procedure word that ends no name (「我们备案」「的审批」「做验收」「那个书审批」).
_NOT_A_NAME_END = frozenset(
    "的了们个做办去要先再和跟与及于在还已都也就么啥吗能可请问这那把给被对该此其每各得过完好书块边面里哪儿刚走是"
    # 「这个谁审批」「这俩审批」「必须备案」「看审批进度」「要有资质」 (not a department's 局 or 委, nor 级: 「去海关备案」
    # 「卫健委审批」「三级资质」 name procedures of their own)
    "谁俩须看有"
    # 「多久出备案表」「当天能出备案证明吗」: issuing the paper (not 「演出许可」, a matter of its own: `_NAMES_ENDING_IN_VERB`)
    "出"
    # 「要的话审批要多久」: if it is needed (的话), then the approval
    "话"
)
_NAMES_ENDING_IN_VERB = frozenset({"演出", "退出", "迁出", "外出", "展出", "支出"})
# 「哪一级审批」「市级审批还是省级」: the level that approves, not a procedure (「三级资质」 is one: a qualification)
_LEVEL = re.compile(r"级(?!资质)")
# Words before a procedure word that say how it is done, not which procedure (「政府审批」「在线审批」).
_GENERIC_BEFORE = frozenset(
    {
        "政府",
        "部门",
        # 「其他审批也都能容缺吗」「全部审批都能网上报吗」: every procedure, none named (所有: 有 ends no name)
        "其他",
        "其它",
        "其余",
        "全部",
        "正式",
        "在线",
        "网上",
        "线上",
        "相关",
        "行政",
        "哪些",
        "什么",
        "前置",
        "联合",
        "并联",
        "单独",
        "专项",
        "分别",
        "一起",
        "同时",
        "最后",
        "首次",
        "后续",
        "手续",
        # a procedure said not needed (「是不是备案就行不用验收」) is the item's own step, not one of its own
        "不用",
        "无需",
        "不需",
        "不必",
        "法定",
        "现场",
        "报告",
        # how or when it is done (「还是直接备案就行」「逾期备案会咋样」「重新备案要多久」「办理审批要多久」): the item's own
        "直接",
        "逾期",
        "重新",
        "提前",
        "按时",
        "及时",
        "延期",
        "办理",
        "申请",
        "进行",
    }
)

_ALSO = re.compile(r"同时(要|需|还|也|得)")  # 「…能一起报吗？同时要准备什么材料」: "also", not "together"
# Where a message turns from its story to its questions: 「…想问下节能审查要多久」.
_ASK_MARKER = re.compile(r"想问|请问|问下|问一下|咨询")

# Connectors between several items asked about at once.
_SEVERAL = re.compile(r"和|跟|与|及|、|还有|以及|分别|各|或者|还是")

_PEOPLE_TOGETHER = re.compile(r"(老板|同事|领导|一个人|俩人|几个人).{0,4}(一起|一块|同时)|(一起|一块)去(?!哪)")


def _written_at(hits: list[Hit], item: str) -> int:
    """Where the message first names `item` (a large number when no hit of it has a place)."""
    return min((h.start for h in hits if h.item == item and h.start >= 0), default=10**6)


def _asks_together(text: str) -> bool:
    """Whether a text asks about procedures running together (「一起」「同时」; 「一并报」「并着走」)."""
    return bool(TOGETHER.search(text) or TOGETHER_GOES.search(text))


# 「核准前要先做…」: before the item just named, something needed first; 「(办|报|申请)核准前」 (_BEFORE_HEAD).
_BEFORE_NEEDED = re.compile(r"(之前|以前|前)(是不是|是否)?(需要|要|得|必须)(先)")
_NEEDS_FIRST = re.compile(r"(是不是|是否)?(需要|要|得|必须)先(拿到|取得|拿|有|办完|办)")
# 「…之前要先办的那个…」: a relative clause naming the procedure to do first, which the message then asks about
_DESCRIBED_AS_FIRST = re.compile(r"(办|做|拿|弄|有|报|走)?的")
_BEFORE_NAMED_NEEDED = re.compile(r"(之前|以前)(?P<first>.{2,12}?)(是不是|是否)?(需要|要|得|必须)先")
_BEFORE_HEAD = re.compile(
    r"(?:明白了?|好的|好|行|了解|收到|对了|哦)?(?:那|那么)?(请问|问下|问一下)?(我们)?(办|报|申请|做|办理)?"
)

_ACKNOWLEDGED = re.compile(
    r"(好的|好嘞|好|行吧|行|谢谢|感谢|多谢|收到|明白|了解|知道了|ok|嗯)+(老师|管家|您|你|了|啊|哈|哦|呀)*"
)

_WITH_OTHERS = re.compile(r"[跟和与同](别的|其他|其它|其余)的?(手续|审批|事项)")
_PARTNER_AFTER = re.compile(r"[和跟与]|同(?!时|步|一)")  # 「人防和…」 (not 「人防同时…」)


@dataclass
class _FaqEntry:
    normalized: str
    item: str | None
    faq: Faq
    learned: bool = False


class Matcher:
    """Match questions against one knowledge base; safe to call from several threads."""

    @collector_paused
    def __init__(
        self,
        kb: KnowledgeBase,
        thresholds: Thresholds | None = None,
        model: TextModel | None = None,
        weights: Weights | None = None,
        gate: FollowUpGate | None = None,
        doubt: AnswerDoubt | Future[AnswerDoubt | None] | Path | None = None,
    ) -> None:
        self.kb = kb
        # the learned doubt of answers taken from the earlier item (None: they stand), its training under way, or the
        # file of a training not started yet (`start_kept_doubt`)
        self._kept_doubt = doubt
        self._doubt_lock = Lock()
        self.thresholds = thresholds or Thresholds()
        self.model = model  # None: the rule reading alone (the benchmark's "rule matcher")
        self.weights = weights or Weights()
        self.index = PhraseIndex.build(kb, self.thresholds.clarify)
        self._followups = FollowUpReader(
            kb,
            self.index,
            model,
            self.thresholds,
            self.weights,
            lambda text: self._order_before(self._match(text)),
            gate,
        )
        # (entries, their normalised questions) swapped as one tuple, so a reader never sees a half update
        self._faq_table: tuple[list[_FaqEntry], list[str]] = ([], [])
        self._lock = Lock()
        faqs = [(item.key, faq) for item in kb.items.values() for faq in item.faq]
        # normalised in one call (an operator's knowledge base may hold thousands of FAQ entries)
        questions = normalize_many([faq.q for _, faq in faqs])
        entries = [_FaqEntry(q.replace(" ", ""), key, faq) for (key, faq), q in zip(faqs, questions, strict=True)]
        entries = [e for e in entries if e.normalized]
        self._faq_table = (entries, [e.normalized for e in entries])
        for faq in kb.learned:
            self.add_learned(faq.q, faq.a, None)

    @classmethod
    def trained(
        cls,
        kb: KnowledgeBase,
        thresholds: Thresholds | None = None,
        *,
        model_path: Path | None = None,
        follow_ups: Path | None = FOLLOW_UPS_PATH,
        kept_answers: Path | None = KEPT_ANSWERS_PATH,
    ) -> Matcher:
        """The matcher the bot uses: the exact evidence joined with the model of the current data — read from
        `model_path` when that file was trained on exactly this data, else trained now (about a second) and
        written there (`knowledge/model_file.py`) — the follow-up gate of the turns in `follow_ups`
        (`knowledge/follow_up_gate.py`) and the doubt of the answers in `kept_answers` (`knowledge/answer_doubt.py`;
        None: none)."""
        from knowledge.model_file import model_for

        source = model_for(kb, model_path, write_later=True)
        if kept_answers is not None and kept_answers.exists():
            read_kept_answers(kept_answers)  # read now: a broken line stops the start-up, not the first message
        else:
            kept_answers = None
        matcher = cls(kb, thresholds, model=source.model, gate=gate_for(follow_ups), doubt=kept_answers)
        if source.file is not None:
            source.file.start()  # a model trained now is written once the matcher is built (`FileWrite`)
        return matcher

    def start_kept_doubt(self) -> None:
        """Start training the doubt of kept answers on a thread of its own (the first answer taken from a conversation
        does, and waits for it: about 0.5 s on an idle machine, once per process; the benchmark times it)."""
        with self._doubt_lock:
            if isinstance(self._kept_doubt, Path):
                self._kept_doubt = doubt_in_background(self._kept_doubt, self.model)

    @property
    def kept_doubt(self) -> AnswerDoubt | None:
        """The doubt of kept answers, once trained (the first caller starts its training and waits for it)."""
        self.start_kept_doubt()
        doubt = self._kept_doubt
        if isinstance(doubt, Future):
            try:
                doubt = doubt.result()
            except Exception:  # a training that failed: kept answers stand, as without the model
                log.exception("the doubt of kept answers could not be trained; kept answers are given as they are")
                doubt = None
            self._kept_doubt = doubt
        return doubt if isinstance(doubt, AnswerDoubt) else None

    def add_learned(self, question: str, answer: str, item: str | None) -> None:
        """Make a learned question/answer pair matchable at once, without a restart."""
        entry = _FaqEntry(compact_text(question), item, Faq(q=question, a=answer), learned=True)
        if not entry.normalized:
            return
        with self._lock:
            entries, texts = self._faq_table
            self._faq_table = ([*entries, entry], [*texts, entry.normalized])

    def match(self, question: str, context: Context | None = None) -> MatchResult:
        """Return the item, intent, action and candidates for one question.

        `context` is what the asker last asked about: an elliptical follow-up takes the missing part from it.
        """
        return self.in_context(self.alone(question), context)

    def alone(self, question: str) -> MatchResult:
        """The message read alone, before its conversation: `in_context(alone(q), context)` is `match(q, context)`
        (a caller that reads a message before it knows its asker's context matches it once)."""
        return self._order_before(self._match(question))

    def in_context(self, result: MatchResult, context: Context | None) -> MatchResult:
        """`match(question, context)` from `result = alone(question)` made already (no second match): the reading
        in the conversation, then what the whole message does (tells without asking, asks a steward to act); an answer
        that leaves the conversation's item unsure is offered as a choice beside it, and one taken from it that the
        learned doubt gives `DOUBT_OFFER` or more is offered as a choice of one (one that switched to another item the
        message names, from `SWITCH_DOUBT_OFFER`: a choice of that item and the earlier one), or handed to a person
        from `DOUBT_HANDOFF`."""
        read = self._told_only(self._followups.in_context(result, context))
        # a request to a steward (「行 麻烦管家盯一下」) is read before the doubt: it goes to a steward with its item
        read = self._doubted(self._asks_a_steward(self._followups.left_unsure(read, context)), context, alone=result)
        return self._guessed(read) if context is None else read

    def _guessed(self, read: MatchResult) -> MatchResult:
        """A message with no conversation before it, handed off on a low score (or because the model is unsure of an
        item it does not name: reason `doubt`, 「能耗大的项目要过的那一关，找哪个部门」; or for an
        out-of-scope word the model is sure enough to overrule, `_sure_of_leaning`), offered as a choice of its best items
        (the best and those within `Thresholds.min_gap` of it, up to three) when the best scores `Thresholds.guess` or
        more, the item model leans to it too, and the message is longer than `Weights.guess_min_chars`: 「看项目用电用煤
        多不多的那个审查，流程是啥」 gets 节能审查 one press away instead of half an hour; in groups 「都不是，
        转人工」 opens the ticket the handoff would have. Not a status question (the ledger or a person answers
        progress), nor one that asks no aspect (「好的 我先去查下压没压」 tells what the asker will do)."""
        handed = read
        if read.action == "handoff" and read.reason == "out_of_scope":
            read = self._sure_of_leaning(read)
        if read.action != "handoff" or read.reason not in ("low_confidence", "doubt") or not read.candidates:
            return handed
        top = read.candidates[0]
        if read.intent in ("status", "other") or top.score < self.thresholds.guess or top.item not in self.kb.items:
            return handed  # (an out-of-scope message not guessed stays as it was: its reason, no candidate)
        if len(compact_text(read.question)) <= self.weights.guess_min_chars or read.leans != top.item:
            # 「那多久能审完」 with no context (it expired, or the database is down) is an elliptical follow-up, not a
            # description of its item: it goes to a person as before
            return handed
        close = tuple(c for c in read.candidates if top.score - c.score < self.thresholds.min_gap)[:3]
        return replace(
            read,
            item=top.item,
            action="clarify",
            reason="guess",
            confidence=top.score,
            candidates=close,
            wants_item=False,
        )

    def _named_aside(self, read: MatchResult, item: str, probs: dict[str, float]) -> bool:
        """Whether the message names `item` only as done or as a point in time (「环评批复拿到了 竣工环保验收…」「土地挂牌前
        自然资源局先审一下用地的那个」: the background, not what is asked), or by a name holding a phrase listed out of
        scope (「…还要做安全设施设计审查吧」: 安全设施设计 is the subject, 安全设施设计审查 a name of 安全条件审查) — the hits
        read as `_read` reads them (`probs`: the item model's of the message)."""
        text = compact_text(read.question)
        hits = self.index.names_written(text, read.normalized)
        self.index.discount_context(text, hits, read.normalized, probs)
        hits = [h for h in hits if h.item == item]
        if any(h.context for h in hits):
            return True
        spans = self.index.out_of_scope_spans(text)
        return any(h.alias and h.start <= a and b <= h.end and b - a < h.end - h.start for h in hits for a, b in spans)

    def _sure_of_leaning(self, read: MatchResult) -> MatchResult:
        """An out-of-scope word in a message the item model gives one item `foreign_overrule` or more (「地下车库平时停车
        打仗时候防空的那种，审批要交费吗」: 防空 is listed out of scope): read as a low score of that item, which the guess
        may offer (`_guessed`). Not an item named as done or by a name holding the out-of-scope phrase (`_named_aside`),
        nor a matter that is always out of scope."""
        if read.leans is None or self.model is None or read.leans not in self.kb.items:
            return read
        text = compact_text(read.question)
        if any(p in text for p in self.index.always_out_of_scope):
            return read
        probs = self.model.item_probabilities(text)
        p = probs.get(read.leans, 0.0)
        if p < self.weights.foreign_overrule or self._named_aside(read, read.leans, probs):
            return read
        return replace(read, reason="doubt", candidates=(Candidate(read.leans, p),))

    def _doubted(self, read: MatchResult, context: Context | None, *, alone: MatchResult | None = None) -> MatchResult:
        """「周六上班不」 after 能评, answered with 能评 by the follow-up readers, or 「消防验收得先做完才能备案吧」 after
        竣工验收备案, answered with 消防验收: the doubt (models of the read dialogues' answers of later turns) is fairly
        sure the answer is wrong, so it is offered as a choice instead — of the earlier item (in groups beside
        「都不是，转人工」), or of the item named and the earlier one. An answer kept from the conversation that the doubt
        finds more likely wrong than right (`DOUBT_HANDOFF`) goes to a person (reason `doubted_kept`, no item, the
        earlier item its one candidate; the conversation stays where it was before it) — unless the message read
        `alone` answers another item: then that item and the earlier one are offered (「取水那个也在水利局办吧」 after
        洪评: on the read sets 22 of 33 such turns meant the item read alone)."""
        if context is None:
            return read
        # a switch away from an item the knowledge base no longer holds (removed, and the bot restarted within the
        # context's minutes) offers no button of it
        switched = is_switched_answer(read, context) and context.item in self.kb.items
        if not (switched or is_kept_answer(read, context)) or (doubt := self.kept_doubt) is None:
            return read
        assert read.item is not None  # an answer of either kind has its item
        answer = KeptAnswer(read.question, context.item, read.intent, False, answered=read.item if switched else "")
        wrong = float(doubt.of([answer])[0])
        if wrong < doubt_offer(answer):
            return read
        sure = round(1.0 - wrong, 3)
        first = read.item
        if not switched and wrong >= DOUBT_HANDOFF:
            named = alone.item if alone is not None and alone.action == "answer" and not alone.asks else None
            if named is None or named not in self.kb.items or named == context.item:
                return replace(
                    read,
                    item=None,
                    action="handoff",
                    reason="doubted_kept",
                    confidence=sure,
                    candidates=(Candidate(context.item, sure),),
                    faq=None,
                    learned=False,
                    context=False,
                )
            switched, first = True, named  # offered as a doubted switch: the item named first
        offered = (first, context.item) if switched else (context.item,)
        return replace(
            read,
            item=first,
            action="clarify",
            reason="doubted",
            confidence=sure,
            candidates=tuple(Candidate(item, sure) for item in offered),
            faq=None,
            learned=False,
        )

    def reaches_gate(self, result: MatchResult, context: Context | None) -> bool:
        """Whether `result`, read in `context` by a matcher without a gate, is a follow-up the gate reads again."""
        return context is not None and self._followups.reaches_gate(result, context)

    def _told_only(self, result: MatchResult) -> MatchResult:
        """「审图昨天合格了哈」「好的 我等电话」: a message that asks nothing — no question mark, no clause with a
        question word or a choice — and says something done, or acknowledges the earlier answer first, is told,
        not asked: a steward reads it (the item's summary would answer nothing). A bare name (「环评」) and an
        intonation question (「还得做洪水评价了？」) still get their answers. A message that acknowledges first is told
        whatever the model reads in it (「行 那我先把地灾报告委托出去」 is no question of where)."""
        if (
            result.action != "answer"
            or result.asks
            or result.reason == "learned"
            or any(mark in result.question for mark in "?？")
        ):
            return result
        said = [c for c in result.normalized.split(" ") if c]
        clauses = [c for c in said if not self.index.is_smalltalk(c)]
        if not clauses or any(asks_by_form(c) for c in clauses):
            return result
        acknowledged = bool(_ACKNOWLEDGED.fullmatch(said[0]))  # 「好的」「行吧」「谢谢老师」 first
        if result.intent != "other" and not acknowledged:
            return result
        if not (acknowledged or any(cue_book().done_clause.search(c) for c in clauses)):
            return result
        return replace(result, action="handoff", reason="told", faq=None, learned=False)

    def _asks_a_steward(self, result: MatchResult) -> MatchResult:
        """「麻烦管家帮着催催」「能不能帮忙吹个哨」「林草的还卡着 能帮催一下不」: a message that asks the steward to act
        (`steward_request` in intent_cues.yaml) and asks nothing else goes to a steward (reason `request`), with the
        item it is about; an answer or a choice of items would do nothing for it. 「经办人是谁，能帮忙问问吗」 also asks
        who, and is answered."""
        if (result.action not in ("answer", "clarify") and result.reason != "status") or result.reason == "learned":
            return result  # 「林草的还卡着 能帮催一下不」, read as where it stands, is a request too: not the ledger's line
        book = cue_book()
        clauses = [c for c in result.normalized.split(" ") if c]
        requests = [c for c in clauses if book.steward_request.search(c)]
        if not requests or any(
            asks_by_form(c) for c in clauses if c not in requests and not self.index.is_smalltalk(c)
        ):
            return result
        return replace(result, action="handoff", reason="request", faq=None, learned=False)

    def _order_before(self, result: MatchResult) -> MatchResult:
        """「核准前要先做用地预审吗」「办施工许可之前必须先拿到图审合格书吗」「草原审核是不是得先拿到用地预审」: an item
        named first, then (前/之前 and) another named as what must come first — the order of the first item (its
        process), not the other's. Offered as a choice between the two, it is answered so too."""
        if (
            result.asks
            or result.item is None
            or result.action not in ("answer", "clarify")
            or result.reason == "learned"
        ):
            return result
        text = compact_text(result.question)
        found = _BEFORE_NEEDED.search(text)
        first = text[found.end() :] if found is not None else ""
        if found is None:
            # 「那核准之前用地预审得先拿到是吧」: what must come first named between 之前 and 得先
            found = _BEFORE_NAMED_NEEDED.search(text)
            first = found.group("first") if found is not None else ""
        if found is None:
            # 「草原审核是不是得先拿到用地预审」: the item named, then what it needs first
            found = _NEEDS_FIRST.search(text)
            if found is None:
                return result
            first = text[found.end() :]
        if _DESCRIBED_AS_FIRST.match(first) and result.intent != "process":
            return result  # 「拿地之前要先办的那个预审选址 要准备啥材料」: the one to do first, described, is asked of
        head = [h for h in self.index.span_hits(text[: found.start()]) if self.index.outright(h)]
        # what must come first may be a topic too (「报建议书之前是不是得先有项目代码」)
        tail = [
            h for h in self.index.span_hits(first) if h.exact and h.start >= 0 and h.score >= self.thresholds.clarify
        ]
        subject = {h.item for h in head}
        named = {h.item for h in tail} | subject
        if len(subject) != 1 or not tail or result.item not in named:
            return result
        if result.action == "clarify" and not {c.item for c in result.candidates} <= named:
            return result  # a choice with a third item: not only these two
        start, end = name_span(head)
        if not _BEFORE_HEAD.fullmatch(text[:start]) or end != found.start():
            return result  # the item named must be what 前 is said of: 「(办)核准前…」
        item = subject.pop()
        return replace(
            result,
            item=item,
            intent="process",
            action="answer",
            reason="confident" if result.action == "clarify" else result.reason,
            candidates=(Candidate(item, result.confidence),),
            faq=None,
            learned=False,
        )

    def _names_foreign_procedure(self, compact: str, hits: list[Hit]) -> bool:
        """Whether the message names, before any item it names, a procedure that is no name of the knowledge base.

        A procedure word (许可证, 审批, 备案…) inside a name or right after one (「环评审批」「水保方案审批」) is
        the item's; after a word that ends no name (「我们备案」) it is generic; after other words
        (「林木采伐许可证」「招投标备案」) it is a procedure of its own.
        """
        spans = [(h.start, h.end) for h in hits if h.alias and h.start >= 0]
        # A name that begins with the procedure word itself (备案, 备案证) does not say which procedure.
        names = [(a, b) for a, b in spans if not _PROCEDURE_WORD.match(compact, a)]
        phrases = names + [(h.start, h.end) for h in hits if h.exact]  # a hint holding the word: 「规划许可」
        first_name = min((a for a, _ in names), default=len(compact))
        for word in _PROCEDURE_WORD.finditer(compact):
            p, e = word.span()
            if p < 2 or p >= first_name:
                continue
            if any(a <= p and e <= b and (a, b) != (p, e) for a, b in phrases) or any(
                p - 2 <= b <= p for _, b in names
            ):
                continue
            before = compact[p - 2 : p]
            if any(before + word.group() in phrase.text for phrase in self.index.phrases if phrase.kind == "alias"):
                continue  # part of a name: 「规划许可证」 of 建设工程规划许可证 and 建设用地规划许可证
            if (
                has_cjk(before)
                and len(before) == 2
                and (before[1] not in _NOT_A_NAME_END or before in _NAMES_ENDING_IN_VERB)
                and before not in _GENERIC_BEFORE
                and not _LEVEL.match(compact, p - 1)
                and has_cjk(before[0])
            ):
                return True
        return False

    def _model_sure_of_item(self, probs: dict[str, float]) -> bool:
        """Whether the item model gives one item of the knowledge base at least `foreign_overrule`."""
        return any(k != NO_ITEM and k in self.kb.items and p >= self.weights.foreign_overrule for k, p in probs.items())

    def _match(self, question: str) -> MatchResult:
        normalized = normalize(question or "")
        compact = normalized.replace(" ", "")
        if not compact:
            return self._result(question, normalized, None, "other", "smalltalk", 0.0, [], "empty")
        item_probs = self.model.item_probabilities(compact) if self.model is not None else {}
        if item_probs and _PEOPLE_TOGETHER.search(compact):
            # 「能和老板一起去办吗」: people going together, not procedures running together (the parallel topic)
            item_probs = {k: p for k, p in item_probs.items() if k != "parallel"}
        result = self._read(question, normalized, compact, dict(item_probs))
        items = [k for k in item_probs if k in self.kb.items]
        leans = max(items, key=item_probs.__getitem__) if items else None
        return replace(result, no_item=item_probs.get(NO_ITEM), leans=leans)

    def _read(self, question: str, normalized: str, compact: str, item_probs: dict[str, float]) -> MatchResult:
        """One message read alone, given the item model's probabilities of it (empty: no model)."""
        hits = self.index.names_written(compact, normalized)
        hits += self.index.fuzzy_hits(compact, {h.item for h in hits})
        hits += self.index.department_hits(compact, {h.item for h in hits})
        self.index.discount_context(compact, hits, normalized, item_probs or None)
        named = {h.item for h in hits if h.named and not h.context}
        mentioned = {h.item for h in hits if h.named}  # named, even if only as context
        if self.model is not None:
            intent_probs = self.model.intent_probabilities(normalized, self.index.name_spans(hits))
            intent = max(intent_probs, key=intent_probs.__getitem__)
            decided = intent_probs[intent] >= 0.5
        else:
            intent, decided = classify_intent(normalized, self.index.name_spans(hits))

        faq_entry, faq_ratio = self._faq_hit(compact)
        if faq_entry is not None and faq_entry.item is not None:
            e = EVIDENCE
            hits.append(
                Hit(faq_entry.item, e.faq_base + (faq_ratio - e.faq_cutoff) / (100 - e.faq_cutoff) * e.faq_span)
            )
        if faq_entry is not None and faq_entry.learned and faq_entry.item is None and faq_ratio >= EVIDENCE.faq_answer:
            return self._result(
                question, normalized, None, intent, "answer", faq_ratio / 100, [], "learned", faq_entry.faq, True
            )

        if self._names_foreign_procedure(compact, hits) and not self._model_sure_of_item(item_probs):
            # 「林木采伐许可证在哪办」「招投标备案在哪个部门」: a procedure the knowledge base does not have
            return self._result(question, normalized, None, intent, "handoff", 0.0, [], "out_of_scope")
        if any(p in compact for p in self.index.always_out_of_scope):
            return self._result(question, normalized, None, intent, "handoff", 0.0, [], "out_of_scope")
        outside = self.index.out_of_scope_spans(compact)
        if outside:
            # Only an approval item named outright, apart from the matter out of scope (not touching it) and not
            # as background after the matter itself is asked about, survives: 「食品经营许可证能容缺吗」 is not about
            # 容缺受理, 「夜间施工许可找谁办」 not about 施工许可, 「出口退税怎么办理？我们刚拿了原产地证」 not about
            # 原产地证; 「不动产权证要带出让金发票吗」 is about 不动产权证.
            starts = clause_starts(normalized)

            def touches(h: Hit, a: int, b: int) -> bool:
                return (
                    (a < h.end and h.start < b)
                    or (h.end == a and a not in starts)
                    or (b == h.start and b not in starts)
                )

            background = background_spans(normalized)

            def in_background(x: int, y: int) -> bool:
                return any(a <= x and y <= b for a, b in background)

            # the matter out of scope only told, after the question, in a clause that asks nothing (「项目代码怎么申请 客户是
            # 新注册的公司 营业执照刚下来」): a topic named outright in the asking clause survives too — not a matter told
            # first that the question then asks about unnamed (「营业执照丢了 跨省通办能补办吗」「社保还没交 能容缺吗」)
            asking_from = min((s for s in starts if not in_background(s, s + 1)), default=len(compact))
            told_only = all(in_background(x, y) and x > asking_from for x, y in outside)
            asked_at = min(
                (x for x, y in outside if not in_background(x, y) and not any(touches(h, x, y) for h in hits)),
                default=len(compact),
            )
            hits = [
                h
                for h in hits
                if h.named
                and h.exact
                and not h.context
                and (self.kb.items[h.item].kind == "item" or (told_only and not in_background(h.start, h.end)))
                and not any(touches(h, a, b) for a, b in outside)
                and not (h.start > asked_at and in_background(h.start, h.end))
            ]
            if not hits:
                return self._result(question, normalized, None, intent, "handoff", 0.0, [], "out_of_scope")

        if not named and _asks_together(compact) and SEVERAL_PROJECTS.search(compact):
            # 「一期二期能一起报不」: several projects together, a steward's question, not the parallel topic
            return self._result(question, normalized, None, intent, "handoff", 0.0, [], "several_projects")
        if not named and _PROJECT_STATUS.search(compact):
            # 「咱们项目还有哪些手续没办完」: the whole project's progress, from the ledger of a bound group
            return self._result(question, normalized, None, "status", "handoff", 0.0, [], "project_status")
        if (
            not mentioned
            and not ELLIPSIS.search(compact)
            and self.index.is_smalltalk(compact, asked="?" in question or "？" in question)
        ):
            # 「要得」「收到 谢谢」: thanks and greetings, whatever item the model leans to (a retraining moved 「要得」's);
            # not 「那呢」, the earlier question asked again
            return self._result(question, normalized, None, "other", "smalltalk", 0.0, [], "smalltalk")
        candidates = self._rank(hits, named=named, mentioned=mentioned)
        if item_probs:
            before = bool(candidates)
            written = {h.item for h in hits if h.exact and h.alias and not h.context}
            # 「网签备案找谁」「施工招标完了在哪备案」: 备案 alone names no procedure of its own (`_BARE_NAME`)
            bare = written - {h.item for h in hits if h.exact and h.alias and not _BARE_NAME.match(compact, h.start)}
            candidates = self._blend(candidates, item_probs, named=named, written=written, bare=bare)
            if before and not candidates and not self.index.is_smalltalk(compact):
                return self._result(question, normalized, None, intent, "handoff", 0.0, [], "model_no_item")

        if not candidates:
            if self.index.is_smalltalk(compact, asked="?" in question or "？" in question):
                return self._result(question, normalized, None, "other", "smalltalk", 0.0, [], "smalltalk")
            return self._result(question, normalized, None, intent, "handoff", 0.0, [], "no_match")

        top = candidates[0]
        if (
            top.item == "tolerance"
            and "tolerance" in mentioned | {h.item for h in hits if h.exact}
            and not (intent == "department" or (intent in ("process", "time_limit", "other") and decided))
        ):
            # a question about the 容缺 topic is a tolerance question, unless it asks where, how, by when or what it is
            intent = "tolerance"
        gap = top.score - (candidates[1].score if len(candidates) > 1 else 0.0)
        faq = None
        learned = False
        if faq_entry is not None and faq_entry.item == top.item and faq_ratio >= EVIDENCE.faq_answer:
            faq, learned = faq_entry.faq, faq_entry.learned
        several = self._several_items(question, normalized, hits, intent, candidates)
        if several is None:
            several = self._clause_asks(question, normalized, hits, candidates)
        if several is not None and intent != "status":
            return several
        t = self.thresholds
        if top.score >= t.answer and gap >= t.min_gap and item_probs:
            doubt = self._doubt(
                top, candidates, item_probs, {h.item for h in hits if h.alias and not h.context} | named
            )
            if doubt is not None:
                if len(doubt) >= 2:
                    return self._result(question, normalized, top.item, intent, "clarify", top.score, doubt, "doubt")
                return self._result(question, normalized, None, intent, "handoff", top.score, candidates, "doubt")
        if top.score >= t.answer and gap >= t.min_gap:
            if intent == "status":
                return self._result(question, normalized, top.item, intent, "handoff", top.score, candidates, "status")
            answered = self._result(
                question, normalized, top.item, intent, "answer", top.score, candidates, "confident", faq, learned
            )
            return self._several_asks(answered)
        if top.score >= t.clarify:
            close = [c for c in candidates if top.score - c.score < t.min_gap][:3]
            if len(close) >= 2:
                offered = self._result(question, normalized, top.item, intent, "clarify", top.score, close, "ambiguous")
                first, second = (_written_at(hits, c.item) for c in close[:2])
                return replace(offered, first_written_first=True) if first < second else offered
        return self._result(question, normalized, None, intent, "handoff", top.score, candidates, "low_confidence")

    def _rank(self, hits: list[Hit], *, named: set[str], mentioned: set[str]) -> list[Candidate]:
        """Each item's best score, adjusted for how it was named; best first, then first named."""
        scores: dict[str, float] = {}
        first_seen: dict[str, int] = {}
        for hit in hits:
            if hit.score > scores.get(hit.item, 0.0):
                scores[hit.item] = hit.score
            if hit.start >= 0:
                first_seen[hit.item] = min(first_seen.get(hit.item, hit.start), hit.start)
        # Items named outright score alike and rank by where they are named: the first is the one asked about.
        for item in named:
            if item in scores and scores[item] >= EVIDENCE.named_floor:
                scores[item] = EVIDENCE.named
        # A topic named after an item is how the item is asked about (「水保能容缺吗」), not the subject;
        # named first (「跨省通办能办备案吗」) it is the subject.
        first_item = min(
            (first_seen.get(k, 10**6) for k in mentioned if k in scores and self.kb.items[k].kind == "item"),
            default=None,
        )
        if first_item is not None:
            for key in scores:
                if self.kb.items[key].kind == "topic" and first_seen.get(key, 10**6) > first_item:
                    scores[key] *= EVIDENCE.topic_after_item
        ranked = sorted(scores.items(), key=lambda kv: (-round(kv[1], 6), first_seen.get(kv[0], 10**6)))
        return [Candidate(item, min(score, 1.0)) for item, score in ranked[:5]]

    def _several_items(
        self, question: str, normalized: str, hits: list[Hit], intent: str, candidates: list[Candidate]
    ) -> MatchResult | None:
        """A message about several items: 「水保和林草分别几个工作日」 gets each (item, intent);
        「环评能和施工许可证并联办吗」 (running them together) the parallel topic and the first item's process."""
        text = compact_text(question)
        # A long message names items as background and asks about one, unless what it asks is whether they
        # run together (「…环评、能评、水保都还没开始，想问一下这几个是不是可以同时报」).
        together = _asks_together(asking_clause(normalized))
        # 「、」 is punctuation, gone from the compact text: the enumeration is read in the message as written
        # a list needs no mark when what it asks is whether they run together: 「环评 能评 水保这几个能不能同时报」
        listed = together or _SEVERAL.search(text) or _SEVERAL.search(question)
        if (len(text) > SEVERAL_CHARS and not together) or not listed:
            return None
        named = sorted((h for h in hits if self.index.outright(h) and not h.context), key=lambda h: h.start)
        items = list(dict.fromkeys(h.item for h in named))
        if len(text) > SEVERAL_CHARS:
            # 「…已经完成了备案，环评也在做，想问一下用地规划许可证和工程规划许可证能不能一起办」: the items of the
            # clause that asks, not those of the story before it
            clause = asking_clause(normalized)
            asked = self.index.named_items(clause)
            if together and len(asked) == 1:
                # 「…今年下半年要开工 想问环评 水保 用地预审能不能同时报」: the items listed right before it, spaces
                # between them, are asked whether they run together with it
                asked = [*self._listed_before(normalized, clause), *asked]
            if asked:
                named = [h for h in named if h.item in asked]
                # in the order the asking clause names them: 「…施工图正在审，消防设计审查是单独报还是跟图审一起报」
                # asks of 消防设计审查 first, though the story named the drawings earlier
                items = [i for i in asked if i in items]
        # 「工规证和施工证能不能按五证联发一起出」: the scheme that issues them together is what is asked, in the
        # parallel topic's place (the labelled questions naming 五证联发 with a together word: 79 of 80 ask of it)
        scheme = next((h.item for h in hits if h.item in _TOGETHER_SCHEMES and h.named and not h.context), None)
        if (
            len(items) == 1
            and "parallel" in self.kb.items
            and _asks_together(text)
            and MAY.search(text)
            and not TOGETHER_IF.search(text)  # 「一起报的话几天能批完」 asks how long
            and not LATIN_TOKEN.search(normalized)  # a partner in latin letters is named (by `PhraseIndex.latin_hits`)
        ):
            # 「人防和消防能一起审吗」「规划许可和施工图审查能一起走吗」: one item named outright and a partner joined to it
            # by 和/跟/与/同 that names none (消防, 规划许可: which one?) — whether they may run together, still
            start, end = name_span(named)
            before = text[: max(start - 1, 0)]
            # (「能和施工图审查一起报吗」 leaves out what goes with it: a follow-up's, read in its conversation)
            partner_before = start > 0 and text[start - 1] in PARTNER_MARKS and before not in ("", "那")
            # …or the others (「这个能跟别的手续并着做不」): whether it may run with the other procedures
            with_others = _WITH_OTHERS.search(text, end) is not None
            if (partner_before and not MAY.fullmatch(before)) or _PARTNER_AFTER.match(text, end) or with_others:
                together_by = Ask(scheme, "process") if scheme is not None else RUN_TOGETHER
                result = self._result(
                    question,
                    normalized,
                    together_by.item,
                    "process",
                    "answer",
                    candidates[0].score,
                    candidates,
                    "several",
                )
                return replace(result, asks=(together_by, Ask(items[0], "process")))
        if len(items) < 2:
            return None
        top = candidates[0]
        asks: tuple[Ask, ...]
        if scheme is not None and _asks_together(text):
            asks = (Ask(scheme, "process"), *(Ask(i, "process") for i in items if i != scheme))[:MAX_ASKS]
        elif _asks_together(text) and "parallel" in self.kb.items:
            # The parallel topic (what is asked: whether they run together), then each item asked how it runs (what
            # it needs first is in its process; two at most, MAX_ASKS in all: of 「环评、水保和能评能同时报吗」 the third
            # is left to a follow-up): 「能评能和环评并联吗」; with what the other clauses ask when there are such
            # (「水保和洪评能同时弄吗？分别找谁」).
            asks = self._together_and_more(normalized, items) or (
                RUN_TOGETHER,
                *(Ask(item, "process") for item in items[: MAX_ASKS - 1]),
            )
        else:
            asks = tuple(Ask(k, intent) for k in items[:MAX_ASKS])
        result = self._result(
            question, normalized, asks[0].item, asks[0].intent, "answer", top.score, candidates, "several"
        )
        return replace(result, asks=asks)

    def _listed_before(self, normalized: str, clause: str) -> list[str]:
        """The items named at the ends of the clauses right before `clause` (its last place in the message), in the
        order written: a list split by spaces (「想问环评 水保 用地预审能不能同时报」 before 用地预审's clause)."""
        clauses = [c for c in normalized.split(" ") if c]
        at = len(clauses) - 1 - clauses[::-1].index(clause)
        listed: list[str] = []
        for before in reversed(clauses[:at]):
            text = compact_text(before)
            ending = [h.item for h in self.index.span_hits(text) if self.index.outright(h) and h.end == len(text)]
            if not ending:
                break
            listed[:0] = ending[:1]
        return list(dict.fromkeys(listed))

    def _together_and_more(self, normalized: str, items: list[str]) -> tuple[Ask, ...] | None:
        """「水保和洪评能同时弄吗？分别找谁」「消防验收和竣工验收备案可以一起申请吗？消防验收收费不？」: a clause asking
        whether the items run together (the parallel topic) beside clauses asking something else, each about
        the items it names — or, said of them all (分别, 各, 都), every item named. None when a clause that asks
        cannot be read so (no sure intent, no item, a status question): the together reading alone then."""
        asks: list[Ask] = []
        asking = 0
        for clause in (c for c in normalized.split(" ") if c):
            if not asks_something(clause):
                continue
            asking += 1
            if _asks_together(clause) and not _ALSO.search(clause):
                asked_together = RUN_TOGETHER
                if asked_together not in asks:
                    asks.append(asked_together)
                continue
            asked = self._clause_intent(clause)
            # the items this clause names (the message's hits keep one place per item: 「…用规证…？用规证要啥材料」)
            here = [item for item in self.index.named_items(clause) if item in items]
            if not here and EACH.search(clause):
                here = items
            if asked is None or asked == "status" or not here:
                return None
            asks += [Ask(item, asked) for item in here if Ask(item, asked) not in asks]
        if asking < 2 or RUN_TOGETHER not in asks:
            return None
        return tuple(asks[:MAX_ASKS])

    def _clause_asks(
        self, question: str, normalized: str, hits: list[Hit], candidates: list[Candidate]
    ) -> MatchResult | None:
        """「消防验收去哪个窗口？竣工验收备案又在哪办？」「可研批复要几天？初步设计呢？」: two or more clauses
        that ask, each naming its own item (or none, or ending in 呢: the clause before's); one ask per clause,
        in the order written. A clause naming several items, a status ask or an ask without an item is left
        to the rest of the matcher."""
        if len(compact_text(question)) > CLAUSE_ASKS_CHARS or not candidates:
            return None
        named = [h for h in hits if self.index.outright(h) and h.named and not h.context]
        asks: list[Ask] = []
        item: str | None = None
        intent: str | None = None
        asking_clauses = 0
        at = 0
        clauses = [c for c in normalized.split(" ") if c]
        # 「…环评批复还要等几天 想问下节能审查要多久」: what comes before 想问 is the story, not the questions
        marked = max((i for i, c in enumerate(clauses) if _ASK_MARKER.search(c)), default=0)
        if sum(1 for c in clauses[marked:] if c.endswith("呢") or asks_something(c)) < 2:
            return None  # at most one clause can ask: the loop below would find fewer than two asks
        for index, clause in enumerate(clauses):
            start, at = at, at + len(clause)
            if index < marked:
                continue
            here = {h.item for h in named if start <= h.start < at}
            elliptic = clause.endswith("呢")
            if not (asks_something(clause) or (elliptic and asks)):
                continue
            if not here and not asks and _ASK_MARKER.search(clause) and self._clause_intent(clause) in (None, "other"):
                continue  # 「我想问三个事：环评多少天，水保多少天…」: the announcement, not an ask
            if len(here) > 1:
                return None
            bare = "".join(ch for i, ch in enumerate(clause) if not any(h.start <= start + i < h.end for h in named))
            if elliptic and asks and not bare.strip(_ELLIPSIS_FILLERS):
                asked: str | None = intent  # 「水保呢」: nothing but the item, the clause before's question again
            else:
                asked = self._clause_intent(clause) or (intent if elliptic else None)
            item = next(iter(here), item)
            if asked is None or item is None or asked == "status":
                return None
            asking_clauses += 1
            intent = asked
            if Ask(item, asked) not in asks:
                asks.append(Ask(item, asked))
        if asking_clauses < 2 or len({a.item for a in asks}) < 2:
            return None
        asks = asks[:MAX_ASKS]
        result = self._result(
            question, normalized, asks[0].item, asks[0].intent, "answer", candidates[0].score, candidates, "several"
        )
        return replace(result, asks=tuple(asks))

    def _several_asks(self, result: MatchResult) -> MatchResult:
        """「施工许可证在哪办,要多久」: one item, each clause that asks something gives an intent."""
        if result.item is None:
            return result
        intents: list[str] = []
        clauses = [c for c in result.normalized.split(" ") if c and asks_something(c)]
        for clause in clauses if len(clauses) >= 2 else ():
            asked = self._clause_intent(clause)
            if asked and asked not in intents:
                intents.append(asked)
        if len(intents) >= 2 and result.intent in intents:
            intents.remove(result.intent)
            asks = tuple(Ask(result.item, i) for i in [result.intent, *intents][:MAX_ASKS])
            return replace(result, asks=asks)
        return result

    def _doubt(
        self, top: Candidate, candidates: list[Candidate], probs: dict[str, float], named: set[str]
    ) -> list[Candidate] | None:
        """Whether the model doubts the top item: None when not, else the candidates to offer (one: hand off).

        The model's most probable item is another one, well ahead of the top item (the message names an item
        as background and describes the one it asks about: 「交完土地出让金以后拿的那个证」); or no name of the
        top item is in the message and the model is unsure of it."""
        w = self.weights
        p_top = probs.get(top.item, 0.0)
        best = max((k for k in probs if k != NO_ITEM and k in self.kb.items), key=probs.__getitem__, default=None)
        if best is not None and best != top.item and probs[best] - p_top >= w.disagree:
            other = next((c for c in candidates if c.item == best), Candidate(best, w.alone * probs[best]))
            return [top, other]
        if top.item not in named and p_top < w.alone_answer:
            return [top]
        return None

    def intent_said(self, text: str) -> str | None:
        """The aspect a message's own words ask (「那时限」 time_limit, 「是水利局办吧」 department), None when they
        name none (「环评」「是的」): `wording.clause_intent` of the whole message."""
        return self._clause_intent(compact_text(text))

    def _clause_intent(self, clause: str) -> str | None:
        """What one clause asks (`wording.clause_intent`)."""
        return clause_intent(clause, self.model, self.weights.clause_intent)

    def _blend(
        self,
        candidates: list[Candidate],
        probs: dict[str, float],
        *,
        named: set[str],
        written: set[str],
        bare: frozenset[str] | set[str] = frozenset(),
    ) -> list[Candidate]:
        """Join the exact evidence with the model's item probabilities (see Weights). `written`: the items
        whose name is in the message as written (not typed by sound: a typo is not a word the model knows); `bare`:
        those of them written only by a name that is a procedure word alone (备案, 备案证)."""
        w = self.weights
        p_none = probs.get(NO_ITEM, 0.0)
        near_miss = (
            p_none >= (w.no_item_bare if candidates and candidates[0].item in bare else w.no_item_sure)
            and bool(candidates)
            and candidates[0].item in written
            and self.model is not None
            and self.model.item_questions.get(candidates[0].item, 0) >= w.known_questions
        )
        if near_miss or (p_none >= w.no_item and not any(c.score >= w.evidence for c in candidates)):
            return []
        rule = {c.item: c.score for c in candidates}
        keys = set(rule) | {k for k, p in probs.items() if p >= w.floor and k in self.kb.items}
        scored = {k: max(rule.get(k, 0.0), w.alone * probs.get(k, 0.0)) + w.bonus * probs.get(k, 0.0) for k in keys}
        order = {c.item: i for i, c in enumerate(candidates)}
        ranked = sorted(scored.items(), key=lambda kv: (-round(kv[1], 6), order.get(kv[0], 99)))
        return [Candidate(item, min(score, 1.0)) for item, score in ranked[:5]]

    def _faq_hit(self, compact: str) -> tuple[_FaqEntry | None, float]:
        faqs, texts = self._faq_table
        if not texts or len(compact) < 4:
            return None, 0.0
        best = process.extractOne(compact[:200], texts, scorer=fuzz.ratio, score_cutoff=EVIDENCE.faq_cutoff)
        if best is None:
            return None, 0.0
        return faqs[best[2]], float(best[1])

    @staticmethod
    def _result(
        question: str,
        normalized: str,
        item: str | None,
        intent: str,
        action: str,
        confidence: float,
        candidates: list[Candidate],
        reason: str,
        faq: Faq | None = None,
        learned: bool = False,
    ) -> MatchResult:
        return MatchResult(
            question=question,
            normalized=normalized,
            item=item,
            intent=intent,
            action=action,
            confidence=round(min(confidence, 1.0), 4),
            candidates=tuple(candidates),
            reason=reason,
            faq=faq,
            learned=learned,
        )
