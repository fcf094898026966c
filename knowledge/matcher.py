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

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from threading import Lock

from rapidfuzz import fuzz, process

from knowledge.context import ASKED_WITHOUT_ITEM, Context
from knowledge.intents import classify_intent, cue_book, read_cues
from knowledge.model import Faq, KnowledgeBase
from knowledge.model_text import NO_ITEM, TextModel, asking_clause
from knowledge.normalize import compact as compact_text
from knowledge.normalize import has_cjk, normalize, normalize_many
from knowledge.pinyin import is_word, key_of, latin_pinyin, syllable

ACTIONS = ("answer", "clarify", "handoff", "smalltalk")
FOLLOW_UP_CHARS = 14  # a follow-up that borrows from the previous question is short
OWN_INTENT_SURE = 0.5  # a 「…呢」 follow-up asks its own question when the model reads it this surely
DOCUMENT_FOLLOW_UP_CHARS = 24  # 「施工图审查合格书我们还没拿到，能先受理吗」: a follow-up about one of its documents
DOCUMENT_GRAM = 4  # characters a message shares with a material's name to name that document
MAX_ASKS = 3
SEVERAL_CHARS = 30  # several items are asked about in a short message; a long one names them as background
CLAUSE_ASKS_CHARS = 40  # clauses that each ask about their own item: 「消防验收去哪个窗口？竣工验收备案又在哪办？」
_NEVER_INHERIT = frozenset({"out_of_scope", "smalltalk", "empty", "learned", "project_status"})
# A report or a paper of the earlier procedure, though its name is out of scope (「竣工测量报告要找有资质的单位吗」).
_PAPER = re.compile(r"报告|证明|意见书|协议|合同|凭证|发票")
# 「不是环评，是能评」「我说的是林草」「搞错了」: the asker corrects what the bot took the earlier question to be about
# (是不是 is a question, 不是说…吗 a doubt, 对不对 a question, 不对外 no correction; 写错/打错 are of documents).
_CORRECTION = re.compile(
    r"(?<!是)不是(?!说)|(?<!对)不对(?!外|应)|[搞弄说看]错|我(?:问|说|指|想问)的是|我是(?:问|说|指)"
)
# Two short phrases set against each other: 「报告表 不是报告书」「我们是报告表 不是报告书」「不是环评 是能评」.
_CONTRAST = re.compile(r"(?:我们|我)?(?:是|要|做|办)?[^ ]{1,10} 而?不是[^ ]{1,10}|不是[^ ]{1,10} 而?是[^ ]{1,10}")
# 「…那个呢」「…的呢」: the same question again, about something else
_ELLIPSIS = re.compile(r"(那个|这个|的)?呢$|那个呢|那呢|呢[?？]?$")
# 「网上办还是窗口办」「是自治区批还是市里批」: a choice offered is asked, where a message asks several things.
# 还是 meaning "still" (「我还是第一次办」「还是得先做环评」) offers no choice.
_ALTERNATIVE = re.compile(r"[^我你他她它们也都就]还是(?!要|得|想|会|不|没|第一次|先|在)(?=.)")


def _asks(clause: str) -> bool:
    """Whether one clause of a message asks something (for reading several asks)."""
    return bool(cue_book().question_mark.search(clause) or _ALTERNATIVE.search(clause))


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
# A procedure of its own named in the message (one the knowledge base lacks): not a follow-up.
_OWN_SUBJECT = re.compile(
    r"许可|审批|审查|审核|执照|(?<![拿出发领办取到])证|登记|备案|评价|评估|手续|验收|认证|资质|经营|预售"
)
# The last word of a procedure's name: 「林木采伐许可证」「招投标备案」 name a procedure of their own when the
# words before it are not a name of the knowledge base.
_PROCEDURE_WORD = re.compile(r"(许可证|许可|审批|备案|验收|资质)(?!平台|系统|监管|中心|窗口|大厅|局|科|处)")
_PROCEDURE_WORDS = frozenset({"许可证", "许可", "审批", "备案", "验收", "资质"})
# A character before a procedure word that ends no name (「我们备案」「的审批」「做验收」「那个书审批」).
_NOT_A_NAME_END = frozenset(
    "的了们个做办去要先再和跟与及于在还已都也就么啥吗能可请问这那把给被对该此其每各得过完好书块边面里哪儿刚走"
)
# Words before a procedure word that say how it is done, not which procedure (「政府审批」「在线审批」).
_GENERIC_BEFORE = frozenset(
    {
        "政府",
        "部门",
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
    }
)
# Asking whether several procedures can run together: the parallel topic.
_TOGETHER_WORDS = "一起|同时|并联|同步|并行|一块|合并|(?<=[能以否])联合"  # 「可以联合验收吗」, not the name 联合验收
_TOGETHER = re.compile(_TOGETHER_WORDS)
_ALSO = re.compile(r"同时(要|需|还|也|得)")  # 「…能一起报吗？同时要准备什么材料」: "also", not "together"
# Where a message turns from its story to its questions: 「…想问下节能审查要多久」.
_ASK_MARKER = re.compile(r"想问|请问|问下|问一下|咨询")
# A clause asking the same of every item named before it: 「…分别找谁」「各需要多长时间」「都归水利吗」.
_EACH = re.compile(r"分别|各自|各(?!位|种|类)|都(?!不|没|是)")
# Connectors between several items asked about at once.
_SEVERAL = re.compile(r"和|跟|与|及|、|还有|以及|分别|各|或者|还是")

_LATIN_TOKEN = re.compile(r"[a-z]+")
# Question words begin no name of the knowledge base: a sound-alike starting with one is what it says.
_INTERROGATIVES = frozenset("谁哪啥咋怎")
_PARTICLES = frozenset("吗呢吧啊呀嘛")  # sentence-final particles: no name typed by sound ends a message with one
# After an item's name: it is already done or only a point in time, not what is asked.
_CONTEXT_AFTER = re.compile(
    r"((?:(?!报告|方案|材料|资料|意见|文件).){0,6}?(已经|已|也|都|早就|早)|批复|批文|意见书|合格书|合格证)?(批|办|拿|做|审|搞定|完成|签|交|缴|付|过|弄|编)(完|好|了|下来了|过|到|清)(?!了?[没吗么呢哪])"
    r"|(之后|以后|后|之前|以前|前)(?!置)|完了|批复后|批了(?![没吗么])|(已经)?有了(?=$|还|就|接下来|下一步|那|然后)|(证|批复|批文|意见书|意见)?(已经)?下来了(?![没吗么呢])|都卡着|卡着|卡住"
)
# After an item's name: it is had (「项目代码有了 还要啥」「环评批复拿到了 还差啥」), not a point in time (「备案以后」).
_HAD_AFTER = re.compile(
    r"(批复|批文|意见书|意见|合格书|证)?(已经|已|都|早就|也)?(有了|拿到了?|批了|批下来了?|办完了?|办好了?|下来了|搞定了?)"
    r"(?=还)"  # … and what else is asked next (「还要啥」): of the earlier item, not what comes after it
)
# After an item's name: it is not obtained yet (「人防意见还没拿到，工规证能先受理吗」): the missing precondition of
# what is asked, when the message asks about another item or follows one.
_NOT_YET_AFTER = re.compile(
    r"(意见|批复|批文|手续|证|报告|方案)?(还没有|还没|没有|没|尚未|还未|未)(拿到|取得|下来|出来|批下来|批复|批|办下来|办好|办完)"
)
# Right after a procedure's name: what that procedure issues (「消防验收意见书」「可研批复」), a document another
# procedure asks for.
_ISSUED_DOCUMENT = re.compile(r"(审批|审查)?(意见书|意见|批复|批文|合格书|合格证|证明|凭证|合同|协议)")
# 「要附施工图吗」「附上出让合同」: attached to the application, so what it names is a paper, whatever it is named after.
_ATTACHED = re.compile(r"附上|附件|(要|需|得)附(?!近)|附吗|附不")
# The form a document is handed in.
_DOCUMENT_FORM = re.compile(r"原件|复印件|副本|盖章|签字|电子版|扫描件|几份|几套|" + _ATTACHED.pattern)
# A follow-up asking whether, or in what form, a document is handed in.
_DOCUMENT_ASKED = re.compile(
    _DOCUMENT_FORM.pattern
    + r"|要交|也要|交吗|要带|必须带|带吗|提供|必须|需要吗|要不要|^(还)?(需要|用不用)(?!先)(?!.*(一起|同时|并联|同步|并行|一块|合并)).+(吗|不)$"
)
# Procedure words that say no procedure by themselves: whose 备案 it is, the conversation says.
_BARE_PROCEDURE_WORDS = frozenset({"备案", "核准", "审批", "验收", "登记"})
# Procedures going ahead: 「能一起报不」「能同时弄不」「并着走」 (not 「纸质和电子版同时交」: a document question).
_TOGETHER_IF = re.compile(f"({_TOGETHER_WORDS}).{{0,3}}的话")  # 「一起审的话」「同时报的话」: if they run together
# 一并 and 并着 only before such a verb: 「材料一并提交吗」 is about documents
_TOGETHER_GOES = re.compile(f"({_TOGETHER_WORDS}|一并|并着)(报|办|走|弄|做|审|批|申请|推进|搞|整)")
# …not people going together, several projects, or the online portal (「能和老板一起去办吗」「一期二期能一起报不」)
_NOT_PROCEDURES = re.compile(r"项目|一期|二期|三期|网上|线上|老板|我们|人(?!防)|同事")  # 人防 is a procedure
_PEOPLE_TOGETHER = re.compile(r"(老板|同事|领导|一个人|俩人|几个人).{0,4}(一起|一块|同时)|(一起|一块)去(?!哪)")
_SEVERAL_PROJECTS = re.compile(r"(两|几|多|俩|这些|那些)个?项目|一期|二期|三期|分期")


def _asks_together(text: str) -> bool:
    """Whether a text asks about procedures running together (「一起」「同时」; 「一并报」「并着走」)."""
    return bool(_TOGETHER.search(text) or _TOGETHER_GOES.search(text))


# A document named: 「营业执照副本」「出让合同」「完税证明」「公众参与说明」「概算书」.
_DOCUMENT_NOUN = re.compile(r"执照|合同|证明|凭证|报告|意见|说明|图|书|表|方案|证|批复|票据|发票|协议|文件|材料|函")
# A follow-up asking whether a procedure is done, not how a document is handed in.
_DOES_A_PROCEDURE = re.compile(r"(要|也要|必须|需要|得)(先)?(做|办|报|申请|评|审|改)|变更")
# Whether they may (「能一起报不」「可以同时办吗」「一起走行不」), not whether they are (「是不是跟着一起审」: how the item
# is handled, the item's process).
_MAY = re.compile(r"能|可以|可不可以|行不|行吗|行不行|成不")
# A follow-up asking whether the earlier item goes ahead without a document.
# 「…签完以后才能办是吧」: what must be done before the procedure the conversation is about (its name left out).
_ONLY_AFTER = re.compile(
    r"((以后|之后|后|完)才|(了|完|好|到)(就|才))(能|可以)(办|报|申请|领|拿|批|做)理?(了)?(吗|吧|是吧|不|呢|啊)?$"
)
# 「…包含在里面吗」「…算其中一个吗」「…也在里头吗」: whether something is one of the earlier item's (certificates,
# documents, steps).
_AMONG = re.compile(
    r"(包含|包括|算)(在)?(里面|里头|其中|这里面|这里头|之内|在内|之列)|(也|都)在(里面|里头|其中|之列)"
    r"|(算|是)(其中|里面)的?(一个|一项|之一)"
)
# 「这两个」「这俩」「这三个」「两个都」: the last items spoken of.
_ALL_OF_THEM = re.compile(r"(那|那么)?(都|全都|全部)(?![不没])")  # 「都发改委批吗」「都网上?」 at the start
_THESE = re.compile(r"这(两|俩|三|仨)个?|^(两|三)个|(两|三)个都|它俩")
# The works themselves going ahead (not another procedure): 「能先动土不」「可以先开工吗」.
_WORK_AHEAD = re.compile(r"先(动土|动工|开工|施工|进场|开挖|平整|建|盖|试生产|生产|投产|营业|用)")
# 「第一个要多长时间」「刚才说的第二个呢」: one of the items spoken of, by its place in the conversation.
_ORDINAL = re.compile(
    r"(?:第(一|二|三|1|2|3)个|头一个|(最后|最末)(?:一|那|这)?个(?!环节|步骤|阶段|流程|问题|材料|文件|附件|资料|表))(?![工月星证本])"
)
_ORDINAL_PLACE = {None: 0, "一": 0, "1": 0, "二": 1, "2": 1, "三": 2, "3": 2}  # None: 头一个 (最后那个: the last)
# 「前面那个多久」 after 取水许可 and then 洪评: the one before the last, of the last two; 「后面那个」 the last
_BEFORE_OR_AFTER = re.compile(
    r"(?<![最然之以随])(?:(前面|前头|上一)|(后面|后头|后一))(?:那|这)?个"
    r"(?!环节|步骤|阶段|流程|问题|材料|季度|礼拜|星期|周|月|人|次|工|证|本)"
)
# 「先办这个还是先环评」「谁先谁后」「哪个在前」: which of two comes first.
_ORDER_CHOICE = re.compile(r"先.{1,10}还是.{0,3}先|谁先谁后|哪个(先|在前)|先后顺序")
# 「这个代码」「那个证」「该报告」: pointing at something already spoken of.
_POINTER = re.compile(r"这个|那个|该")
# Words many items' names share: after a pointer they point at no item in particular (「这个项目」).
_SHARED_WORDS = frozenset(
    {"项目", "建设", "工程", "施工", "审批", "审查", "许可", "申请", "手续", "报告", "验收", "评估", "评价"}
)
# 「核准前要先做…」: before the item just named, something needed first; 「(办|报|申请)核准前」 (_BEFORE_HEAD).
_BEFORE_NEEDED = re.compile(r"(之前|以前|前)(是不是|是否)?(需要|要|得|必须)(先)")
_NEEDS_FIRST = re.compile(r"(是不是|是否)?(需要|要|得|必须)先(拿到|取得|拿|有|办完|办)")
_BEFORE_NAMED_NEEDED = re.compile(r"(之前|以前)(?P<first>.{2,12}?)(是不是|是否)?(需要|要|得|必须)先")
_BEFORE_HEAD = re.compile(
    r"(?:明白了?|好的|好|行|了解|收到|对了|哦)?(?:那|那么)?(请问|问下|问一下)?(我们)?(办|报|申请|做|办理)?"
)
# Right after a name: it is done (「出让合同签了就能办吗」: the paper signed is what the earlier item waits for).
_DONE_RIGHT_AFTER = re.compile(r"(签|办|拿|批|交|做|审|缴)(了|完|好|下来)")
# A procedure named as not done yet (「消防验收没完成」「图审还没完」) or as what must come first (「需要先拿到用地预审意见吗」):
# in a follow-up it is what the earlier item waits for, not what is asked about.
_ALSO_TOGETHER = re.compile(f"也(是)?({_TOGETHER_WORDS})")
_NOT_DONE_YET = re.compile(
    r"(还|都|也)?(没|未|没有|还没)(有)?(完成|完|办完|办好|弄完|做完|审完|批|下来|出来|拿到|通过|过|出结果|出(?!现|问题|让|差|去|门)|结束)"
)
_FIRST_NEEDED = re.compile(r"(需要|要|得|必须|是不是)(先)(把|拿到|取得|拿|有|办|办完|做|做完|批|报|审)")
# 「顺便问下」「另外问一下」「还有个事」: a new matter, not a follow-up of the earlier one.
# (「另外还要交什么」 asks more of the same matter: 另外 counts only before 问, 咨询…)
_NEW_MATTER = re.compile(
    r"^(对了|那个|老师)?((顺便|顺带|另外)(再)?(问|咨询|请教|打听)|还有(个|一个|件)事|再问(个|一个)(别的|其他)?|换个问题|另一个问题)"
)
_WITHOUT_IT = re.compile(
    r"容缺|先受理|先报|先办|先收|后补|晚点交|晚些交|以后再交|后交|缓交"
    # 「没有施工图审查合格书能办吗」 (not 「没有问题可以办吗」「没时间过去能申请吗」)
    r"|^(?!没有?(问题|事|时间|空|搞|弄|明白|懂|想|听))没有?.{2,14}(能|可以|行)(不能)?(办|报|受理|申请|批)"
)
# Before an item's name: it is excluded or already under way, not what is asked.
_CONTEXT_BEFORE = re.compile(
    r"(不涉及|不需要|不用|不属于|不是|无需|不做|没有涉及|正在做|在做|正在办|在办|已取得|已经取得|取得了|拿到了|已经拿到|已拿到)$"
)
_FILLER = re.compile(
    r"请问|麻烦|问一下|问下|打扰|您好|你好|老师|管家|小助手|机器人|各位|大家|一下|的|了|吗|呢|啊|呀|吧|哈|嘛|哦|噢|嗯|额|呃|么"
)


def _occurrences(phrase: str, text: str) -> list[tuple[int, int]]:
    """The spans of every occurrence of `phrase` in `text`."""
    spans, at = [], text.find(phrase)
    while at >= 0:
        spans.append((at, at + len(phrase)))
        at = text.find(phrase, at + 1)
    return spans


def _clause_starts(normalized: str) -> set[int]:
    """Where each clause begins in the text without spaces."""
    starts, at = set(), 0
    for clause in normalized.split(" "):
        if clause:
            starts.add(at)
            at += len(clause)
    return starts


def _background_spans(normalized: str, *, done: bool = False) -> list[tuple[int, int]]:
    """The spans (in the text without spaces) of the clauses that ask nothing, when another clause asks;
    with `done`, only those that state something already done (「核准批复拿到了」)."""
    book = cue_book()
    spans, asking, at = [], False, 0
    for clause in normalized.split(" "):
        if not clause:
            continue
        if book.question_mark.search(clause):
            asking = True
        elif not done or book.done_clause.search(clause):
            spans.append((at, at + len(clause)))
        at += len(clause)
    return spans if asking else []


@dataclass(frozen=True)
class Thresholds:
    answer: float = 0.62
    clarify: float = 0.45
    min_gap: float = 0.12


@dataclass(frozen=True)
class Evidence:
    """The scores of the exact evidence, each named (0-1; an item's score is its best hit's)."""

    alias_base: float = 0.80  # an alias written in the message: base + per_char * min(length, max_chars)
    alias_per_char: float = 0.04
    alias_max_chars: int = 5
    hint_base: float = 0.64  # a hint phrase: weaker than any alias of two characters or more
    hint_per_char: float = 0.02
    hint_max_chars: int = 7
    named: float = 0.95  # items named outright score alike and rank by where they are named
    named_floor: float = 0.8  # … when their best hit reaches this
    sound: float = 0.92  # the phrase typed with homophones (施工许可正): factor on its score
    gapped: float = 0.9  # one stray character inside the phrase
    latin: float = 0.9  # written in latin letters (EIA, shigong xuke)
    fuzzy: float = 0.85  # a rapidfuzz partial-ratio near miss: factor on ratio / 100
    fuzzy_cutoff: int = 75
    fuzzy_long_cutoff: int = 80  # for phrases of five characters or more
    department_one: float = 0.7  # a department named that has one item
    department_few: float = 0.5  # … two or three items (more: no evidence)
    department_few_max: int = 3
    faq_cutoff: int = 72  # a close FAQ question: from faq_base at the cut-off to faq_base + faq_span at 100
    faq_base: float = 0.45
    faq_span: float = 0.5
    faq_answer: int = 85  # ratio from which the FAQ's own answer is given
    context: float = 0.6  # factor on an item named as done or as a point in time (「可研批完后」)
    contained: float = 0.9  # a hit inside a longer hit of another item scoring at least this share is dropped
    topic_after_item: float = 0.8  # factor on a topic named after an item (「水保能容缺吗」)


EVIDENCE = Evidence()


@dataclass(frozen=True)
class Weights:
    """How the learned model's item probability p joins the exact evidence's score r of an item.

    score = max(r, alone * p) + bonus * p: an item named in the message keeps its score and the model
    orders close calls; an item only described (「地下有矿的那个手续」) can reach the answer threshold
    on the model alone when it is sure. With p(no item) >= no_item and no strong exact evidence, it is
    handed off.
    """

    alone: float = 0.9
    bonus: float = 0.1
    no_item: float = 0.5
    floor: float = 0.05  # model-only candidates below this probability are not offered
    evidence: float = 0.8  # exact evidence this strong (an alias, also typed by sound) outweighs p(no item)
    # … unless the model is this sure the message is about no item although the top item's name is written
    # in it: a near miss built on the name (「人防工程监理资质怎么申请」「招标文件要去哪里备案」). A name typed
    # by sound (「换评」) is no word the model knows, so its p(no item) says nothing. Chosen by leaving each
    # blind set out (README).
    no_item_sure: float = 0.7
    # … and only for an item the model learned questions about (a new item of an operator's knowledge base,
    # known by its names alone, is no near miss the model could tell).
    known_questions: int = 10
    # The gate: an answer the model doubts is not given automatically (a wrong answer is the worst outcome,
    # a handoff the safe one). Chosen by 5-fold cross-validation over all labelled questions so that wrong
    # answers stay under 1% of automatic answers (README, "The matcher").
    disagree: float = 0.3  # the model's own item beats the top item by this much: clarify between the two
    alone_answer: float = 0.5  # an item no name of which is in the message is answered from this probability
    clause_intent: float = 0.5  # each clause of a message asking several things gives its intent from this probability
    # A procedure named by its own words (「林木采伐许可证」) is handed off as a matter the knowledge base lacks,
    # unless the model is this sure of one item (「属于备案类项目…提交备案以后」「环评报告书审批」: the words are
    # the item's own; chosen by 5-fold over all labelled questions).
    foreign_overrule: float = 0.5


@dataclass(frozen=True)
class Ask:
    item: str
    intent: str


# Whether procedures run together: the parallel topic, asked how it goes.
_RUN_TOGETHER = Ask("parallel", "process")
# What may stand around an item's name given as the item of the earlier question (「就是用地预审那个」「环评的呢」);
# "|" is where the name was.
_ONLY_FILLER = re.compile(
    r"(我说的是|我问的是|问的是|说的是|就是|是|那个|这个|那)*\|(的|那个|这个|呢|吧|啊|呀|哈|嘛|了)*"
)
_WHAT = re.compile(r"上?(些)?(啥|什么|哪些|哪几)")  # 「要附啥」「附上哪些」: asks what is attached
_OF_THE_MECHANISM = frozenset({"materials", "process", "time_limit", "department"})  # what 容缺 itself asks of
_ACKNOWLEDGED = re.compile(
    r"(好的|好嘞|好|行吧|行|谢谢|感谢|多谢|收到|明白|了解|知道了|ok|嗯)+(老师|管家|您|你|了|啊|哈|哦|呀)*"
)
_ASKING_END = re.compile(r"[嘛吗吧]$")  # 「要弄好久嘛」: a question by its last particle
_PARTNER_MARKS = "和跟与同"  # 「A和B」「跟B」: B goes with A
_PARTNER_AFTER = re.compile(r"[和跟与]|同(?!时|步|一)")  # 「人防和…」 (not 「人防同时…」)
_CHANNEL_TOPIC = "online_portal"  # where procedures are applied for: in a follow-up, the earlier item's way
_CHANNEL_BEFORE = re.compile(r"(在|从|通过|到|去|用|走|上)$")
# 电子证照 is a name of the portal, and the form an approval is issued in: 「批完是电子证照吗」「还是电子证照」
_E_CERTIFICATE_FORM = re.compile(r"(是|发|出|给|领|拿|下|还是|有)电子证照")
# Topics that are ways of applying, not procedures: 容缺 asked after one of them is the mechanism's own question
# (「有个附件暂时没有 系统不让提交 能容缺吗」 after 一网通办), as it is when asked of every item (「所有事项都能容缺吗」).
_CHANNELS = (_CHANNEL_TOPIC, "cross_province")
_EVERY_ITEM = re.compile(r"(所有|全部)的?(事项|手续|审批)")


@dataclass(frozen=True)
class Candidate:
    item: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    question: str
    normalized: str
    item: str | None
    intent: str
    action: str
    confidence: float
    candidates: tuple[Candidate, ...]
    reason: str
    faq: Faq | None = None
    learned: bool = False
    asks: tuple[Ask, ...] = ()  # when the message asks several things: each (item, intent), in order
    context: bool = False  # a part (item or intent) came from the asker's previous question
    # The asker moved on to a matter of its own the knowledge base lacks (set by `Matcher.in_context`): a follow-up
    # next continues that matter, so the earlier context is not borrowed.
    leaves_context: bool = False
    # Asked with its item missing and no earlier item to take (set by `Matcher.in_context`): 「这个要多久」 with
    # nothing before it — a next message naming only an item (「环评」) completes it.
    wants_item: bool = False
    # The item was picked among those spoken of by its place (「第一个」「后面那个」, set by `Matcher._by_ordinal`): the
    # conversation's items keep their order, so 「第二个呢」 next counts as 「第一个」 did.
    by_place: bool = False

    def context_after(self) -> Context | None:
        """What a follow-up may borrow from this result: the item and intent answered (the last ask; of several
        items, the first), if any;
        after a message that asks only whether procedures run together (「环评和水保能同时报吗」), the parallel
        topic (「具体怎么操作」 next is about running them together)."""
        if self.wants_item:
            return Context(ASKED_WITHOUT_ITEM, self.intent)  # 「这个要多久」: its item may come next (「环评」)
        if self.action == "clarify" and self.item is not None and not self.asks and len(self.candidates) > 1:
            others = tuple(c.item for c in self.candidates[1:2] if c.item != self.item)
            return Context(self.item, self.intent, others, offered=bool(others))
        if self.item is None or not (self.action == "answer" or self.reason == "status"):
            return None
        last = self.asks[-1] if self.asks else Ask(self.item, self.intent)
        at_once = len({a.item for a in self.asks}) > 1 and _RUN_TOGETHER not in self.asks
        if at_once:
            # 「洪评和取水许可分别要多久」 then 「都是水利局办吗」「需要多少天」: the writers' follow-ups take the first
            # item asked about (the guard: 5 turns right that took the last, none wrong)
            last = self.asks[0]
        together = (
            self.reason == "several" and self.asks[0] == _RUN_TOGETHER and all(a.intent == "process" for a in self.asks)
        )
        if together:
            last = _RUN_TOGETHER
        # the other items asked about at once are the conversation's too (「这两个能一起报吗」 next names them): of a
        # together question last first, as before; of several items, in the order written (「第一个」 is the first)
        asked = self.asks if at_once else tuple(reversed(self.asks))
        others = tuple(dict.fromkeys(a.item for a in asked if a.item not in (last.item, "parallel", None)))
        return Context(
            last.item,
            last.intent,
            others,
            together=together and bool(others),
            at_once=len(others) if at_once else 0,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "item": self.item,
            "intent": self.intent,
            "action": self.action,
            "confidence": round(self.confidence, 3),
            "candidates": [{"item": c.item, "score": round(c.score, 3)} for c in self.candidates],
            "reason": self.reason,
            "asks": [{"item": a.item, "intent": a.intent} for a in self.asks],
            "context": self.context,
        }


@lru_cache(maxsize=4096)  # bounded: a knowledge base reloaded with other names leaves its old phrases behind
def _gapped(text: str) -> re.Pattern[str]:
    """A pattern of the phrase with at most one stray character between any two of its characters."""
    return re.compile(".?".join(re.escape(ch) for ch in text))


@dataclass(frozen=True)
class _Phrase:
    text: str
    item: str
    base: float
    pinyin: str | None
    kind: str = "alias"  # "alias" (a name of the item) or "hint" (points to it without naming it)
    # with one stray character allowed between its characters (phrases of 4+ characters): compiled when first
    # read (`_gapped`): compiling all ~600 at start-up cost ~0.07 s, and a question reads only the few phrases
    # whose first character it holds
    gapped: bool = False


@dataclass
class _Hit:
    item: str
    score: float
    start: int = -1
    end: int = -1
    exact: bool = False  # the phrase itself is in the text (its span can hide intent cues)
    named: bool = False  # the item is named outright, possibly with a typo or in latin letters
    context: bool = False  # named as done, excluded or under way (「可研批完后」): not what is asked
    covers: tuple[tuple[int, int], ...] = ()  # combo hits: the spans of their parts
    alias: bool = False  # a name of the item, also typed by sound or with a stray character


def _name_span(hits: list[_Hit]) -> tuple[int, int]:
    """Where the first of these names is written: its start, and the end of the longest one starting there
    (「用地预审」 over 「预审」)."""
    start = min(h.start for h in hits)
    return start, max(h.end for h in hits if h.start == start)


@dataclass
class _FaqEntry:
    normalized: str
    item: str | None
    faq: Faq
    learned: bool = False


def _alias_score(length: int) -> float:
    e = EVIDENCE
    return e.alias_base + e.alias_per_char * min(length, e.alias_max_chars)


def _hint_score(length: int) -> float:
    e = EVIDENCE
    return e.hint_base + e.hint_per_char * min(length, e.hint_max_chars)


@dataclass
class _Index:
    phrases: list[_Phrase] = field(default_factory=list)
    # Every way a phrase matches (the text, its pinyin key, the gapped pattern) starts with its
    # first character or that character's syllable: a message is checked against only the
    # phrases starting with one of its own (709 phrases, a handful of them), in index order.
    by_first_char: dict[str, list[int]] = field(default_factory=dict)
    by_first_syllable: dict[str, list[int]] = field(default_factory=dict)
    fuzzy_texts: list[str] = field(default_factory=list)
    fuzzy_items: list[str] = field(default_factory=list)
    # A fuzzy text sharing no character with the message scores 0 (below any cut-off): only the
    # others are scored.
    fuzzy_by_char: dict[str, list[int]] = field(default_factory=dict)
    combos: list[tuple[tuple[str, ...], str, float]] = field(default_factory=list)
    departments: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    latin_short: dict[str, str] = field(default_factory=dict)
    latin_long: list[tuple[str, str]] = field(default_factory=list)
    out_of_scope: list[str] = field(default_factory=list)
    always_out_of_scope: list[str] = field(default_factory=list)
    smalltalk: list[str] = field(default_factory=list)
    # Per item, the four-character runs of its material names: a message sharing one names a document
    # the item asks for (「营业执照副本要原件吗」, 「契税完税证明必须带吗」).
    material_grams: dict[str, frozenset[str]] = field(default_factory=dict)
    department_words: frozenset[str] = frozenset()  # every name and alias of a department (发改, 自然资源局)


def _bare_of(word: str) -> str:
    """The bare procedure word of a name that is only that word and what it issues (「备案证明」 -> 「备案」)."""
    for bare in _BARE_PROCEDURE_WORDS:
        rest = word[len(bare) :]
        if word.startswith(bare) and (rest == "证" or _ISSUED_DOCUMENT.fullmatch(rest)):
            return bare
    return word


def _taken_as(
    result: MatchResult,
    item: str,
    intent: str,
    *,
    action: str = "answer",
    reason: str = "context",
    asks: tuple[Ask, ...] = (),
) -> MatchResult:
    """`result` read in its conversation: `item` and `intent` decided by the earlier turn, not by the message's
    own evidence, so sure of them. (A FAQ or learned answer the message matched belongs to its own item: it goes
    when the item changes.)"""
    same = item == result.item
    return replace(
        result,
        item=item,
        intent=intent,
        action=action,
        reason=reason,
        context=True,
        asks=asks,
        candidates=(Candidate(item, 1.0),),
        confidence=1.0,
        faq=result.faq if same else None,
        learned=result.learned and same,
    )


def _asked_of(result: MatchResult, item: str) -> MatchResult:
    """`_taken_as` with what the message itself asks: a status question goes to the ledger or a steward."""
    if result.intent == "status":
        return _taken_as(result, item, "status", action="handoff", reason="status")
    return _taken_as(result, item, result.intent)


class Matcher:
    """Match questions against one knowledge base; safe to call from several threads."""

    def __init__(
        self,
        kb: KnowledgeBase,
        thresholds: Thresholds | None = None,
        model: TextModel | None = None,
        weights: Weights | None = None,
    ) -> None:
        self.kb = kb
        self.thresholds = thresholds or Thresholds()
        self.model = model  # None: the rule reading alone (the benchmark's "rule matcher")
        self.weights = weights or Weights()
        self._index = self._build(kb)
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
        cls, kb: KnowledgeBase, thresholds: Thresholds | None = None, *, model_path: Path | None = None
    ) -> Matcher:
        """The matcher the bot uses: the exact evidence joined with the model of the current data — read from
        `model_path` when that file was trained on exactly this data, else trained now (about a second) and
        written there (`knowledge/model_file.py`)."""
        from knowledge.model_file import model_for

        return cls(kb, thresholds, model=model_for(kb, model_path).model)

    # -- index ----------------------------------------------------------------------
    @staticmethod
    def _build(kb: KnowledgeBase) -> _Index:
        index = _Index()
        seen: set[tuple[str, str]] = set()

        def add(text: str, item: str, base: float, *, alias: bool) -> None:
            text_c = compact_text(text)
            if not text_c or (text_c, item) in seen:
                return
            seen.add((text_c, item))
            cjk = has_cjk(text_c)
            # Homophone matching for names of 2+ characters and hints of 3+ (a 2-character hint typed
            # by sound matches too much: 有煤 sounds like 有没).
            pinyin = key_of(text_c)[0] if cjk and len(text_c) >= (2 if alias else 3) else None
            gapped = cjk and len(text_c) >= 4
            index.by_first_char.setdefault(text_c[0], []).append(len(index.phrases))
            if pinyin is not None:
                index.by_first_syllable.setdefault(syllable(text_c[0]), []).append(len(index.phrases))
            index.phrases.append(_Phrase(text_c, item, base, pinyin, "alias" if alias else "hint", gapped))
            if cjk and alias and len(text_c) >= 4:
                for char in set(text_c):
                    index.fuzzy_by_char.setdefault(char, []).append(len(index.fuzzy_texts))
                index.fuzzy_texts.append(text_c)
                index.fuzzy_items.append(item)
            if cjk and alias:
                spelled = latin_pinyin(text_c)
                if len(spelled) >= 5:
                    index.latin_long.append((spelled, item))

        for item in kb.items.values():
            for name in (item.name, item.short, *item.aliases):
                if name:
                    add(name, item.key, _alias_score(len(compact_text(name))), alias=True)
            for hint in item.hints:
                if "+" in hint:  # every part somewhere in the message: 消防+验收
                    parts = tuple(p for p in (compact_text(x) for x in hint.split("+")) if p)
                    index.combos.append((parts, item.key, _alias_score(sum(map(len, parts)))))
                else:
                    add(hint, item.key, _hint_score(len(compact_text(hint))), alias=False)
            for latin in item.latin:
                spelled = compact_text(latin)
                if not spelled or has_cjk(spelled):
                    continue
                if len(spelled) <= 4:
                    index.latin_short[spelled] = item.key
                else:
                    index.latin_long.append((spelled, item.key))
        by_department: dict[str, list[str]] = {}
        for item in kb.items.values():
            if item.kind == "item" and item.department:
                by_department.setdefault(item.department, []).append(item.key)
        for dept in kb.departments.values():
            names = {compact_text(n) for n in (dept.name, *dept.aliases)}
            for name in names:
                if len(name) >= 3:
                    index.departments.append((name, tuple(by_department.get(dept.key, ()))))
        index.out_of_scope = [p for p in (compact_text(t) for t in kb.out_of_scope) if p]
        index.always_out_of_scope = [p for p in (compact_text(t) for t in kb.always_out_of_scope) if p]
        index.smalltalk = sorted({p for p in (compact_text(t) for t in kb.smalltalk) if p}, key=len, reverse=True)
        for item in kb.items.values():
            documents = [compact_text(m.name) for m in item.materials]
            index.material_grams[item.key] = frozenset(
                d[i : i + DOCUMENT_GRAM] for d in documents for i in range(len(d) - DOCUMENT_GRAM + 1)
            )
        index.department_words = frozenset(
            word
            for dept in kb.departments.values()
            for word in (compact_text(n) for n in (dept.name, *dept.aliases))
            if len(word) >= 2
        )
        return index

    def add_learned(self, question: str, answer: str, item: str | None) -> None:
        """Make a learned question/answer pair matchable at once, without a restart."""
        entry = _FaqEntry(compact_text(question), item, Faq(q=question, a=answer), learned=True)
        if not entry.normalized:
            return
        with self._lock:
            entries, texts = self._faq_table
            self._faq_table = ([*entries, entry], [*texts, entry.normalized])

    # -- matching -------------------------------------------------------------------
    def match(self, question: str, context: Context | None = None) -> MatchResult:
        """Return the item, intent, action and candidates for one question.

        `context` is what the asker last asked about: an elliptical follow-up takes the missing part from it.
        """
        return self._told_only(self.in_context(self._order_before(self._match(question)), context))

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
        clauses = [c for c in said if not self._is_smalltalk(c)]
        if not clauses or any(_asks(c) or _ELLIPSIS.search(c) or _ASKING_END.search(c) for c in clauses):
            return result
        acknowledged = bool(_ACKNOWLEDGED.fullmatch(said[0]))  # 「好的」「行吧」「谢谢老师」 first
        if result.intent != "other" and not acknowledged:
            return result
        if not (acknowledged or any(cue_book().done_clause.search(c) for c in clauses)):
            return result
        return replace(result, action="handoff", reason="told", faq=None, learned=False)

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
        head = [h for h in self._span_hits(text[: found.start()]) if self._outright(h)]
        # what must come first may be a topic too (「报建议书之前是不是得先有项目代码」)
        tail = [h for h in self._span_hits(first) if h.exact and h.start >= 0 and h.score >= self.thresholds.clarify]
        subject = {h.item for h in head}
        named = {h.item for h in tail} | subject
        if len(subject) != 1 or not tail or result.item not in named:
            return result
        if result.action == "clarify" and not {c.item for c in result.candidates} <= named:
            return result  # a choice with a third item: not only these two
        start, end = _name_span(head)
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

    def in_context(self, result: MatchResult, context: Context | None) -> MatchResult:
        """`match(question, context)` from `result = match(question)` made already (no second match)."""
        if result.wants_item:
            result = replace(result, wants_item=False)  # a match made without context, read again in one
        if context is None or context.item == ASKED_WITHOUT_ITEM:
            if context is not None:
                result = self._item_of_earlier_question(result, context)
            if result.item is None and result.reason in ("no_match", "low_confidence") and result.intent != "other":
                return replace(result, wants_item=True)
            return result
        if context.item not in self.kb.items:
            return result
        if _NEW_MATTER.match(compact_text(result.question)):
            # 「顺便问下，电力接入找谁」: the asker turns to another matter; what it names (or nothing) stands
            return result if result.item is not None else replace(result, leaves_context=True)
        followed = self._follow_up(result, context)
        if context.offered and followed is not None and followed.action == "answer" and followed.context:
            choices = (context.item, context.earlier[0])
            if followed.item in choices and not followed.asks:
                # 「要带啥材料」 after a choice offered between 不动产权证 and 土地供应: offered again, with what it asks
                first = followed.item
                candidates = tuple(Candidate(i, 1.0) for i in (first, *[c for c in choices if c != first]))
                followed = replace(followed, action="clarify", reason="ambiguous", candidates=candidates)
        if followed is None and result.reason == "out_of_scope" and not self._earlier_paper(result, context):
            # 「排污许可要交哪些东西」 after 环评: the asker moved on, and 「那要多久」 next is about 排污许可. (A question
            # handed off unsure stays with the earlier item: 「这个需要做吗」 then 「要做的话多久」.)
            return replace(result, leaves_context=True)
        return followed or result

    def _item_of_earlier_question(self, result: MatchResult, context: Context) -> MatchResult:
        """「这个要多久」 handed off for want of an item, then 「环评」: a short message that writes an item's name
        exactly (not by sound or in latin letters) and asks nothing of its own is the item of the earlier question."""
        text = compact_text(result.question)
        if (
            result.item is None
            or result.asks
            or result.reason not in ("confident", "status")  # a bare name may read as a status question alone
            or len(text) > FOLLOW_UP_CHARS
        ):
            return result
        if not self._said_alone(text, result.item):
            return result  # 「施工许可最快啥时候能拿」 asks its own question
        if context.intent == "status":
            return replace(result, intent="status", action="handoff", reason="status", context=True)
        return replace(result, intent=context.intent, action="answer", reason="context", context=True)

    def _earlier_paper(self, result: MatchResult, context: Context) -> bool:
        """Whether an out-of-scope message is about a paper of the earlier item: a report or certificate, or a
        document its material list names (「营业执照怎么办」 after 施工许可)."""
        text = compact_text(result.question)
        return bool(_PAPER.search(text) or self._material_runs(text, context.item))

    def _material_runs(self, text: str, item: str) -> list[int]:
        """Where `text` shares a run of DOCUMENT_GRAM characters with a material name of `item`."""
        grams = self._index.material_grams.get(item, frozenset())
        return [i for i in range(len(text) - DOCUMENT_GRAM + 1) if text[i : i + DOCUMENT_GRAM] in grams]

    def _follow_up(self, result: MatchResult, context: Context) -> MatchResult | None:
        """The follow-up reading of a short message that lacks its item or its intent, or None."""
        text = compact_text(result.question)
        # Readings of what a follow-up says about the earlier item (or the items before it), tried in this order;
        # the first that applies decides.
        readers = (
            self._corrected,
            self._by_ordinal,
            self._only_after,
            self._waits_for,
            self._among_earlier,
            self._order_choice,
            self._each_of_together,
            self._pointed_back,
            self._by_channel,
            self._tolerance_of_earlier,
            self._document_follow_up,
            self._together_follow_up,
            self._of_these,
        )
        for read in readers:
            followed = read(result, context, text)
            if followed is not None:
                return followed
        if context.procedure != context.item and result.intent not in ("process", "other"):
            # 「几个工作日」「那个找哪个局」 after a together question: of the procedure asked about (「具体怎么操作」 is
            # still about running them together)
            context = Context(context.procedure, context.intent, context.earlier[1:])
        if _TOGETHER_GOES.search(text) and _SEVERAL_PROJECTS.search(text):
            return result  # 「一期二期能一起报不」: projects together, a steward's question, not the earlier item's
        # a short follow-up naming another item by a bare procedure word only (备案, 核准…)
        taken_other = result.action == "answer" and result.item not in (None, context.item)
        bare = self._bare_words_only(text, result) if taken_other else []
        if bare and self._says_earlier(bare, context):
            # 「备案的话几天」 after 消防验收: a word of the earlier item's own name, not the item it names alone
            return replace(
                result, item=context.item, reason="context", context=True, candidates=(Candidate(context.item, 1.0),)
            )
        if (
            bare
            and result.item is not None
            and self.kb.items[context.item].kind == "item"
            and self.kb.items[context.item].department != self.kb.items[result.item].department
        ):
            # 「第一次要先备案吗」 after 原产地证, 「那普通的要备案吗」 after 消防设计审查: a bare 备案 may be the earlier
            # procedure's own step or the item of that name, another department's; asked, not guessed (the earlier
            # item first). Within one department (「核准要多久」 after 备案) it names the sibling procedure.
            choices = (Candidate(context.item, result.confidence), Candidate(result.item, result.confidence))
            return replace(
                result, item=context.item, action="clarify", reason="ambiguous", candidates=choices, context=True
            )
        if (
            result.item is None
            and result.reason in ("model_no_item", "low_confidence", "no_match", "doubt")
            and len(text) <= FOLLOW_UP_CHARS
            and self._names_own_department(text, context.item)
        ):
            # 「登记中心在政务大厅吗」 after 不动产权证: the earlier item's own department named, no item of its own
            return _asked_of(result, context.item)
        if result.reason in _NEVER_INHERIT or len(text) > FOLLOW_UP_CHARS or result.asks:
            return None
        cues = read_cues(result.normalized)
        asks_own = bool(cues.first_strong)
        names_item = self._names_item(result.normalized) or self._only_a_phrase_of(text, result.item)
        if (
            (names_item or result.action == "answer")
            and not asks_own
            and result.item not in (None, "tolerance")
            and _ELLIPSIS.search(text)
        ):
            # 「能评那个呢」「草原的呢」 name an item (another, or the same one's other part) and ask nothing of their
            # own: the earlier question, about this item.
            if context.intent == "status":
                return replace(result, intent="status", action="handoff", reason="status", context=True)
            if result.action == "answer" or (result.reason == "status" and result.confidence >= self.thresholds.answer):
                return replace(result, intent=context.intent, action="answer", reason="context", context=True)
        if names_item and result.action != "answer":
            return None  # 「我们环评办到哪一步了」 names its own item: it never takes the earlier one
        if (
            result.action == "answer"
            and not names_item
            and self.kb.items[context.item].kind == "item"
            and self._named_done_only(result)
        ):
            # 「项目代码有了 还要啥」 after 用地预审: the item it names is had, the background; what is asked is of
            # the earlier item
            return _asked_of(result, context.item)
        if result.action == "answer":
            if (
                not names_item
                and result.item != context.item
                and context.item in {c.item for c in result.candidates}
                and not any(h.item in (result.item, context.item) and h.exact for h in self._span_hits(text))
            ):
                # 「是报告书还是报告表」 after 水保方案要做吗: a follow-up that names nothing, which the model alone
                # puts with another item (环评 has 报告书 too) while it also offers the earlier one: the earlier item
                return _asked_of(result, context.item)
            return None
        if not (
            asks_own or _ELLIPSIS.search(text) or cue_book().question_mark.search(text) or _ALTERNATIVE.search(text)
        ):
            return None  # 「好的收到」: no question (「原件还是复印件」 offers a choice: it asks)
        if any(word.start() >= 2 for word in _OWN_SUBJECT.finditer(text)):
            # 「电力业务许可去哪办」: a matter of its own that the knowledge base lacks; a procedure word with no
            # words before it that could name one (「审批要钱吗」「那审批多久」) is the earlier item's
            return None
        if result.action == "clarify" and context.item not in {c.item for c in result.candidates}:
            return None
        if (
            result.action == "handoff"
            and result.reason == "low_confidence"
            and not asks_own
            and _ELLIPSIS.search(text)
            and result.candidates
            and result.candidates[0].score >= self.thresholds.clarify
            and context.item not in {c.item for c in result.candidates}
        ):
            # 「消防的呢」 after 人防审批要多久: the earlier question, of another item named too loosely to pick
            # one (消防设计审查 or 消防验收): offered, not guessed, and not the earlier item
            first = result.candidates[0].item
            return replace(
                result, item=first, intent=context.intent, action="clarify", reason="ambiguous", context=True
            )
        # What it asks is its own, as the model reads it (「交给谁」「要掏钱不」 after a materials question ask who
        # and what it costs, though no hand-written cue says so), unless it only says 「…呢」: the earlier question
        elliptic = not asks_own and _ELLIPSIS.search(text) and not self._sure_of_intent(result)
        intent = context.intent if elliptic else result.intent
        action, reason = ("handoff", "status") if intent == "status" else ("answer", "context")
        return _taken_as(result, context.item, intent, action=action, reason=reason)

    def _waits_for(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「消防验收没完成能先备案吗」 after 竣工验收备案, 「图审还没完能容缺不」 after 施工许可, 「需要先拿到用地预审
        意见吗」 after 核准: another procedure named as not done yet, or as what must come first, is what the earlier
        item waits for — the earlier item's order (its process), or its 容缺 when that is asked; also when several are
        named as what must come first (「是不是得先把地灾和压矿的事弄完」 after 用地预审). None otherwise."""
        first = _FIRST_NEEDED.search(text)
        if (
            (result.asks and not first)
            or result.reason in ("smalltalk", "empty", "learned")
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
        ):
            return None
        hits = self._span_hits(text)
        if any(h.item == context.item for h in hits if self._outright(h)):
            return None  # the earlier item named again: what the message asks of it is its own reading
        # another item named; a bare procedure word (「能先备案吗」) may be the earlier item's own step, no other item
        others = [
            h
            for h in hits
            if (self._outright(h) or (h.exact and h.start >= 0 and h.alias and self.kb.items[h.item].kind == "item"))
            and h.item != context.item
            and text[h.start : h.end] not in _BARE_PROCEDURE_WORDS
        ]
        if first:
            # a topic named outright as what must come first (「报之前需要先有项目代码吧」) is waited for too
            others += [
                h
                for h in hits
                if h.named
                and h.start >= first.end()
                and self.kb.items[h.item].kind != "item"
                and h.item != context.item
            ]
        if not others:
            return None
        if _WORK_AHEAD.search(text):
            return None  # 「水保没批能先动土不」: the works going ahead of the item named, that item's own question
        # not done yet, asked whether the earlier item may go ahead (「环评还没批下来」 alone may be a complaint)
        ahead = bool(_MAY.search(text) or _WITHOUT_IT.search(text))
        waiting = [h for h in others if ahead and _NOT_DONE_YET.match(text, h.end)]
        needed = [h for h in others if first and first.end() <= h.start]
        if not waiting and not needed:
            return None
        if {h.item for h in others} - {h.item for h in waiting + needed}:
            return None  # another item named besides the one waited for: not only the earlier item's order
        intent = "tolerance" if _WITHOUT_IT.search(text) else "process"
        return _taken_as(result, context.item, intent)

    def _sure_of_intent(self, result: MatchResult) -> bool:
        """Whether the model reads what the message asks surely enough to keep it over the earlier question's."""
        if self.model is None:
            return False
        probs = self.model.intent_probabilities(result.normalized)
        return probs.get(result.intent, 0.0) >= OWN_INTENT_SURE

    def _together_follow_up(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「那用规证能一起报不」「等的时候别的手续能同时弄不」 after a question about one item: whether procedures
        run together, the parallel topic first, then the item named (or the earlier one) asked how it runs."""
        if (
            not _TOGETHER_GOES.search(text)
            or "parallel" not in self.kb.items
            or result.asks
            or result.reason in _NEVER_INHERIT
            or len(text) > FOLLOW_UP_CHARS
            or _NOT_PROCEDURES.search(text)
            or _DOCUMENT_ASKED.search(text)
        ):
            return None
        if _TOGETHER_IF.search(text) and result.intent != "status":
            # 「一起审的话要多久」: what it asks, asked of running them together (a status question is the ledger's)
            asks: tuple[Ask, ...] = (
                (Ask("parallel", result.intent), Ask(context.item, result.intent)) if context.item != "parallel" else ()
            )
            return _taken_as(result, "parallel", result.intent, asks=asks)
        if not _MAY.search(text):
            # 「是不是跟图审一起报的」: whether the earlier item *is* handled with the one named after 跟 — how the
            # earlier item goes, its process
            # each other item named, where its name starts (「图审」 is inside 「施工图审查」)
            partners: dict[str, int] = {}
            for h in self._span_hits(text):
                if h.exact and h.start > 0 and h.item != context.item:
                    partners[h.item] = min(partners.get(h.item, h.start), h.start)
            if partners and all(text[start - 1] in "跟和与同" for start in partners.values()):
                # …and, as some read it, whether the two run together: the parallel topic too; the earlier item
                # last, so a next 「那要多久」 is still about it
                if context.item == "parallel":
                    return _taken_as(result, context.item, "process")
                asks = (_RUN_TOGETHER, Ask(context.item, "process"))
                return _taken_as(result, "parallel", "process", asks=asks)
            subject = [h.item for h in self._span_hits(text) if self._outright(h) and h.start == 0]
            if subject and subject[0] != context.item and _ALSO_TOGETHER.search(text):
                # 「人防的图也一起审吗」 after 施工图审查: whether the item named is handled with the earlier one
                return _taken_as(result, "parallel", "process", asks=(_RUN_TOGETHER, Ask(subject[0], "process")))
            return None
        named = result.item if result.item not in (None, "parallel") and self._names_item(result.normalized) else None
        these = self._these(text, context)
        if these and not named:
            # 「这两个能一起报吗」 after 压覆矿 and then 地灾: the items spoken of, each asked how it runs
            asks = (_RUN_TOGETHER, *(Ask(i, "process") for i in these))[:MAX_ASKS]
            return _taken_as(result, "parallel", "process", asks=asks)
        item = named or (context.item if context.item != "parallel" else None)
        asks = (_RUN_TOGETHER, Ask(item, "process")) if item else ()
        if named and context.item not in ("parallel", named) and self._partner_only(text, named):
            # 「能和施工图审查一起报吗」 after 消防设计审查: the earlier item is the one going with the item named (last,
            # so a next 「那要多久」 is still about it)
            asks = (_RUN_TOGETHER, Ask(named, "process"), Ask(context.item, "process"))
        return _taken_as(result, "parallel", "process", asks=asks)

    def _order_choice(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「先办这个还是先环评」「先核实还是先消防验收」 after a question about one item: which of the earlier item
        and the one named comes first — both items' process, the earlier item first; None otherwise."""
        if not _ORDER_CHOICE.search(text) or result.asks or len(text) > DOCUMENT_FOLLOW_UP_CHARS:
            return None
        named = [i for i in self._named_items(text) if i != context.item]
        if len(named) > 1 or self.kb.items[context.item].kind != "item":
            return None
        these = self._these(text, context) if not named else ()
        if these:
            # 「这俩哪个先报好」 after 环评 and then 水保: which of the two, in the order they were asked
            return _taken_as(result, these[0], "process", asks=tuple(Ask(i, "process") for i in these))
        asks = (Ask(context.item, "process"), *(Ask(i, "process") for i in named))
        return _taken_as(result, context.item, "process", asks=asks if len(asks) > 1 else ())

    def _corrected(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「不是环评，是能评」「我说的是林草」「搞错了 是洪评」 after an answer about another item: the asker corrects
        the item the earlier question was taken of, or which kind of it (「报告表，不是报告书」). The earlier question, of
        the item named now. A message that asks something (「我问的是施工许可要多少天」「水保不是必须的吧」) is no
        correction: it is read as it asks. One still read as the item it says it is not (「不是人防 是消防」) goes to a
        person."""
        if (
            result.action != "answer"
            or result.item is None
            or result.asks
            or len(text) > FOLLOW_UP_CHARS
            or not _CORRECTION.search(text)
            or read_cues(result.normalized).first_strong
            or _asks(text)
            or _ASKING_END.search(text)
            or self.kb.items[result.item].kind != "item"
        ):
            return None
        named = [h for h in self._span_hits(text) if h.item == result.item and h.exact and h.start >= 0]
        if named and all(text.endswith("不是", 0, h.start) for h in named):
            return replace(result, item=None, action="handoff", reason="doubt", faq=None, learned=False)
        if result.item == context.item and not _CONTRAST.fullmatch(result.normalized):
            # 「报告表，不是报告书」 after 环评要多久: the same item, which kind of it — the earlier question again;
            # a plain 不是 (「环评不是必须的吧」) asks its own
            return None
        if context.intent == "status":
            return _taken_as(result, result.item, "status", action="handoff", reason="status")
        return _taken_as(result, result.item, context.intent)

    def _by_ordinal(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「第一个要多长时间」 after 压覆矿 and then 地灾: the item at that place among the items spoken of (in the
        order asked), asked what the message asks (or, with 「…呢」 only, the earlier question)."""
        found = _ORDINAL.search(text)
        before_after = _BEFORE_OR_AFTER.search(text) if found is None else None
        if (
            (found is None and before_after is None)
            or result.asks
            or result.reason in ("smalltalk", "empty", "learned", "project_status")
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
            or any(self._outright(h) for h in self._span_hits(text))
        ):
            return None
        if before_after is not None:
            items = self._spoken_of(context)[-2:]
            place = 0 if before_after.group(1) else 1
        elif found is not None:
            items = self._spoken_of(context)[-3:]
            place = len(items) - 1 if found.group(2) else _ORDINAL_PLACE[found.group(1)]
        if len(items) < 2 or place >= len(items):
            return None  # one item spoken of: 「第一个」 is a step or a paper of it, not an item
        elliptic = not read_cues(result.normalized).first_strong and _ELLIPSIS.search(text)
        picked = _asked_of(replace(result, intent=context.intent) if elliptic else result, items[place])
        return replace(picked, by_place=True)

    def _only_after(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「是出让合同签完以后才能办是吧」「是不是得契税交完才能办」 after 不动产权证: whether the earlier item waits for
        what the message names (a paper, a tax, another procedure) — the earlier item's order, its process."""
        if (
            len(text) <= DOCUMENT_FOLLOW_UP_CHARS
            and _ONLY_AFTER.search(text)
            and result.reason not in ("smalltalk", "empty", "learned")
            and result.intent != "time_limit"  # 「要几天以后才能领」 asks how long
            and not self._names_subject(text, done_excepted=True)  # 「环评是不是要立项以后才能办」 is about 环评
        ):
            return _taken_as(result, context.item, "process")
        return None

    def _among_earlier(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「建设用地规划许可证包含在里面吗」 after 五证联发, 「图审合格书算其中一个吗」 after 施工许可的前置手续: whether what
        it names is one of the earlier item's — a question about the earlier item."""
        if (
            _AMONG.search(text)
            and len(text) <= DOCUMENT_FOLLOW_UP_CHARS
            and not result.asks
            and result.reason not in ("smalltalk", "empty", "learned")
            and self.kb.items[context.item].kind in ("item", "topic")
        ):
            return _asked_of(result, context.item)
        return None

    def _pointed_back(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「后面办环评是不是都要用这个代码」 after 赋码: 「这个代码」 is the earlier item, the other one background."""
        return _asked_of(result, context.item) if self._points_to_earlier(result, context, text) else None

    def _tolerance_of_earlier(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「那能容缺吗」「预审我们还没拿到 能先受理吗」: the 容缺 topic asked about the item of the previous question;
        「那要准备哪些材料呢」, which the model alone reads as the topic, asks its own intent about that item."""
        if (
            result.action not in ("answer", "clarify")
            or result.item != "tolerance"
            or context.item in ("tolerance", *_CHANNELS)
            or _EVERY_ITEM.search(text)
            or result.asks
            or result.reason in _NEVER_INHERIT
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
            or self._names_item(result.normalized)
        ):
            return None
        named_topic = any(h.item == "tolerance" for h in self._span_hits(text))
        if named_topic and result.intent in _OF_THE_MECHANISM and self._sure_of_intent(result):
            # 「容缺的话是网上申请还是去窗口」「承诺书签了以后多长时间内得把材料补齐」: how 容缺 itself goes, what its
            # papers are, how long the promise runs — the topic's own question, not whether the earlier item may
            return None
        intent = "tolerance" if named_topic or result.intent == "tolerance" else result.intent
        # after a together question its 容缺 is the procedure's (「容缺能用吗」 after 「林草的能跟预审同时做吗」)
        return _asked_of(replace(result, intent=intent), context.procedure)

    def _by_channel(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「表在一网通办上填还是交纸质的」 after 节能审查: the portal named as where the earlier item is applied for —
        how it is applied for, unless the message asks something else of it (「去一网通办交钱吗」)."""
        if not self._channel_only(result, context, text):
            return None
        if result.intent == "other" and not _E_CERTIFICATE_FORM.search(text):
            result = replace(result, intent="process")
        return _asked_of(result, context.item)

    def _each_of_together(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「分别需要什么材料」 after 「用地规划许可证和工程规划许可证能不能一起办」: what it asks, of each item the
        together answer was about (not of the parallel topic); None otherwise."""
        if (
            context.item != "parallel"
            or not context.earlier
            or not _EACH.search(text)
            or result.intent in ("other", "process")
            or result.asks
            or len(text) > FOLLOW_UP_CHARS
            or any(self._outright(h) for h in self._span_hits(text))
        ):
            return None
        items = [i for i in reversed(context.earlier) if i in self.kb.items][:MAX_ASKS]
        if not items:
            return None
        if result.intent == "status":
            return _asked_of(result, items[0])
        asks = tuple(Ask(i, result.intent) for i in items) if len(items) > 1 else ()
        return _taken_as(result, items[0], result.intent, asks=asks)

    def _of_these(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「这俩分别要多久」「这俩哪个快点」 after 压覆矿 and then 地灾, 「都发改委批吗」 after 建议书, 可研 and 初设: what it
        asks, of each of the items it points back to (running together is `_together_follow_up`'s); with 「…呢」
        only, the earlier question."""
        these = self._these(text, context)
        if not these and _ALL_OF_THEM.match(text) and len(self._spoken_of(context)) > 1:
            these = self._spoken_of(context)[-3:]
        if (
            not these
            or result.asks
            or result.reason in _NEVER_INHERIT
            or len(text) > FOLLOW_UP_CHARS
            or _TOGETHER.search(text)
            or any(self._outright(h) for h in self._span_hits(text))
        ):
            return None
        elliptic = not read_cues(result.normalized).first_strong and _ELLIPSIS.search(text)
        intent = context.intent if elliptic or result.intent == "other" else result.intent
        if intent == "status":
            return _taken_as(result, these[0], "status", action="handoff", reason="status")
        return _taken_as(result, these[0], intent, asks=tuple(Ask(i, intent) for i in these))

    def _spoken_of(self, context: Context) -> tuple[str, ...]:
        """The approval items of the conversation in the order asked (the parallel topic is none)."""
        return tuple(i for i in context.recent(1 + len(context.earlier)) if i in self.kb.items and i != "parallel")

    def _these(self, text: str, context: Context) -> tuple[str, ...]:
        """The items 「这两个」「这三个」「这俩」 stand for: the asker's last two or three approval items, in the order
        asked; empty when the message says no such thing or the conversation has had fewer items."""
        found = _THESE.search(text)
        if found is None:
            return ()
        count = 3 if "三" in found.group() or "仨" in found.group() else 2
        items = self._spoken_of(context)[-count:]
        return items if len(items) == count else ()

    def _points_to_earlier(self, result: MatchResult, context: Context, text: str) -> bool:
        """Whether a short follow-up answered with another item points at the earlier one: 这个/那个/该 before a word
        of the earlier item's own names (「这个代码」 after 项目代码)."""
        if result.item in (None, context.item) or result.asks or len(text) > DOCUMENT_FOLLOW_UP_CHARS:
            return False

        earlier, other = self._own_names(context.item), self._own_names(result.item)
        outright = [h for h in self._span_hits(text) if self._outright(h)]
        if any(h.item == result.item and text.startswith(("呢", "的呢"), h.end) for h in outright):
            return False  # 「原产地证呢 也是那个海关吗」: the item named with 呢 is the one now asked about
        named_at = {h.start for h in outright}
        for found in _POINTER.finditer(text):
            word = text[found.end() : found.end() + 2]
            if (
                len(word) == 2
                and word not in _SHARED_WORDS
                and found.end() not in named_at  # 「这个施工图审查要多久」 names its own item after the pointer
                and any(word in name for name in earlier)
                and not any(word in name for name in other)
            ):
                return True
        return False

    def _channel_only(self, result: MatchResult, context: Context, text: str) -> bool:
        """Whether a short follow-up names no item but the online portal, as the place it is done (在/通过/去…) or as
        the form of the result (「是电子证照吗」)."""
        if (
            result.item != _CHANNEL_TOPIC
            or context.item in (_CHANNEL_TOPIC, None)
            or result.asks
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
            # an item, or the project code (「在一网通办上能看到吗」 after 赋码: how the code is had)
            or (self.kb.items[context.item].kind != "item" and context.item != "project_code")
        ):
            return False
        hits = [h for h in self._span_hits(text) if h.exact and h.start >= 0]
        if any(h.item != _CHANNEL_TOPIC for h in hits if self._outright(h)):
            return False
        starts = [h.start for h in hits if h.item == _CHANNEL_TOPIC]
        # 「批完是电子证照吗」: the form the earlier item's certificate comes in
        return bool(starts) and (
            bool(_CHANNEL_BEFORE.search(text, 0, min(starts))) or bool(_E_CERTIFICATE_FORM.search(text))
        )

    def _names_own_department(self, text: str, item: str) -> bool:
        """Whether a message names the department that handles `item` (「登记中心」 for 不动产权证) and no item."""
        key = self.kb.items[item].department
        department = self.kb.departments.get(key) if key else None
        if department is None or any(self._outright(h) for h in self._span_hits(text)):
            return False
        return any(compact_text(word) in text for word in (department.name, *department.aliases) if word)

    def _partner_only(self, text: str, item: str) -> bool:
        """Whether `item`'s name in the message follows 和/跟/与/同 (「能和图审一起报吗」): named as the partner."""
        starts = [h.start for h in self._span_hits(text) if h.item == item and h.exact and h.start >= 0]
        return bool(starts) and min(starts) > 0 and text[min(starts) - 1] in _PARTNER_MARKS

    def _bare_words_only(self, text: str, result: MatchResult) -> list[str]:
        """The bare procedure words (备案, 核准…) that are all a short follow-up writes of `result.item`'s names;
        empty when it writes anything else of them, names a department (「发改那边备案」) or is no short follow-up."""
        if len(text) > FOLLOW_UP_CHARS or result.asks:
            return []
        if any(word in text for word in self._index.department_words):
            return []
        words = [
            _bare_of(text[h.start : h.end])
            for h in self._span_hits(text)
            if h.item == result.item and h.exact and h.start >= 0
        ]
        return words if words and all(w in _BARE_PROCEDURE_WORDS for w in words) else []

    def _says_earlier(self, bare: list[str], context: Context) -> bool:
        """Whether the bare procedure words a short follow-up writes of another item (`_bare_words_only`) are all
        in the earlier item's own names (「备案的话几天」 after 建设工程消防验收 / 备案): said of the earlier item."""
        names = self._own_names(context.item)
        return all(any(w in name for name in names) for w in bare)

    def _own_names(self, key: str) -> list[str]:
        """An item's name, short name and aliases, as compact text."""
        item = self.kb.items[key]
        return [compact_text(n) for n in (item.name, item.short, *item.aliases) if n]

    def _names_subject(self, text: str, *, done_excepted: bool = False) -> bool:
        """Whether a message begins with an approval item named outright (after 那 at most): its subject —
        with `done_excepted`, not when the name is said done at once (「出让合同签了就能办吗」: what is waited for)."""
        hits = [h for h in self._span_hits(text) if self._outright(h)]
        if not hits:
            return False
        start, end = _name_span(hits)
        if done_excepted and _DONE_RIGHT_AFTER.match(text, end):
            return False
        return text[:start] in ("", "那", "那个")

    def _document_follow_up(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """A follow-up about a document of the earlier item, or None.

        「出让合同要原件还是复印件」 after the 用地规划许可, 「营业执照副本要原件吗」 after the 核准: a document the
        earlier item's material list names (four characters in common), also when it is a procedure's name or
        an out-of-scope phrase. 「消防验收意见书要原件吗」「人防意见还没拿到，能先受理吗」: what another procedure
        issues. Asked how it is handed in, it is the earlier item's materials; asked whether the earlier item
        goes ahead without it, its tolerance."""
        # 「那用地规划许可证呢」 is the earlier question about another item; 「环评批复呢」 after 「可研要附哪些」, the
        # paper another procedure issues, is one more of the earlier item's materials
        elliptic = bool(_ELLIPSIS.search(text))
        if (
            result.asks
            or result.reason in ("smalltalk", "empty", "learned")
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
            or (elliptic and context.intent != "materials")
        ):
            return None
        if _DOES_A_PROCEDURE.search(text):
            return None  # 「安全设施竣工验收也要做吗」「质量监督注册必须先办吗」: a procedure, no document
        if self._first_clause_asks_of_its_item(result.normalized, context):
            return None  # 「初设要准备哪些材料 概算要附吗」: the first clause asks of the item it names
        if elliptic:
            intent = "materials"
        elif _WITHOUT_IT.search(text):
            intent = "tolerance"
        elif not _DOCUMENT_ASKED.search(text):
            return None
        elif result.intent in ("fee", "time_limit", "department"):
            intent = result.intent  # 「竞买保证金要交多少」: what it costs, not what to hand in
        else:
            intent = "materials"
        # a run of a material's name counts when the message names a document (建设项目 alone names none)
        shared = self._material_runs(text, context.item) if _DOCUMENT_NOUN.search(text) else []
        in_material = {j for i in shared for j in range(i, i + DOCUMENT_GRAM)}
        if result.reason == "out_of_scope":
            # an out-of-scope phrase stands only when it is no document of the earlier item (营业执照 in
            # 「企业营业执照复印件」 is one; 安全设施竣工验收 is none)
            phrases = [span for p in self._index.out_of_scope if p in text for span in _occurrences(p, text)]
            if not phrases or not all(all(j in in_material for j in range(a, b)) for a, b in phrases):
                return None
        attach = _ATTACHED.search(text)
        attached = attach is not None
        hits = self._span_hits(text)
        others = [  # a topic named (「能容缺不」) is what is asked, no document
            h
            for h in hits
            if h.exact
            and h.start >= 0
            and h.item != context.item
            and (h.alias or attached)
            and self.kb.items[h.item].kind == "item"
        ]

        tolerance_at = [h.start for h in hits if h.item == "tolerance" and h.start >= 0]
        attached_after = attach is not None and any(
            h.exact and h.start >= attach.end() and self.kb.items[h.item].kind == "item" for h in hits
        )
        attach_asks_what = attach is not None and _WHAT.match(text, attach.end()) is not None

        def a_document(hit: _Hit) -> bool:
            issued = (
                _ISSUED_DOCUMENT.match(text, hit.end)
                or _ISSUED_DOCUMENT.search(text, hit.start, hit.end)
                or (text.startswith("的", hit.end) and _ISSUED_DOCUMENT.match(text, hit.end + 1))  # 「用地预审的批复」
            )
            if elliptic:
                return bool(issued)
            if attach is not None:
                # 「要附施工图吗」「规划许可证复印件也要附上吗」: what is named is attached — unless another item is
                # named after 附, or 附 asks what (「可研要附啥」): then the one before it, issuing no paper there, is
                # what the paper goes with (「竣工备案要附消防验收的意见书吧」)
                before = hit.start < attach.start()
                return bool(issued) or not before or not (attached_after or attach_asks_what)
            inside = all(j in in_material for j in range(hit.start, hit.end))
            # a certificate a procedure issues (土地证, 产权证, 用规证), asked in what form it is handed in or
            # whether it may come later — not 「签完以后土地证要交啥」, what that procedure asks for
            # (备案证: the bare procedure word, then 证)
            named_certificate = text[hit.end - 1] == "证" or text.startswith("证", hit.end)
            # 「施工证能容缺吗」: the 容缺 topic asked right after the certificate's name — the procedure's own 容缺
            own_tolerance = any(0 <= at - hit.end <= 2 for at in tolerance_at)
            certificate = (
                named_certificate
                and not own_tolerance
                and bool(_WITHOUT_IT.search(text) or _DOCUMENT_FORM.search(text))
            )
            return inside or bool(issued) or certificate

        if not (shared or others) or not all(a_document(h) for h in others) or (elliptic and not others):
            return None
        topic = self.kb.items[context.item].kind == "topic"
        if topic and any(self._outright(h) for h in others) and not _DOCUMENT_FORM.search(text):
            return None  # 「施工许可证能容缺吗」 after the 容缺 topic: the item named is asked about, no paper
        if result.item == context.item and (result.intent == intent or intent == "tolerance"):
            return None
        return _taken_as(result, context.item, intent)

    def _said_alone(self, text: str, item: str) -> bool:
        """Whether the message is `item` written exactly (not by sound or in latin letters) with fillers around it
        and nothing else (「环评」「那林草的呢」「就是那个施工许可」)."""
        names = [h for h in self._span_hits(text) if h.item == item and h.exact and h.start >= 0]
        if not names:
            return False
        start, end = _name_span(names)
        return _ONLY_FILLER.fullmatch(text[:start] + "|" + text[end:]) is not None

    def _only_a_phrase_of(self, text: str, item: str | None) -> bool:
        """Whether the message is one phrase of an approval item said alone (「那林草的呢」: 林草 is a hint, the
        林草局's name too, so alone it names no item; said like this it does)."""
        return item is not None and self.kb.items[item].kind == "item" and self._said_alone(text, item)

    def _first_clause_asks_of_its_item(self, normalized: str, context: Context) -> bool:
        """Whether a message of several clauses opens with a clause that names another item than the earlier one
        outright and asks a question of its own (a specific cue) — the message is about that item."""
        clauses = [c for c in normalized.split(" ") if c]
        if len(clauses) < 2:
            return False
        first = clauses[0]
        if _DOCUMENT_FORM.search(first):
            return False  # 「出让合同原件还在走流程」: the paper itself
        # a paper an item issues (「图审合格书还没下来」) names no subject
        named = {
            h.item for h in self._span_hits(first) if self._outright(h) and not _ISSUED_DOCUMENT.match(first, h.end)
        }
        asked = set(read_cues(first).first_strong) - {"status"}  # 「…还在走流程」 says how it stands, asks nothing
        return bool(named) and context.item not in named and bool(asked)

    def _names_foreign_procedure(self, compact: str, hits: list[_Hit]) -> bool:
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
            if any(before + word.group() in phrase.text for phrase in self._index.phrases if phrase.kind == "alias"):
                continue  # part of a name: 「规划许可证」 of 建设工程规划许可证 and 建设用地规划许可证
            if (
                has_cjk(before)
                and len(before) == 2
                and before[1] not in _NOT_A_NAME_END
                and before not in _GENERIC_BEFORE
                and has_cjk(before[0])
            ):
                return True
        return False

    def _model_sure_of_item(self, probs: dict[str, float]) -> bool:
        """Whether the item model gives one item of the knowledge base at least `foreign_overrule`."""
        return any(k != NO_ITEM and k in self.kb.items and p >= self.weights.foreign_overrule for k, p in probs.items())

    def _named_done_only(self, result: MatchResult) -> bool:
        """Whether the message names the item it was answered with, and only as had before 还 (「项目代码有了 还要啥」)."""
        compact = result.normalized.replace(" ", "")
        own = [h for h in self._span_hits(compact) if h.item == result.item and h.exact and h.start >= 0]
        return bool(own) and all(_HAD_AFTER.match(compact, h.end) for h in own)

    def _names_item(self, normalized: str) -> bool:
        """Whether the message names an approval item of its own (alias, homophone or latin; not as done)."""
        compact = normalized.replace(" ", "")
        hits = self._span_hits(compact) + self._latin_hits(normalized) + self._combo_hits(compact)
        hits = self._drop_contained(hits)
        self._discount_context(compact, hits, normalized)
        return any(
            self.kb.items[h.item].kind == "item" and not h.context and (h.named or h.score >= self.weights.evidence)
            for h in hits
        )

    def _match(self, question: str) -> MatchResult:
        normalized = normalize(question or "")
        compact = normalized.replace(" ", "")
        if not compact:
            return self._result(question, normalized, None, "other", "smalltalk", 0.0, [], "empty")

        hits = self._span_hits(compact) + self._latin_hits(normalized) + self._combo_hits(compact)
        hits = self._drop_contained(hits)
        hits += self._fuzzy_hits(compact, {h.item for h in hits})
        hits += self._department_hits(compact, {h.item for h in hits})
        item_probs: dict[str, float] = {}
        if self.model is not None:
            item_probs = self.model.item_probabilities(compact)
            if _PEOPLE_TOGETHER.search(compact):
                # 「能和老板一起去办吗」: people going together, not procedures running together (the parallel topic)
                item_probs.pop("parallel", None)
        self._discount_context(compact, hits, normalized, item_probs or None)
        named = {h.item for h in hits if h.named and not h.context}
        mentioned = {h.item for h in hits if h.named}  # named, even if only as context
        if self.model is not None:
            intent_probs = self.model.intent_probabilities(normalized, self._name_spans(hits))
            intent = max(intent_probs, key=intent_probs.__getitem__)
            decided = intent_probs[intent] >= 0.5
        else:
            intent, decided = classify_intent(normalized, self._name_spans(hits))

        faq_entry, faq_ratio = self._faq_hit(compact)
        if faq_entry is not None and faq_entry.item is not None:
            e = EVIDENCE
            hits.append(
                _Hit(faq_entry.item, e.faq_base + (faq_ratio - e.faq_cutoff) / (100 - e.faq_cutoff) * e.faq_span)
            )
        if faq_entry is not None and faq_entry.learned and faq_entry.item is None and faq_ratio >= EVIDENCE.faq_answer:
            return self._result(
                question, normalized, None, intent, "answer", faq_ratio / 100, [], "learned", faq_entry.faq, True
            )

        if self._names_foreign_procedure(compact, hits) and not self._model_sure_of_item(item_probs):
            # 「林木采伐许可证在哪办」「招投标备案在哪个部门」: a procedure the knowledge base does not have
            return self._result(question, normalized, None, intent, "handoff", 0.0, [], "out_of_scope")
        if any(p in compact for p in self._index.always_out_of_scope):
            return self._result(question, normalized, None, intent, "handoff", 0.0, [], "out_of_scope")
        outside = [span for p in self._index.out_of_scope if p in compact for span in _occurrences(p, compact)]
        if outside:
            # Only an approval item named outright, apart from the matter out of scope (not touching it) and not
            # as background after the matter itself is asked about, survives: 「食品经营许可证能容缺吗」 is not about
            # 容缺受理, 「夜间施工许可找谁办」 not about 施工许可, 「出口退税怎么办理？我们刚拿了原产地证」 not about
            # 原产地证; 「不动产权证要带出让金发票吗」 is about 不动产权证.
            starts = _clause_starts(normalized)

            def touches(h: _Hit, a: int, b: int) -> bool:
                return (
                    (a < h.end and h.start < b)
                    or (h.end == a and a not in starts)
                    or (b == h.start and b not in starts)
                )

            background = _background_spans(normalized)
            asked_at = min(
                (
                    x
                    for x, y in outside
                    if not any(a <= x and y <= b for a, b in background) and not any(touches(h, x, y) for h in hits)
                ),
                default=len(compact),
            )
            hits = [
                h
                for h in hits
                if h.named
                and h.exact
                and not h.context
                and self.kb.items[h.item].kind == "item"
                and not any(touches(h, a, b) for a, b in outside)
                and not (h.start > asked_at and any(a <= h.start and h.end <= b for a, b in background))
            ]
            if not hits:
                return self._result(question, normalized, None, intent, "handoff", 0.0, [], "out_of_scope")

        if not named and _asks_together(compact) and _SEVERAL_PROJECTS.search(compact):
            # 「一期二期能一起报不」: several projects together, a steward's question, not the parallel topic
            return self._result(question, normalized, None, intent, "handoff", 0.0, [], "several_projects")
        if not named and _PROJECT_STATUS.search(compact):
            # 「咱们项目还有哪些手续没办完」: the whole project's progress, from the ledger of a bound group
            return self._result(question, normalized, None, "status", "handoff", 0.0, [], "project_status")
        candidates = self._rank(hits, named=named, mentioned=mentioned)
        if item_probs:
            before = bool(candidates)
            written = {h.item for h in hits if h.exact and h.alias and not h.context}
            candidates = self._blend(candidates, item_probs, named=named, written=written)
            if before and not candidates and not self._is_smalltalk(compact):
                return self._result(question, normalized, None, intent, "handoff", 0.0, [], "model_no_item")

        if not candidates:
            if self._is_smalltalk(compact):
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
                return self._result(question, normalized, top.item, intent, "clarify", top.score, close, "ambiguous")
        return self._result(question, normalized, None, intent, "handoff", top.score, candidates, "low_confidence")

    def _rank(self, hits: list[_Hit], *, named: set[str], mentioned: set[str]) -> list[Candidate]:
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
        self, question: str, normalized: str, hits: list[_Hit], intent: str, candidates: list[Candidate]
    ) -> MatchResult | None:
        """A message about several items: 「水保和林草分别几个工作日」 gets each (item, intent);
        「环评能和施工许可证并联办吗」 (running them together) the parallel topic and the first item's process."""
        text = compact_text(question)
        # A long message names items as background and asks about one, unless what it asks is whether they
        # run together (「…环评、能评、水保都还没开始，想问一下这几个是不是可以同时报」).
        together = _asks_together(asking_clause(normalized))
        # 「、」 is punctuation, gone from the compact text: the enumeration is read in the message as written
        if (len(text) > SEVERAL_CHARS and not together) or not (_SEVERAL.search(text) or _SEVERAL.search(question)):
            return None
        named = sorted((h for h in hits if self._outright(h) and not h.context), key=lambda h: h.start)
        items = list(dict.fromkeys(h.item for h in named))
        if len(text) > SEVERAL_CHARS:
            # 「…已经完成了备案，环评也在做，想问一下用地规划许可证和工程规划许可证能不能一起办」: the items of the
            # clause that asks, not those of the story before it
            asked = set(self._named_items(asking_clause(normalized)))
            if asked:
                named = [h for h in named if h.item in asked]
                items = [i for i in items if i in asked]
        if (
            len(items) == 1
            and "parallel" in self.kb.items
            and _asks_together(text)
            and _MAY.search(text)
            and not _TOGETHER_IF.search(text)  # 「一起报的话几天能批完」 asks how long
            and not _LATIN_TOKEN.search(normalized)  # a partner in latin letters is named (by _latin_hits)
        ):
            # 「人防和消防能一起审吗」「规划许可和施工图审查能一起走吗」: one item named outright and a partner joined to it
            # by 和/跟/与/同 that names none (消防, 规划许可: which one?) — whether they may run together, still
            start, end = _name_span(named)
            before = text[: max(start - 1, 0)]
            # (「能和施工图审查一起报吗」 leaves out what goes with it: a follow-up's, read in its conversation)
            partner_before = start > 0 and text[start - 1] in _PARTNER_MARKS and before not in ("", "那")
            if (partner_before and not _MAY.fullmatch(before)) or _PARTNER_AFTER.match(text, end):
                result = self._result(
                    question, normalized, "parallel", "process", "answer", candidates[0].score, candidates, "several"
                )
                return replace(result, asks=(_RUN_TOGETHER, Ask(items[0], "process")))
        if len(items) < 2:
            return None
        top = candidates[0]
        if _asks_together(text) and "parallel" in self.kb.items:
            # The parallel topic (what is asked: whether they run together), then the first item asked how it
            # runs: 「能评能和环评并联吗」; with what the other clauses ask when there are such (「水保和洪评能同时弄吗？分别找谁」).
            asks: tuple[Ask, ...] = self._together_and_more(normalized, items) or (
                _RUN_TOGETHER,
                Ask(items[0], "process"),
            )
        else:
            asks = tuple(Ask(k, intent) for k in items[:MAX_ASKS])
        result = self._result(
            question, normalized, asks[0].item, asks[0].intent, "answer", top.score, candidates, "several"
        )
        return replace(result, asks=asks)

    def _together_and_more(self, normalized: str, items: list[str]) -> tuple[Ask, ...] | None:
        """「水保和洪评能同时弄吗？分别找谁」「消防验收和竣工验收备案可以一起申请吗？消防验收收费不？」: a clause asking
        whether the items run together (the parallel topic) beside clauses asking something else, each about
        the items it names — or, said of them all (分别, 各, 都), every item named. None when a clause that asks
        cannot be read so (no sure intent, no item, a status question): the together reading alone then."""
        asks: list[Ask] = []
        asking = 0
        for clause in (c for c in normalized.split(" ") if c):
            if not _asks(clause):
                continue
            asking += 1
            if _asks_together(clause) and not _ALSO.search(clause):
                asked_together = _RUN_TOGETHER
                if asked_together not in asks:
                    asks.append(asked_together)
                continue
            asked = self._clause_intent(clause)
            # the items this clause names (the message's hits keep one place per item: 「…用规证…？用规证要啥材料」)
            here = [item for item in self._named_items(clause) if item in items]
            if not here and _EACH.search(clause):
                here = items
            if asked is None or asked == "status" or not here:
                return None
            asks += [Ask(item, asked) for item in here if Ask(item, asked) not in asks]
        if asking < 2 or _RUN_TOGETHER not in asks:
            return None
        return tuple(asks[:MAX_ASKS])

    def _named_items(self, text: str) -> list[str]:
        """The approval items a piece of text names outright, in the order written."""
        hits = sorted(self._span_hits(compact_text(text)), key=lambda h: h.start)
        return list(dict.fromkeys(h.item for h in hits if self._outright(h)))

    def _outright(self, hit: _Hit) -> bool:
        """Whether a hit names an approval item outright: written as one of its names, where the message has it,
        strong enough to be offered."""
        return (
            hit.exact
            and hit.start >= 0
            and hit.score >= self.thresholds.clarify
            and self.kb.items[hit.item].kind == "item"
        )

    def _clause_asks(
        self, question: str, normalized: str, hits: list[_Hit], candidates: list[Candidate]
    ) -> MatchResult | None:
        """「消防验收去哪个窗口？竣工验收备案又在哪办？」「可研批复要几天？初步设计呢？」: two or more clauses
        that ask, each naming its own item (or none, or ending in 呢: the clause before's); one ask per clause,
        in the order written. A clause naming several items, a status ask or an ask without an item is left
        to the rest of the matcher."""
        if len(compact_text(question)) > CLAUSE_ASKS_CHARS or not candidates:
            return None
        named = [h for h in hits if self._outright(h) and h.named and not h.context]
        asks: list[Ask] = []
        item: str | None = None
        intent: str | None = None
        asking_clauses = 0
        at = 0
        clauses = [c for c in normalized.split(" ") if c]
        # 「…环评批复还要等几天 想问下节能审查要多久」: what comes before 想问 is the story, not the questions
        marked = max((i for i, c in enumerate(clauses) if _ASK_MARKER.search(c)), default=0)
        if sum(1 for c in clauses[marked:] if c.endswith("呢") or _asks(c)) < 2:
            return None  # at most one clause can ask: the loop below would find fewer than two asks
        for index, clause in enumerate(clauses):
            start, at = at, at + len(clause)
            if index < marked:
                continue
            here = {h.item for h in named if start <= h.start < at}
            elliptic = clause.endswith("呢")
            if not (_asks(clause) or (elliptic and asks)):
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
        clauses = [c for c in result.normalized.split(" ") if c and _asks(c)]
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

    def _clause_intent(self, clause: str) -> str | None:
        """What one clause asks: the model's intent when it is sure of it, else the first strong cue's."""
        if self.model is not None:
            probs = self.model.intent_probabilities(clause)
            best = max(probs, key=probs.__getitem__)
            if probs[best] >= self.weights.clause_intent:
                return best
        found = read_cues(clause).first_strong
        return min(found, key=found.__getitem__) if found else None

    def _blend(
        self, candidates: list[Candidate], probs: dict[str, float], *, named: set[str], written: set[str]
    ) -> list[Candidate]:
        """Join the exact evidence with the model's item probabilities (see Weights). `written`: the items
        whose name is in the message as written (not typed by sound: a typo is not a word the model knows)."""
        w = self.weights
        p_none = probs.get(NO_ITEM, 0.0)
        near_miss = (
            p_none >= w.no_item_sure
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

    def _span_hits(self, compact: str) -> list[_Hit]:
        hits: list[_Hit] = []
        key, owners = key_of(compact) if has_cjk(compact) else ("", [])
        index = self._index
        chars = set(compact)
        candidates = {i for char in chars for i in index.by_first_char.get(char, ())}
        if key:
            for syl in {syllable(char) for char in chars}:
                candidates.update(index.by_first_syllable.get(syl, ()))
        for phrase in [index.phrases[i] for i in sorted(candidates)]:
            start = compact.find(phrase.text)
            if start >= 0:
                is_alias = phrase.kind == "alias" and len(phrase.text) >= 2
                hits.append(
                    _Hit(
                        phrase.item,
                        phrase.base,
                        start,
                        start + len(phrase.text),
                        exact=True,
                        named=is_alias,
                        alias=is_alias,
                    )
                )
                continue
            if phrase.pinyin and key:
                at = key.find(phrase.pinyin)
                if at >= 0:
                    begin = owners[at + 1]
                    end = owners[at + len(phrase.pinyin) - 1] + 1
                    if is_word(compact[begin:end]):
                        continue  # 「工地」 is the word for a building site, not 供地 typed by sound
                    if compact[begin] in _INTERROGATIVES:
                        continue  # 「找谁报」 asks who, it is no 水保 typed by sound
                    if compact[end - 1] in _PARTICLES and end == len(compact):
                        continue  # 「能先出批复吗」 ends a question, it is no 赋码 typed by sound
                    named = phrase.kind == "alias" and len(phrase.text) >= 3 and end - begin >= 3
                    hits.append(
                        _Hit(
                            phrase.item,
                            phrase.base * EVIDENCE.sound,
                            begin,
                            end,
                            named=named,
                            alias=phrase.kind == "alias",
                        )
                    )
                    continue
            if phrase.gapped:
                found = _gapped(phrase.text).search(compact)
                if found:
                    alias = phrase.kind == "alias"
                    hits.append(
                        _Hit(phrase.item, phrase.base * EVIDENCE.gapped, found.start(), found.end(), alias=alias)
                    )
        return hits

    def _combo_hits(self, compact: str) -> list[_Hit]:
        hits = []
        for parts, item, base in self._index.combos:
            positions = [compact.find(part) for part in parts]
            if all(pos >= 0 for pos in positions):
                covers = tuple((pos, pos + len(part)) for pos, part in zip(positions, parts, strict=True))
                start, end = min(covers)
                hits.append(_Hit(item, base, start, end, named=True, covers=covers))
        return hits

    def _latin_hits(self, normalized: str) -> list[_Hit]:
        tokens = _LATIN_TOKEN.findall(normalized)
        if not tokens:
            return []
        compact = normalized.replace(" ", "")
        hits = [
            _Hit(
                self._index.latin_short[t],
                EVIDENCE.latin,
                compact.find(t),
                compact.find(t) + len(t),
                named=True,
                alias=True,
            )
            for t in tokens
            if t in self._index.latin_short
        ]
        joined = "".join(tokens)
        for spelled, item in self._index.latin_long:
            if spelled in joined:
                at = compact.find(spelled[:3])
                hits.append(
                    _Hit(item, EVIDENCE.latin, at, at + len(spelled) if at >= 0 else -1, named=True, alias=True)
                )
        return hits

    def _department_hits(self, compact: str, already: set[str]) -> list[_Hit]:
        """A department named with no item: its only item is likely, several items are a guess."""
        hits = []
        for name, items in self._index.departments:
            at = compact.find(name)
            if at < 0 or not items or any(i in already for i in items):
                continue
            e = EVIDENCE
            score = (
                e.department_one
                if len(items) == 1
                else (e.department_few if len(items) <= e.department_few_max else 0.0)
            )
            hits += [_Hit(i, score, at, at + len(name)) for i in items if score]
        return hits

    def _discount_context(
        self, compact: str, hits: list[_Hit], normalized: str, probs: dict[str, float] | None = None
    ) -> None:
        """Lower an item the message mentions as done or as a point in time (「可研批完后」), or names only in
        a clause that states it done while a clause that asks names another item (「核准批复拿到了，接下来安全
        条件审查是去市应急局还是旗应急局」: the background, not the subject). `probs` given: the model reads too."""
        background = _background_spans(normalized, done=True) if probs else []

        def behind(hit: _Hit) -> bool:
            # a phrase (or every part of a combination: 「消防…设计」) inside a background clause
            spans = hit.covers or (((hit.start, hit.end),) if hit.exact else ())
            return bool(spans) and all(any(a <= x and y <= b for a, b in background) for x, y in spans)

        asked = {h.item for h in hits if h.exact and h.alias and self.kb.items[h.item].kind == "item" and not behind(h)}
        starts = _clause_starts(normalized)
        for hit in hits:
            after = hit.end > 0 and (
                _CONTEXT_AFTER.match(compact, hit.end)
                or (_NOT_YET_AFTER.match(compact, hit.end) and bool(asked - {hit.item}))
            )
            # 「拿到了」 ending the clause before (「可研批复拿到了，初设几天」) is no 「拿到了初设」
            before = hit.start > 0 and hit.start not in starts and _CONTEXT_BEFORE.search(compact, 0, hit.start)
            aside = probs is not None and hit.item not in asked and behind(hit) and bool(asked)
            if after or before or aside or self._attached_paper(compact, hit):
                hit.score *= EVIDENCE.context
                hit.context = True

    @staticmethod
    def _attached_paper(compact: str, hit: _Hit) -> bool:
        """「竣工备案要附消防验收的意见书吧」: an item named right after 附 as the issuer of a paper (its 意见书,
        批复 …) names the paper attached, not what is asked about."""
        if hit.start <= 0 or not compact.endswith(("附", "附上"), 0, hit.start):
            return False
        named_to = max((b for _, b in hit.covers), default=hit.end)  # a combination (消防+验收): its last part
        end = named_to + 1 if compact.startswith("的", named_to) else named_to
        # the paper is in the name (「消防验收意见书」, one of its names) or right after it
        return bool(_ISSUED_DOCUMENT.search(compact, hit.start, named_to) or _ISSUED_DOCUMENT.match(compact, end))

    def _name_spans(self, hits: list[_Hit]) -> list[tuple[int, int]]:
        """Spans of item names, whose words (条件 in 安全条件审查) are not intent cues.

        A topic's name is an intent cue when an item is named too: in 「水保能容缺吗」 容缺 asks
        about the item's tolerance, while in 「容缺受理在哪个窗口」 the topic is the subject.
        """
        named = {h.item for h in hits if h.named}
        return [
            (h.start, h.end)
            for h in hits
            if h.exact and h.start >= 0 and not (self.kb.items[h.item].kind == "topic" and named - {h.item})
        ]

    @staticmethod
    def _drop_contained(hits: list[_Hit]) -> list[_Hit]:
        spans = [h for h in hits if h.start >= 0]
        combos = [h for h in hits if h.covers]
        kept = []
        for hit in hits:
            inside = hit.start >= 0 and any(
                other.item != hit.item
                and other.start <= hit.start
                and hit.end <= other.end
                and (other.end - other.start) > (hit.end - hit.start)
                and other.score >= hit.score * EVIDENCE.contained
                for other in spans
            )
            inside = inside or any(
                combo.item != hit.item and any(a <= hit.start and hit.end <= b for a, b in combo.covers)
                for combo in combos
            )
            # A name read by sound or with a stray character (「备案怎」 as 备案证) that overlaps a longer name of
            # another item written exactly (「竣工验收备案怎么弄」) is that name's tail, not a name of its own.
            inside = inside or (
                hit.alias
                and not hit.exact
                and hit.start >= 0
                and any(
                    other.item != hit.item
                    and other.exact
                    and other.alias
                    and other.start < hit.end
                    and hit.start < other.end
                    and (other.end - other.start) > (hit.end - hit.start)
                    for other in spans
                )
            )
            if not inside:
                kept.append(hit)
        return kept

    def _fuzzy_hits(self, compact: str, already: set[str]) -> list[_Hit]:
        if not has_cjk(compact) or not self._index.fuzzy_texts:
            return []
        index = self._index
        query = compact[:200]
        sharing = sorted({i for char in set(query) for i in index.fuzzy_by_char.get(char, ())})
        found = process.extract(
            query,
            [index.fuzzy_texts[i] for i in sharing],
            scorer=fuzz.partial_ratio,
            score_cutoff=EVIDENCE.fuzzy_cutoff,
            limit=8,
        )
        hits = []
        for text, score, position in found:
            item = index.fuzzy_items[sharing[position]]
            if item in already or (len(text) >= 5 and score < EVIDENCE.fuzzy_long_cutoff):
                continue
            hits.append(_Hit(item, score / 100 * EVIDENCE.fuzzy))
            already = already | {item}
        return hits

    def _faq_hit(self, compact: str) -> tuple[_FaqEntry | None, float]:
        faqs, texts = self._faq_table
        if not texts or len(compact) < 4:
            return None, 0.0
        best = process.extractOne(compact[:200], texts, scorer=fuzz.ratio, score_cutoff=EVIDENCE.faq_cutoff)
        if best is None:
            return None, 0.0
        return faqs[best[2]], float(best[1])

    def _is_smalltalk(self, compact: str) -> bool:
        rest = compact
        for phrase in self._index.smalltalk:
            rest = rest.replace(phrase, "")
        rest = _FILLER.sub("", rest)
        return len(rest) <= 1 and len(compact) <= 20

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
