"""Reading a follow-up in its conversation: what a short message leaves out (its item, what it asks) taken
from the asker's earlier question, and what it points back to (「第一个」「这俩」「不是环评 是能评」)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from knowledge.context import ASKED_WITHOUT_ITEM, Context
from knowledge.follow_up_gate import GATE_ANSWER, GATE_OFFER, GATED_REASONS, FollowUpGate
from knowledge.intents import cue_book, read_cues
from knowledge.match_result import MAX_ASKS, RUN_TOGETHER, Ask, Candidate, MatchResult, asked_of, taken_as
from knowledge.model import Item, KnowledgeBase
from knowledge.model_text import TextModel
from knowledge.names import CONTEXT_BEFORE, Hit, PhraseIndex, name_span, waited_for
from knowledge.normalize import compact as compact_text
from knowledge.scoring import Thresholds, Weights
from knowledge.wording import (
    ALTERNATIVE,
    ASKING_END,
    EACH,
    ELLIPSIS,
    ISSUED_DOCUMENT,
    MAY,
    PARTICLES,
    PARTNER_MARKS,
    SEVERAL_PROJECTS,
    TOGETHER,
    TOGETHER_GOES,
    TOGETHER_IF,
    TOGETHER_WORDS,
    asks_by_form,
    asks_something,
    clause_intent,
    clause_starts,
)

FOLLOW_UP_CHARS = 14  # a follow-up that borrows from the previous question is short
OWN_INTENT_SURE = 0.5  # a 「…呢」 follow-up asks its own question when the model reads it this surely
DOCUMENT_FOLLOW_UP_CHARS = 24  # 「施工图审查合格书我们还没拿到，能先受理吗」: a follow-up about one of its documents

# 它 standing for the earlier item (not 其它 "other", not 它们 or 它俩 "they"); so does 这个/那个 as the partner of a
# together question (「还有地质灾害那个评估 跟这个能一起弄吗」 after 压覆矿).
_IT = re.compile(r"(?<!其)它(?![们俩])|(?<=[跟和与同])(?:这个|那个)(?=能|可以|一起|一块|同时|并|合|放)")
# Words many items' names share: in a follow-up they tell apart only items asked about at once.
_NAME_WORDS = frozenset({"审查", "验收", "备案", "证明", "评价", "评估", "施工"})
# 「不是问材料 是问多久」「我问的是要不要做 不是要啥材料」: what the asker meant to ask, against what was answered.
_ASKED_OTHERWISE = re.compile(
    r"^(?:我)?不是(?:问|要)?.{1,8}?(?:我)?(?:是|就是)?(?:想)?问(?:的是)?(?P<asked>.{2,10})$"  # 「不是问材料 问的是多久」
    r"|^(?:我)?(?:是)?问的不是.{1,8}?(?:而)?是(?P<asked_then>.{2,10})$"  # 「我问的不是材料 是多久」
    r"|^(?:不是|不对)?(?:我)?(?:是)?问(?:的是)?(?P<asked_first>.{2,10}?)(?:而)?不是(?:问)?.{1,8}$"  # 「我是问多久 不是问材料」
)
# Words that begin or end names but say nothing of which procedure: 「一般要多久」「文件要盖章吗」「开工前要拿到吗」.
_ORDINARY_WORDS = frozenset(
    {
        "手续",
        "办理",
        "申请",
        "审批",
        "一般",
        "文件",
        "开工",
        "竣工",
        "电子",
        "生产",
        "投资",
        "使用",
        "查询",
        "证书",
        "意见",
    }
    | {"批复", "批文", "报告", "方案", "表", "项目", "建设", "工程", "许可", "规划", "认证", "登记", "企业"}
)
# What may open a follow-up before the word it is about: 「那节能那个…」「还是说回取水」「就是预审…」「回到刚才预审那个…」.
_LEAD = re.compile(r"(?:那么|那个|那|还是说回|说回|回到|刚才|刚刚|还是|就是|再问下|我们|咱们)+")
# 「土地那个」「节能的那个」: a word said as "the … one"
_THE_ONE_OF = re.compile(r"的?那个")
_POINTS_OR_TELLS = re.compile(r"这|那|了")


def _opening_at(text: str) -> int:
    """Where the word a follow-up is about begins, after what may open it (`_LEAD`: 那, 还是说回, 就是…)."""
    lead = _LEAD.match(text)
    return lead.end() if lead else 0


# What may come before a message's subject: nothing, 那, or a sound of assent (「哦哦 那初设是不是要等可研批了才能报」).
_BEFORE_SUBJECT = re.compile(r"(?:[哦噢嗯喔啊]+|好的?|对了)?(?:那个|那)?")

_NEVER_INHERIT = frozenset({"out_of_scope", "smalltalk", "empty", "learned", "project_status"})
# What a follow-up asks of a paper of the earlier item: whether it is needed, in what form, whether it may come later.
_PAPER_ASKED = frozenset({"materials", "tolerance", "other"})
# 证 inside 论证, 验证, 证件 and the bare 手续, 资质 name no procedure of their own (`reaches_gate`; one character before)
_NOT_OWN_SUBJECT = re.compile(r".(?:手续|资质)|[论验]证|.证件")
# A report or a paper of the earlier procedure, though its name is out of scope (「竣工测量报告要找有资质的单位吗」).
_PAPER = re.compile(r"报告|证明|意见书|协议|合同|凭证|发票")
# A word of a paper a few characters on (「社会稳定风险评估报告」: 评估 between the phrase and 报告).
_PAPER_AFTER = re.compile(rf"[^，。？?]{{0,4}}?(?:{_PAPER.pattern})")
# 「不是环评，是能评」「我说的是林草」「搞错了」: the asker corrects what the bot took the earlier question to be about
# (是不是 is a question, 不是说…吗 a doubt, 对不对 a question, 不对外 no correction; 写错/打错 are of documents —
# 「批复上名称写错了」 — unless they open the message or say what was meant: 「打错了 是能评」).
_CORRECTION = re.compile(
    r"(?<!是)不是(?!说)|(?<!对)不对(?!外|应)|[搞弄说看]错|^(?:[打写]错了?|口误)|[打写]错了? ?(?:应该)?是(?!不是|否)"
    r"|我(?:问|说|指|想问)的是|我是(?:问|说|指)"
)
# Two short phrases set against each other: 「报告表 不是报告书」「我们是报告表 不是报告书」「不是环评 是能评」.
_CONTRAST = re.compile(r"(?:我们|我)?(?:是|要|做|办)?[^ ]{1,10} 而?不是[^ ]{1,10}|不是[^ ]{1,10} 而?是[^ ]{1,10}")

# A procedure of its own named in the message (one the knowledge base lacks): not a follow-up.
_OWN_SUBJECT = re.compile(
    r"许可|审批|审查|审核|执照|(?<![拿出发领办取到])证|登记|备案|评价|评估|手续|验收|认证|资质|经营|预售"
)


# Right before a procedure word: where or at what level it is done asked (「在哪审批」「几级审批」), no name of one.
_ASKED_BEFORE = re.compile(r"(?:在哪|去哪|哪里|哪儿|几级|哪级|哪一级|谁来|谁)$")
_OFFICE = re.compile(r"中心|局|科|处|窗口|大厅|部门")


def _names_own_procedure(text: str) -> bool:
    """Whether a message names a procedure or paper of its own by its own word (证明, 许可, 登记…) after words that
    could name one (「完税证明去哪开」「保税仓库注册登记也在海关办吗」): a matter the knowledge base may lack."""
    return any(
        word.start() >= 2
        and not _NOT_OWN_SUBJECT.match(text, word.start() - 1)
        and not _OFFICE.match(text, word.end())  # 「这个是登记中心办吧」: a department's name
        for word in _OWN_SUBJECT.finditer(text)
    )


# After an item's name: it is had (「项目代码有了 还要啥」「环评批复拿到了 还差啥」), not a point in time (「备案以后」).
_HAD_AFTER = re.compile(
    r"(批复|批文|意见书|意见|合格书|证)?(已经|已|都|早就|也)?(有了|拿到了?|批了|批下来了?|办完了?|办好了?|下来了|搞定了?|过了)"
    r"(?=还)"  # … and what else is asked next (「还要啥」): of the earlier item, not what comes after it
)

# 「要附施工图吗」「附上出让合同」: attached to the application, so what it names is a paper, whatever it is named after.
_ATTACHED = re.compile(r"附上|附件|(要|需|得)附(?!近)|附吗|附不")
# The form a document is handed in.
_DOCUMENT_FORM = re.compile(r"原件|复印件|副本|盖章|签字|电子版|扫描件|几份|几套|" + _ATTACHED.pattern)
# A follow-up asking whether, or in what form, a document is handed in.
_DOCUMENT_ASKED = re.compile(
    _DOCUMENT_FORM.pattern
    + r"|要交|也要|交吗|要带|必须带|带吗|提供|必须|需要吗|要不要"
    + r"|(意见书|意见|批复|批文|证明|合格证|凭证)(都)?要(吗|么|不$)"  # 「消防验收意见书要吗」, as 「…也要吗」
    + f"|^(还)?(需要|用不用)(?!先)(?!.*({TOGETHER_WORDS})).+(吗|不)$"
)
# Procedure words that say no procedure by themselves: whose 备案 it is, the conversation says.
_BARE_PROCEDURE_WORDS = frozenset({"备案", "核准", "审批", "验收", "登记"})

# …not people going together, several projects, or the online portal (「能和老板一起去办吗」「一期二期能一起报不」)
# 人防 is a procedure; 「手续没办完 施工能同时进行吗」 asks whether works may start, not whether procedures run together
_NOT_PROCEDURES = re.compile(
    r"项目|一期|二期|三期|网上|线上|老板|我们|人(?!防)|同事|施工能|开工能|动工能|施工可以|开工可以"
)

# A document named: 「营业执照副本」「出让合同」「完税证明」「公众参与说明」「概算书」.
_DOCUMENT_NOUN = re.compile(r"执照|合同|证明|凭证|报告|意见|说明|图|书|表|方案|证|批复|票据|发票|协议|文件|材料|函")
# A phrase that ends like a procedure's name (用地预审, 图审, 核准, 规划核实; 选址意见书 and 项目建议书 are papers
# whose names are the procedures'), not like a way or a paper (出让, 出让合同): `_in_words_of_earlier`.
_NAMES_A_PROCEDURE = re.compile(r"(审|审查|审批|许可|证|评|评估|备案|核准|验收|登记|核实|论证|码|意见书|建议书)$")
# Right after a paper's name: how, where or when it is done (「出让合同要怎么签」「…多久能签」「…一般几天」) — the
# procedure that does it.
_HOW_DONE = re.compile(
    r"(要|得|该|应该|一般)?(怎么|咋|如何|在哪|去哪|哪里|找谁|谁来|啥时候|什么时候|(多久|几天)(能|才能|可以)?签)"
    r"|一般(要)?(多久|几天)"
)
# Right after a word of a procedure's name: the paper that procedure issues (「选址那个意见书多久」).
_PROCEDURE_PAPER_AFTER = re.compile(r".{0,3}(意见书|建议书)")
# A follow-up asking whether a procedure is done, not how a document is handed in.
_DOES_A_PROCEDURE = re.compile(r"(要|也要|必须|需要|得)(先)?(做|办|报|申请|评|审|改)|变更")

# 「…签完以后才能办是吧」: what must be done before the procedure the conversation is about (its name left out).
_ONLY_AFTER = re.compile(
    r"((以后|之后|后|完)才|(了|完|好|到)(?P<gap>[^才就了完好到]{0,6}?)(就|才))(能|可以)(办|报|申请|领|拿|批|做|(?P<filed>备案))理?(了)?(吗|吧|是吧|不|呢|啊)?$"
)
# 「…包含在里面吗」「…算其中一个吗」「…也在里头吗」: whether something is one of the earlier item's (certificates,
# documents, steps).
_AMONG = re.compile(
    r"(包含|包括|算)(在)?(里面|里头|其中|这里面|这里头|之内|在内|之列)|(也|都)在(里面|里头|其中|之列)"
    r"|(算|是)(其中|里面)的?(一个|一项|之一)"
)
# 「这两个」「这俩」「这三个」「两个都」: the last items spoken of.
_ALL_OF_THEM = re.compile(r"(那|那么)?(都|全都|全部)(?![不没])")  # 「都发改委批吗」「都网上?」 at the start
_EACH_FIRST = re.compile(r"(那|那么)?(分别|各自)")  # 「分别要多久」 at the start: each of the items spoken of
_THESE = re.compile(r"这(两|俩|三|仨)个?|^(两|三)个|(两|三)个都|它俩")
_SEVERAL_MEANT = re.compile(r"这几|都得")  # 「这几个」「都得…」: several items meant, beside those `_THESE` names
# The works themselves going ahead (not another procedure): 「能先动土不」「可以先开工吗」.
_WORK_AHEAD = re.compile(r"先(动土|动工|开工|施工|进场|开挖|平整|建|盖|试生产|生产|投产|营业|用)")
# 「第一个要多长时间」「刚才说的第二个呢」: one of the items spoken of, by its place in the conversation.
_ORDINAL = re.compile(
    r"(?:第(一|二|三|1|2|3)个|头一个|(最后|最末)(?:一|那|这)?个(?!环节|步骤|阶段|流程|问题|材料|文件|附件|资料|表))(?![工月星证本])"
)
# 「拿到证」「办证」「领个证」「下证」「证啥时候能拿到」: a certificate asked for by the bare word (not 证明, 证件, 这几个证)
_CERTIFICATE_ASKED = re.compile(
    r"(?:拿|办|领|发|出|下)(?:到|下|了|下来)?(?:个|这个|那个)?证书?(?![明件])|^证书?(?:啥时候|什么时候|多久|几天|哪天)"
)
# After a word: a point in time, a thing done (竣工了) or a drawing of that stage (竣工图), not an item's name.
_TIME_OR_DONE = re.compile(r"了|后|以后|之后|前|之前|完|图")
_ORDINAL_PLACE = {None: 0, "一": 0, "1": 0, "二": 1, "2": 1, "三": 2, "3": 2}  # None: 头一个 (最后那个: the last)
# 「前面那个多久」「前一个呢」「前者呢」 after 取水许可 and then 洪评: the one before the last, of the last two; 「后面那个」
# 「后者」 the last
_BEFORE_OR_AFTER = re.compile(
    r"(?<![最然之以随目提当])(?:(前面|前头|上一|前一)|(后面|后头|后一))(?:那|这)?个"  # not 提前一个月, 目前一个都…
    r"(?!环节|步骤|阶段|流程|问题|材料|季度|礼拜|星期|周|月|人|次|工|证|本|多(?![久长少])|半|回答|回复)"
    r"|(前者)|后者"  # 「前者多少个工作日」「后者呢」: of two
)
# 「先办这个还是先环评」「谁先谁后」「哪个在前」: which of two comes first.
_ORDER_CHOICE = re.compile(r"先.{1,10}还是.{0,3}先|谁先谁后|哪个(先|在前)|先后顺序")
# 「这个代码」「那个证」「该报告」: pointing at something already spoken of.
_POINTER = re.compile(r"这个|那个|该")
# Right before a procedure word: a pointer (「这个证现在啥状态」, 「这张证」), at the earlier item when its names hold
# the word.
_POINTED_BEFORE = re.compile(rf"(?:{_POINTER.pattern}|这张|那张)$")
# Words many items' names share: after a pointer they point at no item in particular (「这个项目」).
_SHARED_WORDS = frozenset(
    {"项目", "建设", "工程", "施工", "审批", "审查", "许可", "申请", "手续", "报告", "验收", "评估", "评价"}
)

# Right after a name: it is done (「出让合同签了就能办吗」: the paper signed is what the earlier item waits for).
_DONE_RIGHT_AFTER = re.compile(r"(签|办|拿|批|交|做|审|缴)(了|完|好|下来)")
# A procedure named as not done yet (「消防验收没完成」「图审还没完」) or as what must come first (「需要先拿到用地预审意见吗」):
# in a follow-up it is what the earlier item waits for, not what is asked about.
_ALSO_TOGETHER = re.compile(f"也(是)?({TOGETHER_WORDS})")
_NOT_DONE_YET = re.compile(
    r"(还|都|也)?(没|未|没有|还没)(有)?(完成|完|办完|办好|弄完|做完|审完|批|下来|出来|拿到|通过|过|出结果|定稿|出(?!现|问题|让|差|去|门)|结束|赋"
    # 「人防那块还没验 能先备案吗」「环评还没报 能先…」: a bare verb only where its clause ends or the question turns
    # (not 没办法, 没做要求, 没有报告书, 没报批)
    r"|(?:验收|验|办|做|审|报)(?=$|[ ，,]|呢|的话|能|可以|就|先))"
)
# …also when what it issues is named between (「人防那边的批复还没下来」「消防验收意见还没拿到」; not a paper it is applied
# with: 「工程规划证那块方案还没定稿 能先报吗」 asks of that item), or the name follows 缺 (「缺的是人防那个意见」; not 容缺)
_NOT_HAD_AFTER = re.compile(
    r"(那边|那块|这边|那个)?的?(意见书?|批复|批文|手续|证书?|合格书|结果)?(?:" + _NOT_DONE_YET.pattern + ")"
)
_MISSING_BEFORE = re.compile(r"(?<!容)缺(的是|了|个|少)?$")
_ISSUED_AFTER = re.compile(r"(那个|那边的?|的)?(意见书?|批复|批文|证书?|合格书|结果|手续)")
# A together word that ends the question (「能跟它们一块吗」「也能并联吗」「是一块审的吗」), or the earlier item said to be
# handled within another (「是不是合在图审里一起审了」): whether the procedures run together
_TOGETHER_AT_END = re.compile(rf"({TOGETHER_WORDS})(审|办|报|批)?(的|了)?(吗|不|么|嘛|吧|没|呢|？|\?)")
_TOGETHER_DONE = re.compile(r"(合|放)(在|到).{1,6}(里|中)?(一起|一块)(审|办|报|批)")
PROJECT_CODE = "project_code"  # the topic every procedure needs first (its key in the knowledge base)
# 「项目代码还没有能先报吗」: the code not had, then whether the procedure may go ahead (only of the code: 「环评没有能
# 容缺的材料吗」 asks whether there is such a material)
_CODE_NOT_HAD = re.compile(r"(还|也)?没有?(的话)?(?=能|可以|就|先)")
_FIRST_NEEDED = re.compile(r"(需要|要|得|必须|是不是)(先)(把|拿到|取得|拿|有|办|办完|做|做完|批|报|审)")
# 「顺便问下」「另外问一下」「还有个事」: a new matter, not a follow-up of the earlier one.
# (「另外还要交什么」 asks more of the same matter: 另外 counts only before 问, 咨询…)
_NEW_MATTER = re.compile(
    r"^(对了|那个|老师)?((顺便|顺带|另外)(再)?(问|咨询|请教|打听)|还有(个|一个|件)事|再问(个|一个)(别的|其他)?|换个问题|另一个问题)"
)


def starts_new_matter(text: str) -> bool:
    """Whether a message opens a new matter first (「顺便问下」「另外问一下」「换个问题」), not a follow-up."""
    return bool(_NEW_MATTER.match(compact_text(text)))


# Words of order between two procedures: 「…是它的前置吗」「先…再…」「…过了才能报吗」「批完以后下一步…」「得先拿到…」
# 「…在用地预审前面办完吗」 — not 「怎么才能快点批」「写完了怎么报」「以后都在网上办吗」「之前问的环评」.
_FIRST_DONE = r"(有|拿|批|办|做|审|查|弄|过(?=[吧吗么呢了]|$))"  # what is done first: 「得先拿到」「都得先过吧」
_BEFORE_ONE = r"在.{1,8}(之前|前面|前头|前)(?!那个|这个|的)"  # 「在用地预审前面办完吗」
_ORDER = re.compile(
    r"前置|谁先|哪个先|先.{0,8}再|有先后|先后顺序"
    r"|(过了|批完了?|办完了?|审完了?|做完了?|弄完了?|签完了?|下来了?|都完了?)(以后|之后)?(是不是|是否)?(才能|才可以|再|就能|下一步|接着)"
    rf"|(得|要|必须|需要)先{_FIRST_DONE}|{_BEFORE_ONE}|下一步"
)
# …of the procedures named having to be done first (not which of them comes first: 「可研和核准有先后吗」「哪个先批」)
_DONE_FIRST = re.compile(
    r"(都)?(完了?|过了?|弄完了?|办完了?|做完了?|批完了?)(以后|之后)?(是不是|是否)?(才能|才可以|再)"
    rf"|(得|要|必须|需要)(先|提前){_FIRST_DONE}|{_BEFORE_ONE}"
)
# Who reviews or approves something: a procedure of its own, asked of whoever does it.
_WHO_DOES_IT = re.compile(r"谁(审|批|管|负责)")
# 「中标通知书谁发」: who issues a paper, not what the earlier item asks of it
_WHO_ISSUES = re.compile(r"谁(?:发|开|出具)")
_THING_ENDS = frozenset("码证表书")
# A follow-up asking whether the earlier item goes ahead without a document.
_WITHOUT_IT = re.compile(
    r"容缺|先受理|先报|先办|先收|后补|晚点交|晚些交|以后再交|后交|缓交"
    # 「没有施工图审查合格书能办吗」 (not 「没有问题可以办吗」「没时间过去能申请吗」)
    r"|^(?!没有?(问题|事|时间|空|搞|弄|明白|懂|想|听))没有?.{2,14}(能|可以|行)(不能)?(办|报|受理|申请|批)"
)

# What may stand around an item's name given as the item of the earlier question (「就是用地预审那个」「环评的呢」);
# "|" is where the name was.
_ONLY_FILLER = re.compile(
    r"(我说的是|我问的是|问的是|说的是|就是|是|那个|这个|那)*\|(的|那个|这个|呢|吧|啊|呀|哈|嘛|了)*"
)
# Right after an item's name: what is handed in for it asked (「项目建议书要交哪些东西」), not whether it is a paper.
_OWN_LIST_ASKED = re.compile(r"(?:要|需要|得)(?:交|准备|提供|带|报)?些?(?:哪些|什么|啥|哪几)")
_WHAT = re.compile(r"上?(些)?(啥|什么|哪些|哪几)")  # 「要附啥」「附上哪些」: asks what is attached
_OF_THE_MECHANISM = frozenset({"materials", "process", "time_limit", "department"})  # what 容缺 itself asks of

_CHANNEL_TOPIC = "online_portal"  # where procedures are applied for: in a follow-up, the earlier item's way
# Times or costs added up (「加一块得多长时间」「加起来多少钱」), not procedures run together.
_ADDED_UP = re.compile(r"加(?:一块|一起|起来|在一起|到一起)|一共|总共|合计")
_CHANNEL_BEFORE = re.compile(r"(在|从|通过|到|去|用|走|上)$")
# Right after the portal: whether the earlier item is applied for there (「一网通办上能报吗」), not what the portal
# itself does (「一网通办上能办哪些」「…怎么注册」)
_CHANNEL_APPLIED = re.compile(
    r"(上|上面|里)?(也)?(能|可以|能不能|可不可以)(直接)?(报|办|申请|申报|提交|交)(吗|不|么|嘛|没|$)"
)
# 电子证照 is a name of the portal, and the form an approval is issued in: 「批完是电子证照吗」「还是电子证照」
# (「电子证照跟纸质的一样有效吗」: set against the paper one, it is the form too)
_E_CERTIFICATE_FORM = re.compile(r"(是|发|出|给|领|拿|下|还是|有)电子证照|电子证照(跟|和|与|同)纸质")
# Topics that are ways of applying, not procedures: 容缺 asked after one of them is the mechanism's own question
# (「有个附件暂时没有 系统不让提交 能容缺吗」 after 一网通办), as it is when asked of every item (「所有事项都能容缺吗」).
_CHANNELS = (_CHANNEL_TOPIC, "cross_province")
_EVERY_ITEM = re.compile(r"(所有|全部|其他|其它|其余|别的)的?(事项|手续|审批)")


def _bare_of(word: str) -> str:
    """The bare procedure word of a name that is only that word and what it issues (「备案证明」 -> 「备案」)."""
    for bare in _BARE_PROCEDURE_WORDS:
        rest = word[len(bare) :]
        if word.startswith(bare) and (rest == "证" or ISSUED_DOCUMENT.fullmatch(rest)):
            return bare
    return word


def _bare_words_at(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """The bare procedure words the names at these spans of `text` are (`_bare_of`), when every one is one; else empty."""
    words = [_bare_of(text[a:b]) for a, b in spans]
    return words if words and all(w in _BARE_PROCEDURE_WORDS for w in words) else []


def _siblings_by_word(kb: KnowledgeBase) -> dict[str, dict[str, str]]:
    """For each item, the bare procedure words that, after the first word of its own name (its first two
    characters: 消防 of 消防设计审查), make another item's own name (消防验收): word -> that item."""
    names = {key: {compact_text(n) for n in (item.name, item.short) if n} for key, item in kb.items.items()}
    siblings: dict[str, dict[str, str]] = {}
    for key, item in kb.items.items():
        for prefix in {name[:2] for name in names[key] if len(name) > 2}:
            for word in _BARE_PROCEDURE_WORDS:
                others = [k for k, own in names.items() if k != key and prefix + word in own]
                if len(others) == 1 and item.kind == "item":
                    siblings.setdefault(key, {})[word] = others[0]
    return siblings


def _own_words(item: Item) -> tuple[str, ...]:
    """The texts an item's knowledge gives of its own papers: each material's name and note (`_in_words_of_earlier`;
    its conditions too name other procedures as what comes first, which follow-ups ask of themselves)."""
    words = [t for m in item.materials for t in (m.name, m.note)]
    return tuple(compact_text(t) for t in words if t)


def _said_of(item: Item) -> str:
    """What an item's knowledge calls its own besides its papers: its names, its fee, its conditions. A phrase out of
    scope elsewhere that they speak of is the item's (原产地证's 签证, 压覆矿's 矿业权); its details and FAQ answers
    speak of other procedures too (环评's 未批先建 罚款), so they do not count."""
    texts = (item.name, item.short, *item.aliases, item.fee, item.prerequisites_note)
    return "\n".join(compact_text(t) for t in texts if t)


class FollowUpReader:
    """Reads a match result again in the asker's conversation."""

    def __init__(
        self,
        kb: KnowledgeBase,
        index: PhraseIndex,
        model: TextModel | None,
        thresholds: Thresholds,
        weights: Weights,
        read_alone: Callable[[str], MatchResult],
        gate: FollowUpGate | None = None,
    ) -> None:
        self.kb = kb
        self.gate = gate  # the learned reading of a follow-up the rules below hand off (None: they decide alone)
        self.read_alone = read_alone  # the matcher's reading of one message alone
        self.index = index
        self.model = model
        self.thresholds = thresholds
        self.weights = weights
        # each item's own words: its material list (`_in_words_of_earlier`)
        self.own_words = {key: _own_words(item) for key, item in kb.items.items()}
        self.said_of = {key: _said_of(item) for key, item in kb.items.items()}  # `reaches_gate`
        self.siblings = _siblings_by_word(kb)  # `_sibling_named`
        self.comes_after = {key: self._what_comes_first(item) for key, item in kb.items.items()}  # `_after_these`
        # the names of each department that handles an approval item (the government service hall, where every window
        # is, handles topics only): `_names_other_department`
        self.approval_departments = {
            key: tuple(word for word in (compact_text(w) for w in (dept.name, *dept.aliases) if w) if len(word) >= 2)
            for key, dept in kb.departments.items()
            if any(i.department == key and i.kind == "item" for i in kb.items.values())
        }

    def in_context(self, result: MatchResult, context: Context | None) -> MatchResult:
        """`result` read in the asker's conversation: `context` is what the asker last asked about (None: nothing)."""
        read = self._read_in_context(result, context)
        if self.gate is None or context is None or not self.reaches_gate(read, context):
            return read
        meant = self.gate.earlier_meant(result.question)
        if meant < GATE_OFFER:
            return read
        # 「要收登记费吗」 after 不动产权证: a follow-up the rules hand off, which the gate (a model of the read
        # dialogues' follow-ups) is sure asks of the earlier item; less sure, the earlier item is offered as a
        # choice (with 「都不是，转人工」 beside it in groups)
        intent = self._intent_asked(result, context, compact_text(result.question))
        sure = meant >= GATE_ANSWER
        if not sure and (intent == "status" or read.reason == "out_of_scope"):
            # the ledger's answer is no choice to offer; nor is the earlier item to a matter out of scope the message
            # names, which the earlier item's knowledge may speak of as a step of its own (「安全设施设计审查在哪报」
            # after 安全评价, whose note names it as the next procedure)
            return read
        if intent == "status":
            action, reason = "handoff", "status"
        else:
            action, reason = ("answer" if sure else "clarify"), "gate"
        taken = taken_as(replace(result, leaves_context=False), context.item, intent, action=action, reason=reason)
        return replace(taken, confidence=round(meant, 3), candidates=(Candidate(context.item, round(meant, 3)),))

    def left_unsure(self, read: MatchResult, context: Context | None) -> MatchResult:
        """`read`, a message's reading in its conversation, offered as a choice beside the earlier item when it leaves
        that item unsure (「能先出个电子证照不」 after 不动产权证, read alone as the 一网通办 topic): the conversation's
        item is left for another only on a full score (`Weights.leaves_earlier`), or when the message names the
        earlier item as done (「能评批了 接着取水要准备啥」)."""
        if context is None or not self._leaves_unsure(read, context):
            return read
        candidates = (Candidate(read.item, read.confidence), Candidate(context.item, read.confidence))  # type: ignore[arg-type]
        return replace(
            read, action="clarify", reason="unsure_switch", candidates=candidates, asks=(), faq=None, learned=False
        )

    def _leaves_unsure(self, read: MatchResult, context: Context) -> bool:
        """Whether `read` answers another item than the conversation's on a score below `Weights.leaves_earlier`: the
        message read alone, kept as it was (reason `confident`), of one item."""
        return (
            read.action == "answer"
            and read.reason == "confident"
            and all(a.item == read.item for a in read.asks)  # one item asked (perhaps two things of it)
            and read.item is not None
            and read.item != context.item
            and context.item in self.kb.items
            and read.confidence < self.weights.leaves_earlier
            and not self._earlier_as_background(read.normalized, context.item)
        )

    def _earlier_as_background(self, normalized: str, earlier: str) -> bool:
        """Whether the message names the earlier item as done or as background (「能评批了 接着取水要准备啥」): the asker
        moves on from it in so many words."""
        return any(h.item == earlier and h.context for h in self.index.names_read(normalized))

    def reaches_gate(self, read: MatchResult, context: Context) -> bool:
        """Whether `read`, the rules' reading of a message in `context`, is one the gate reads again: handed off with
        no item (not as a status, a request, a greeting or a whole-project question), in a conversation about an
        item. Not when the rules have decided otherwise: after a choice offered (`context.offered`) the rules' handoff
        stands, a follow-up of a together question is the procedure's, 「换个问题…」 turns to another matter, and a
        phrase that is never an approval matter stands; nor when a matter out of scope is named (签证, 社保, 工资)
        unless the earlier item's knowledge speaks of it (签证 of 原产地证) or it is a paper of the earlier item
        asked about as one (「社会稳定风险评估报告必须要吗」 after 可研; not 「营业执照要多久」 after 环评, whose material
        list has the licence): the model reads how a follow-up asks, not what its matter is, so a matter of its own
        would be answered with the earlier item's time or fee."""
        text = compact_text(read.question)
        if (
            read.action != "handoff"
            or read.item is not None
            or read.reason not in GATED_REASONS
            or context.item not in self.kb.items
            or context.offered
            or context.together
            or _NEW_MATTER.match(text)
            or any(p in text for p in self.index.always_out_of_scope)
        ):
            return False
        if read.reason != "out_of_scope":
            # 「完税证明去哪开」 after 不动产权证: a paper or procedure named by its own word (证明, 许可, 备案…), asked
            # where or how it is done, is a matter of its own (the rules' reading); 「要收登记费吗」 asks its cost
            return not _names_own_procedure(text) or read.intent not in ("department", "process")
        named = self.index.out_of_scope_named(text)
        if named and all(p in self.said_of[context.item] for p, _ in named):
            return True  # 「签证费多少」 after 原产地证: a matter the earlier item's own knowledge speaks of
        if read.intent not in _PAPER_ASKED or _WHO_ISSUES.search(text):
            return False  # 「中标通知书谁发」: who issues the paper is a matter of its own, whatever the model reads
        in_material = self.index.material_cover(text, context.item)
        if not named:
            # a procedure the knowledge base lacks, named by its own words (「招投标备案要交啥」 after 环评): only as a
            # paper of the earlier item (「竣工测量报告要找有资质的吗」)
            return bool(_PAPER.search(text) or in_material)
        # a paper of the earlier item: the phrase within a material's name (营业执照 in 「营业执照要原件不」), or a few
        # characters before a word of a paper (「社会稳定风险评估报告必须要吗」), or a paper itself (发票)
        return all(
            all(j in in_material for j in range(a, b)) or _PAPER_AFTER.match(text, b) or _PAPER.fullmatch(p)
            for p, (a, b) in named
        )

    def _read_in_context(self, result: MatchResult, context: Context | None) -> MatchResult:
        """The rules' reading of `result` in its conversation."""
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
        if starts_new_matter(result.question):
            # 「顺便问下，电力接入找谁」: the asker turns to another matter; what it names (or nothing) stands
            return result if result.item is not None else replace(result, leaves_context=True)
        followed = self._pronoun_named(result, context) or self._follow_up(result, context)
        if context.offered and followed is not None and followed.action == "answer" and followed.context:
            choices = (context.item, context.earlier[0])
            if followed.item in choices and not followed.asks:
                # 「要带啥材料」 after a choice offered between 不动产权证 and 土地供应: offered again, with what it asks
                first = followed.item
                candidates = tuple(Candidate(i, 1.0) for i in (first, *[c for c in choices if c != first]))
                # the two kept in the order written: swapped when the other of them leads now
                in_order = (context.at_once == 1) == (first == context.item)
                followed = replace(
                    followed, action="clarify", reason="ambiguous", candidates=candidates, first_written_first=in_order
                )
        text = compact_text(result.question)
        if (
            followed is None
            and result.reason == "out_of_scope"
            and result.item is None
            and not any(p in text for p in self.index.always_out_of_scope)
            and self._about_some_item(result, below=self.weights.out_of_scope_follows)
        ):
            # 「原产地那个 发票要原件不」 after 原产地证, 「要和矿业权人签压覆协议吗」 after 压覆矿: an out-of-scope word (发票,
            # 矿业权) in a follow-up the model reads as surely about some item is read as a follow-up
            followed = self._follow_up(replace(result, reason="low_confidence"), context)
        if followed is None:
            followed = self._order_with_earlier(result, context, text) or self._after_these(result, context, text)
        if followed is None and result.reason == "out_of_scope" and not self._earlier_paper(result, context):
            # 「排污许可要交哪些东西」 after 环评: the asker moved on, and 「那要多久」 next is about 排污许可. (A question
            # handed off unsure stays with the earlier item: 「这个需要做吗」 then 「要做的话多久」.)
            return replace(result, leaves_context=True)
        return followed or result

    def _order_with_earlier(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「图审过了才能报吗」 after 消防设计审查, 「批完下一步是做可研吧」 after 建议书, 「这个得在用地预审前面办完吗」 after 林草:
        a short question of order that names one other procedure, in a conversation about a procedure, asks how the
        two follow each other — which the process of each says (what it needs first). Both are answered, the one
        named first (whose process the message reads as asked, and the writers most often mean: 109 read turns
        against 19 meaning the earlier item). None otherwise."""
        if (
            result.action != "answer"
            or result.asks
            or result.intent != "process"
            or result.item in (None, context.item)
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
            or not _ORDER.search(text)
            or _THESE.search(text)  # 「这俩是不是都得在用地预审前搞完」: the items pointed back to, `_of_these`'s
            or _SEVERAL_MEANT.search(text)
        ):
            return None
        items = self.kb.items
        if items[result.item].kind != "item" or items[context.item].kind != "item":
            return None
        if set(self.index.named_items(result.normalized)) - {result.item, context.item}:
            return None  # a third procedure named: not the order of these two
        return replace(
            result, asks=(Ask(result.item, "process"), Ask(context.item, "process")), reason="order", context=True
        )

    def _what_comes_first(self, item: Item) -> frozenset[str]:
        """The procedures an item's knowledge names with what it needs first: its prerequisites and the items its
        note on them names (竣工验收备案's 规划核实 and 消防验收, 核准's 用地预审 and 环评) — but not one that needs the
        item itself first (消防验收's note names 竣工验收备案, which comes after it). A note may still name one that
        runs beside it or after it in other words (人防's 施工许可); `_after_these` asks more of the message."""
        note = compact_text(item.prerequisites_note or "")
        hits = self.index.span_hits(note) if note else []
        # a procedure named outright (not a bare 备案 of 「办理备案」, not a topic such as 并联)
        named = {h.item for h in hits if h.exact and h.named and note[h.start : h.end] not in _BARE_PROCEDURE_WORDS}
        items = (set(item.prerequisites) | named) - {item.key}
        return frozenset(
            k
            for k in items
            if k in self.kb.items and self.kb.items[k].kind == "item" and item.key not in self.kb.items[k].prerequisites
        )

    def _after_these(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「规划核实和消防验收都完了才能备案吧」 after 竣工验收备案, 「核准前得先拿到用地预审和环评吗」 after 核准: a
        short question of order about several procedures that the earlier item's knowledge says come before it (or
        beside it) asks what the earlier item needs first — its process, which says just that. (One procedure named
        is `_order_with_earlier`'s: both are answered.)"""
        asked = {a.item for a in result.asks}
        if (
            result.action != "answer"
            or len(asked) < 2
            or context.item in asked
            or None in asked
            or any(a.intent != "process" for a in result.asks)  # 「…都完了才能备案吗 分别去哪办」 asks where too
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
            or not _DONE_FIRST.search(text)
            or _THESE.search(text)
            or self.kb.items[context.item].kind != "item"
            or not asked <= self.comes_after[context.item]
        ):
            return None
        return taken_as(result, context.item, "process", reason="order")

    def _pronoun_named(self, result: MatchResult, context: Context) -> MatchResult | None:
        """「施工图审查能跟它并联吗」「它和不动产权证这俩分别要多久」: 它 is the earlier item, and with it the message asks of
        two items (whether they run together, or each); read as if it named it. None when 它 is not there, the earlier
        item is a topic, or the message so read asks of one item only (the follow-up readers read it then)."""
        if not _IT.search(result.question) or self.kb.items[context.item].kind != "item":
            return None
        item = self.kb.items[context.item]
        named = self.read_alone(_IT.sub(item.short or item.name, result.question))
        if named.action != "answer" or len({a.item for a in named.asks}) < 2:
            return None
        return replace(named, question=result.question, normalized=result.normalized, context=True)

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
        if _DOES_A_PROCEDURE.search(text) or _WHO_DOES_IT.search(text):
            return False  # 「营业执照地址变更也在政务大厅办吗」「社会稳定风险评估那个谁审」: a procedure of its own, no paper
        return bool(_PAPER.search(text) or self.index.material_runs(text, context.item))

    def _follow_up(self, result: MatchResult, context: Context) -> MatchResult | None:
        """The follow-up reading of a short message that lacks its item or its intent, or None."""
        text = compact_text(result.question)
        # Readings of what a follow-up says about the earlier item (or the items before it), tried in this order;
        # the first that applies decides.
        readers = (
            self._asked_otherwise,
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
            self._certificate_after,
            self._document_follow_up,
            self._in_words_of_earlier,
            self._paper_of_earlier_loosely,
            self._together_follow_up,
            self._of_these,
            self._word_of_earlier,
        )
        for read in readers:
            followed = read(result, context, text)
            if followed is not None:
                return followed
        sibling = self._sibling_named(result, context, text)
        if sibling is not None:
            return sibling
        if (
            context.procedure != context.item
            and result.intent not in ("process", "other")
            and (result.intent == "status" or result.leans != context.item)
        ):
            # 「几个工作日」「那个找哪个局」 after a together question: of the procedure asked about (「具体怎么操作」 is
            # still about running them together, and so is what the item model reads as the parallel topic's more than
            # any procedure's, `MatchResult.leans`: 「谁来协调」「牵头的是哪个部门」 — 8 of 8 such turns on the read sets
            # meant the topic; not people going together, 「领导一起去要带什么」; not a status question, which the ledger
            # answers of a procedure, and none of which the read sets hold)
            context = Context(context.procedure, context.intent, context.earlier[1:])
        if TOGETHER_GOES.search(text) and SEVERAL_PROJECTS.search(text):
            return result  # 「一期二期能一起报不」: projects together, a steward's question, not the earlier item's
        # a short follow-up naming another item by a bare procedure word only (备案, 核准…)
        # (or offered: 「评估报告备案要多久」 after 地灾评估 is a choice read alone, the item model leaning to 地灾)
        taken_other = result.action in ("answer", "clarify") and result.item not in (None, context.item)
        bare = self._bare_words_only(text, result) if taken_other else []
        if bare and self._says_earlier(bare, context) and result.item not in context.earlier:
            # 「备案的话几天」「我们是小厂房 是验收还是备案就行」 after 消防验收: words of the earlier item's own names, not
            # the item they name alone (「刚才说的那个备案」 after 备案 and then 环评 is the 备案 spoken of: offered with the
            # earlier item, below)
            return replace(
                result,
                item=context.item,
                action="answer",
                reason="context",
                context=True,
                candidates=(Candidate(context.item, 1.0),),
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
            and not _names_own_procedure(text)
        ):
            # 「登记中心在政务大厅吗」 after 不动产权证: the earlier item's own department named, no item of its own
            # (「保税仓库注册登记也在海关办吗」 after 海关认证 names a procedure of its own: the department's, not the item's)
            return asked_of(result, context.item)
        if result.item is None and result.intent == "department" and self._names_other_department(text, context.item):
            return None  # 「应急局窗口在几楼」 after 环评: another department's window, not the earlier item's
        # a follow-up is short; one that names nothing at all may say more (「如果是市里审，承诺时限多少个工作日」) when the
        # model does not read it as about no item (「对了问个别的 公司变更法人去哪办」: a matter of its own)
        longer = not self.index.span_hits(text) and self._about_some_item(result)
        limit = DOCUMENT_FOLLOW_UP_CHARS if longer else FOLLOW_UP_CHARS
        if result.reason in _NEVER_INHERIT or len(text) > limit or result.asks:
            return None
        cues = read_cues(result.normalized)
        asks_own = bool(cues.first_strong)
        names_item = (
            self._names_item(result.normalized) and not self._bare_words_of_earlier(text, context)
        ) or self._only_a_phrase_of(text, result.item)
        sure_status = result.reason == "status" and result.confidence >= self.thresholds.answer
        if (
            (names_item or result.action == "answer" or sure_status)
            and not asks_own
            and result.item not in (None, "tolerance")
            and ELLIPSIS.search(text)
        ):
            # 「能评那个呢」「草原的呢」 name an item (another, or the same one's other part) and ask nothing of their
            # own: the earlier question, about this item.
            if context.intent == "status":
                return replace(result, intent="status", action="handoff", reason="status", context=True)
            if result.action == "answer" or sure_status:
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
            return asked_of(result, context.item)
        if result.action == "answer":
            if (
                not names_item
                and result.item != context.item
                and context.item in {c.item for c in result.candidates}
                and not any(h.item in (result.item, context.item) and h.exact for h in self.index.span_hits(text))
            ):
                # 「是报告书还是报告表」 after 水保方案要做吗: a follow-up that names nothing, which the model alone
                # puts with another item (环评 has 报告书 too) while it also offers the earlier one: the earlier item
                return asked_of(result, context.item)
            return None
        asked = (
            cue_book().question_mark.search(text)
            or ALTERNATIVE.search(text)
            or (len(text) > 3 and ASKING_END.search(text))  # 「两天能批完是吧」, not 「行吧」
            or "?" in result.question
        )
        if not (asks_own or ELLIPSIS.search(text) or asked or "？" in result.question):
            return None  # 「好的收到」: no question (「原件还是复印件」 offers a choice, 「那要交个承诺表？」 its mark: they ask)
        own_subject = any(
            word.start() >= 2
            and not _ASKED_BEFORE.search(text[: word.start()])
            and not (
                _POINTED_BEFORE.search(text[: word.start()])
                and any(word.group() in name for name in self._own_names(context.item))
            )
            for word in _OWN_SUBJECT.finditer(text)
        )
        if own_subject and not self._about_some_item(result, below=self.weights.procedure_word_follows):
            # 「电力业务许可去哪办」: a matter of its own that the knowledge base lacks, as the model reads it too; a
            # procedure word with no words before it that could name one (「审批要钱吗」「那审批多久」) is the earlier
            # item's, and so is one the model reads as about some item (「审批权限在市水利局还是自治区水利厅」)
            return None
        loosely = self._loosely_named(result, context, text)
        if loosely is not None:
            return loosely
        if result.action == "clarify" and context.item not in {c.item for c in result.candidates}:
            return None
        if result.action == "clarify" and self._topic_named_first(result, context, text):
            return None
        intent = self._intent_asked(result, context, text, asks_own=asks_own)
        action, reason = ("handoff", "status") if intent == "status" else ("answer", "context")
        return taken_as(result, context.item, intent, action=action, reason=reason)

    def _topic_named_first(self, result: MatchResult, context: Context, text: str) -> bool:
        """「五证联发也能容缺吗」 after 容缺受理: a topic the choice offers first is written by one of its names, as the
        subject of what is asked, and is not the earlier item: the choice stands (the earlier topic, named by the
        word of what is asked, is its second). Not a channel (`_CHANNELS`)."""
        first = result.candidates[0].item if result.candidates else None
        if first in (None, context.item, *_CHANNELS) or self.kb.items[first].kind == "item":
            # (「一网通办上能申请容缺不」: the portal is where it is asked, not what)
            return False
        return any(h.item == first and h.exact and h.start == _opening_at(text) for h in self.index.span_hits(text))

    def _intent_asked(self, result: MatchResult, context: Context, text: str, *, asks_own: bool | None = None) -> str:
        """What a follow-up asks is its own, as the model reads it (「交给谁」「要掏钱不」 after a materials question ask
        who and what it costs, though no hand-written cue says so), unless it only says 「…呢」 asking nothing of its
        own (`asks_own`: a strong cue; read here when not given) and the model is not sure: the earlier question."""
        if asks_own is None:
            asks_own = bool(read_cues(result.normalized).first_strong)
        elliptic = not asks_own and ELLIPSIS.search(text) and not self._sure_of_intent(result)
        return context.intent if elliptic else result.intent

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
        hits = self.index.span_hits(text)
        if any(h.item == context.item for h in hits if self.index.outright(h)):
            return None  # the earlier item named again: what the message asks of it is its own reading

        def not_had(h: Hit) -> bool:
            code_not_had = h.item == PROJECT_CODE and _CODE_NOT_HAD.match(text, h.end)
            missing = _NOT_HAD_AFTER.match(text, h.end) or (
                _MISSING_BEFORE.search(text, 0, h.start) and _ISSUED_AFTER.match(text, h.end)
            )
            return bool(missing or code_not_had)

        # another item named; a bare procedure word (「能先备案吗」) may be the earlier item's own step, no other item
        others = [
            h
            for h in hits
            if (
                self.index.outright(h)
                or (h.exact and h.start >= 0 and h.alias and self.kb.items[h.item].kind == "item")
                # 「项目代码还没赋下来能先报吗」: a topic had before the procedures (the code), not had yet
                or (h.exact and h.start >= 0 and h.alias and h.item == PROJECT_CODE and not_had(h))
            )
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
        ahead = bool(MAY.search(text) or _WITHOUT_IT.search(text))
        waiting = [h for h in others if ahead and not_had(h)]
        needed = [h for h in others if first and first.end() <= h.start]
        if not waiting and not needed:
            return None
        if {h.item for h in others} - {h.item for h in waiting + needed}:
            return None  # another item named besides the one waited for: not only the earlier item's order
        intent = "tolerance" if _WITHOUT_IT.search(text) else "process"
        return taken_as(result, context.item, intent)

    def _about_some_item(self, result: MatchResult, below: float | None = None) -> bool:
        """Whether the item model gave the message "no item" less than `below` (default `Weights.no_item`; no model:
        never), as `MatchResult.no_item` keeps it from the reading alone."""
        limit = self.weights.no_item if below is None else below
        return result.no_item is not None and result.no_item < limit

    def _sure_of_intent(self, result: MatchResult) -> bool:
        """Whether the model reads what the message asks surely enough to keep it over the earlier question's."""
        if self.model is None:
            return False
        probs = self.model.intent_probabilities(result.normalized)
        return probs.get(result.intent, 0.0) >= OWN_INTENT_SURE

    def _together_follow_up(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「那用规证能一起报不」「等的时候别的手续能同时弄不」 after a question about one item: whether procedures
        run together, the parallel topic first, then the item named (or the earlier one) asked how it runs; also when
        the together word ends the question (「可以和施工图审查同步吗」「也能并联吗」), and, so asked, in a message up to
        DOCUMENT_FOLLOW_UP_CHARS (「消防设计审查跟图审是一块审的吗」)."""
        asked_at_end = _TOGETHER_AT_END.search(text)
        if (
            not (TOGETHER_GOES.search(text) or asked_at_end)
            or "parallel" not in self.kb.items
            or result.asks
            or result.reason in _NEVER_INHERIT
            or len(text)
            > (DOCUMENT_FOLLOW_UP_CHARS if asked_at_end or _TOGETHER_DONE.search(text) else FOLLOW_UP_CHARS)
            or _NOT_PROCEDURES.search(text)
            or _DOCUMENT_ASKED.search(text)
        ):
            return None
        if TOGETHER_IF.search(text) and result.intent != "status":
            # 「一起审的话要多久」: what it asks, asked of running them together (a status question is the ledger's)
            asks: tuple[Ask, ...] = (
                (Ask("parallel", result.intent), Ask(context.item, result.intent)) if context.item != "parallel" else ()
            )
            return taken_as(result, "parallel", result.intent, asks=asks)
        if not MAY.search(text):
            # 「是不是跟图审一起报的」: whether the earlier item *is* handled with the one named after 跟 — how the
            # earlier item goes, its process
            # each other item named, where its name starts (「图审」 is inside 「施工图审查」)
            partners: dict[str, int] = {}
            for h in self.index.span_hits(text):
                if h.exact and h.start > 0 and h.item != context.item:
                    partners[h.item] = min(partners.get(h.item, h.start), h.start)
            if partners and all(text[start - 1] in PARTNER_MARKS for start in partners.values()):
                # …and, as some read it, whether the two run together: the parallel topic too; the earlier item
                # last, so a next 「那要多久」 is still about it
                if context.item == "parallel":
                    return taken_as(result, context.item, "process")
                asks = (RUN_TOGETHER, Ask(context.item, "process"))
                return taken_as(result, "parallel", "process", asks=asks)
            subject = [h.item for h in self.index.span_hits(text) if self.index.outright(h) and h.start == 0]
            # 「消防设计审查跟图审是一块审的吗」「…是不是合在图审里一起审了」 after 施工图审查: the earlier item named as
            # the partner of the item the message opens with
            with_earlier = _TOGETHER_DONE.search(text) or self._partner_only(text, context.item)
            if subject and subject[0] != context.item and (_ALSO_TOGETHER.search(text) or with_earlier):
                # 「人防的图也一起审吗」 after 施工图审查: whether the item named is handled with the earlier one
                return taken_as(result, "parallel", "process", asks=(RUN_TOGETHER, Ask(subject[0], "process")))
            return None
        named = result.item if result.item not in (None, "parallel") and self._names_item(result.normalized) else None
        these = self._these(text, context)
        if these and not named:
            # 「这两个能一起报吗」 after 压覆矿 and then 地灾: the items spoken of, each asked how it runs
            asks = (RUN_TOGETHER, *(Ask(i, "process") for i in these))[:MAX_ASKS]
            return taken_as(result, "parallel", "process", asks=asks)
        item = named or (context.item if context.item != "parallel" else None)
        asks = (RUN_TOGETHER, Ask(item, "process")) if item else ()
        if named and context.item not in ("parallel", named) and self._partner_only(text, named):
            # 「能和施工图审查一起报吗」 after 消防设计审查: the earlier item is the one going with the item named (last,
            # so a next 「那要多久」 is still about it)
            asks = (RUN_TOGETHER, Ask(named, "process"), Ask(context.item, "process"))
        return taken_as(result, "parallel", "process", asks=asks)

    def _order_choice(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「先办这个还是先环评」「先核实还是先消防验收」 after a question about one item: which of the earlier item
        and the one named comes first — both items' process, the earlier item first; None otherwise."""
        if not _ORDER_CHOICE.search(text) or result.asks or len(text) > DOCUMENT_FOLLOW_UP_CHARS:
            return None
        named = [i for i in self.index.named_items(text) if i != context.item]
        if len(named) > 1 or self.kb.items[context.item].kind != "item":
            return None
        these = self._these(text, context) if not named else ()
        if these:
            # 「这俩哪个先报好」 after 环评 and then 水保: which of the two, in the order they were asked
            return taken_as(result, these[0], "process", asks=tuple(Ask(i, "process") for i in these))
        asks = (Ask(context.item, "process"), *(Ask(i, "process") for i in named))
        return taken_as(result, context.item, "process", asks=asks if len(asks) > 1 else ())

    def _asked_otherwise(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「不是问材料 是问多久」「我问的不是材料 是多久」「我问的是要不要做 不是要啥材料」: the asker corrects what the
        earlier question was taken to ask — the earlier item, asked what the message now says it asks. None when that
        part names an item (「我问的是用地规划证 不是工程规划证」 corrects the item: `_corrected`), asks nothing that can be
        read, or the message reports another's question (「他们窗口问的是…」)."""
        found = _ASKED_OTHERWISE.search(text)
        if found is None or len(text) > DOCUMENT_FOLLOW_UP_CHARS:
            return None
        asked = found.group("asked") or found.group("asked_then") or found.group("asked_first")
        if any(self.index.outright(h) for h in self.index.span_hits(asked)):
            return None
        intent = clause_intent(asked, self.model, self.weights.clause_intent)
        if intent is None:
            return None
        if intent == "status":
            return taken_as(result, context.item, "status", action="handoff", reason="status")
        return taken_as(result, context.item, intent)

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
            or asks_something(text)
            or ASKING_END.search(text)
            or self.kb.items[result.item].kind != "item"
        ):
            return None
        named = [h for h in self.index.span_hits(text) if h.item == result.item and h.exact and h.start >= 0]
        if named and all(text.endswith("不是", 0, h.start) for h in named):
            return replace(result, item=None, action="handoff", reason="doubt", faq=None, learned=False)
        if result.item == context.item and not _CONTRAST.fullmatch(result.normalized):
            # 「报告表，不是报告书」 after 环评要多久: the same item, which kind of it — the earlier question again;
            # a plain 不是 (「环评不是必须的吧」) asks its own
            return None
        if context.intent == "status":
            return taken_as(result, result.item, "status", action="handoff", reason="status")
        return taken_as(result, result.item, context.intent)

    def _word_of_earlier(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「取水的材料清单发我一份」 after 取水许可 and then 洪评, 「节能那个现在多少天」 after 能评 and then 可研: a short
        follow-up (longer when it opens with 「X那个」 and says nothing more of another) that asks something, names no
        item outright but opens with a word of the names of one earlier item of the conversation, and of no other (the
        last one included), asks of that item. A word many names share (验收,
        审查) counts only among items asked at once (「验收大概几个工作日」 after 「消防设计审查和消防验收是同一个部门吗」); an
        ordinary word (一般, 文件, 开工) or a department's (水利) tells no item, and neither does a word inside the
        message (「可以交电子版吗」)."""
        start = _opening_at(text)
        opening = text[start : start + 2]
        # 「土地那个 材料是我们准备还是…」: the opening word said as "the … one" may ask more — not when a later clause
        # points again or tells what is done (「土地那个办完了 文物那个还要多久」: the later one is asked)
        the_one = _THE_ONE_OF.match(text, start + 2)
        longer = the_one is not None and not _POINTS_OR_TELLS.search(text, the_one.end())
        limit = DOCUMENT_FOLLOW_UP_CHARS if longer else FOLLOW_UP_CHARS
        if (
            not self._asks_anything(result, text)
            or result.asks
            or result.reason in _NEVER_INHERIT
            or len(text) > limit
            or result.item not in (None, context.item)
            or any(self.index.outright(h) and h.named for h in self.index.span_hits(text))
        ):
            return None
        at_once = set(context.earlier[: context.at_once])
        earlier = [i for i in context.earlier if i in self.kb.items and self.kb.items[i].kind == "item"]
        words = {key: self._name_ends(key) for key in (context.item, *earlier)}
        found = {
            key
            for key in earlier
            if opening in words[key]
            and not any(opening in ws for k, ws in words.items() if k != key)
            and (opening not in _NAME_WORDS or key in at_once)
        }
        if len(found) != 1:
            return None
        return self._asked_of_item(result, context, text, found.pop())

    def _loosely_named(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「消防的呢」「规划证呢」: a word too loose to pick one item (消防设计审查 or 消防验收) — a choice, or a low score
        the clarify threshold reaches — and the earlier item not among them. With no name written, the one item among
        them the conversation spoke of is asked (「消防那个呢」 after 施工图审查跟消防设计审查 is 消防设计审查; a word many
        names share, 验收 or 审查, only among items asked at once, as in `_word_of_earlier`). Otherwise 「…呢」 alone is
        offered the choice, asking the earlier question (「消防的呢」 after 人防审批要多久); None: not such a message."""
        offered = [c.item for c in result.candidates]
        loose = result.action == "clarify" and result.reason == "ambiguous"
        low = (
            result.action == "handoff"
            and result.reason == "low_confidence"
            and bool(offered)
            and result.candidates[0].score >= self.thresholds.clarify
        )
        if not (loose or low) or result.asks or context.item in offered:
            return None
        spoken_of = set(self._spoken_of(context))
        spoken = [] if self.index.span_hits(text) else [i for i in offered if i in spoken_of]
        start = _opening_at(text)
        shared = text[start : start + 2] in _NAME_WORDS
        if len(spoken) == 1 and (not shared or spoken[0] in context.earlier[: context.at_once]):
            return self._asked_of_item(result, context, text, spoken[0])
        if not self._elliptic(result, text):
            return None
        return replace(
            result, item=offered[0], intent=context.intent, action="clarify", reason="ambiguous", context=True
        )

    def _asked_of_item(self, result: MatchResult, context: Context, text: str, item: str) -> MatchResult:
        """`item` asked what the message asks; with 「…呢」 and no question of its own (「第二个呢」), the earlier
        question."""
        return asked_of(replace(result, intent=context.intent) if self._elliptic(result, text) else result, item)

    @staticmethod
    def _elliptic(result: MatchResult, text: str) -> bool:
        """Whether a follow-up says 「…呢」 (or the like) and asks no question of its own."""
        return not read_cues(result.normalized).first_strong and bool(ELLIPSIS.search(text))

    def _name_ends(self, key: str) -> set[str]:
        """The first and the last two characters of each of an item's names of five characters at most (取水 of 取水许可,
        验收 of 消防验收, 预审 of 用地预审; a last 证 left out), ordinary words (`_ORDINARY_WORDS`) and a department's
        words excepted."""
        ends = set()
        for name in self._own_names(key):
            core = name[:-1] if name.endswith("证") else name
            if len(core) <= 5:
                ends |= {core[:2], core[-2:]}
        return {
            w
            for w in ends
            if len(w) == 2 and w not in _ORDINARY_WORDS and not any(w in d for d in self.index.department_words)
        }

    @staticmethod
    def _asks_anything(result: MatchResult, text: str) -> bool:
        """Whether a message asks something: a question cue, a choice offered, 「…呢」 or a question particle at the end."""
        return bool(read_cues(result.normalized).first_strong) or asks_by_form(text)

    def _by_ordinal(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「第一个要多长时间」 after 压覆矿 and then 地灾: the item at that place among the items spoken of (in the
        order asked), asked what the message asks (or, with 「…呢」 only, the earlier question)."""
        found = _ORDINAL.search(text)
        before_after = _BEFORE_OR_AFTER.search(text) if found is None else None
        pointer = found or before_after
        # a message opening with the pointer (「后者呢 竣工了多久能来验」) is about that item, whatever word of no item
        # spoken of it says after as a point in time, as done or as a drawing (竣工了, 竣工图); any other name written
        # counts (「前面那个 预审的…」 says which)
        opens = pointer is not None and pointer.start() == _opening_at(text)
        spoken = self._spoken_of(context)

        def a_point_in_time(h: Hit) -> bool:
            return opens and not h.named and h.item not in spoken and _TIME_OR_DONE.match(text, h.end) is not None

        if (
            pointer is None
            or result.asks
            or result.reason in ("smalltalk", "empty", "learned", "project_status")
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
            or any(self.index.outright(h) and not a_point_in_time(h) for h in self.index.span_hits(text))
        ):
            return None
        if before_after is not None:
            items = spoken[-2:]
            place = 0 if before_after.group(1) or before_after.group(3) else 1
        elif found is not None:
            items = spoken[-3:]
            place = len(items) - 1 if found.group(2) else _ORDINAL_PLACE[found.group(1)]
        if len(items) < 2 or place >= len(items):
            return None  # one item spoken of: 「第一个」 is a step or a paper of it, not an item
        return replace(self._asked_of_item(result, context, text, items[place]), by_place=True)

    def _only_after(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「是出让合同签完以后才能办是吧」「是不是得契税交完才能办」「出让合同签了 是不是直接就能领」 after 不动产权证:
        whether the earlier item waits for
        what the message names (a paper, a tax, another procedure) — the earlier item's order, its process. 备案 is
        the earlier item's verb when it is a word of its names (「必须消防验收完了才能备案吗」 after 竣工验收备案; not
        「赋码完就能备案了？」 after 赋码)."""
        found = _ONLY_AFTER.search(text)
        if found is not None and found.group("filed") and not any("备案" in n for n in self._own_names(context.item)):
            return None
        if found is not None and found.group("gap"):
            # 「签了 是不是直接就能领」: words between 了 and 就 — but no item named there (「初步设计批完施工图审查就能报了吧」
            # asks of 施工图审查)
            gap = found.start("gap")
            if any(self.index.outright(h) and h.start >= gap for h in self.index.span_hits(text)):
                return None
        if (
            len(text) <= DOCUMENT_FOLLOW_UP_CHARS
            and found is not None
            and result.reason not in ("smalltalk", "empty", "learned")
            and result.intent != "time_limit"  # 「要几天以后才能领」 asks how long
            and not self._names_subject(text, done_excepted=True)  # 「环评是不是要立项以后才能办」 is about 环评
        ):
            return taken_as(result, context.item, "process")
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
            and not self._opens_with_other(text, context)
        ):
            return asked_of(result, context.item)
        return None

    def _opens_with_other(self, text: str, context: Context) -> bool:
        """Whether a message opens with another item or topic named outright, and names what is among it after
        (「五证联发的话 施工证也算在里面吧」 after 跨省通办): what it is among, not the earlier item."""
        hits = [h for h in self.index.span_hits(text) if h.exact and h.named and h.start >= 0]
        if len({h.item for h in hits}) < 2:
            return False
        if any(h.item == context.item for h in hits):
            return False  # 「施工许可证也包含在五证联发里面吗」 after 五证联发: the earlier item is what it is among
        start, _ = name_span(hits)
        return text[:start] in ("", "那", "那个")

    def _pointed_back(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「后面办环评是不是都要用这个代码」 after 赋码: 「这个代码」 is the earlier item, the other one background."""
        return asked_of(result, context.item) if self._points_to_earlier(result, context, text) else None

    def _tolerance_of_earlier(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「那能容缺吗」「预审我们还没拿到 能先受理吗」: the 容缺 topic asked about the item of the previous question;
        「那要准备哪些材料呢」, which the model alone reads as the topic, asks its own intent about that item."""
        if (
            result.action not in ("answer", "clarify")
            or result.item != "tolerance"
            or context.item in ("tolerance", *_CHANNELS)
            or (_EVERY_ITEM.search(text) and not _POINTER.search(text))  # 「其他事项都能容缺 这个能吗」: this one's
            or result.asks
            or result.reason in _NEVER_INHERIT
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
            or self._names_item(result.normalized)
        ):
            return None
        named_topic = any(h.item == "tolerance" for h in self.index.span_hits(text))
        if named_topic and result.intent in _OF_THE_MECHANISM and self._sure_of_intent(result):
            # 「容缺的话是网上申请还是去窗口」「承诺书签了以后多长时间内得把材料补齐」: how 容缺 itself goes, what its
            # papers are, how long the promise runs — the topic's own question, not whether the earlier item may
            return None
        intent = "tolerance" if named_topic or result.intent == "tolerance" else result.intent
        these = self._these(text, context)
        if these and intent == "tolerance":
            # 「这俩能容缺不」 after 人防 and then 消防设计审查: the 容缺 of each item it points back to
            return taken_as(result, these[0], intent, asks=tuple(Ask(i, intent) for i in these))
        # after a together question its 容缺 is the procedure's (「容缺能用吗」 after 「林草的能跟预审同时做吗」)
        asked = asked_of(replace(result, intent=intent), context.procedure)
        if named_topic and intent == "tolerance" and asked.action == "answer":
            # 「卡材料的那几个能不能都走容缺」「缺的材料走容缺的话 承诺书谁签」: the procedure's 容缺 (which of its papers
            # may follow), and how 容缺 itself goes (the promise, its term): both are answered
            asked = replace(asked, asks=(Ask(context.procedure, "tolerance"), Ask("tolerance", "tolerance")))
        return asked

    def _by_channel(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「表在一网通办上填还是交纸质的」 after 节能审查: the portal named as where the earlier item is applied for —
        how it is applied for, unless the message asks something else of it (「去一网通办交钱吗」)."""
        if not self._channel_only(result, context, text):
            return None
        if result.intent == "other" and not _E_CERTIFICATE_FORM.search(text):
            result = replace(result, intent="process")
        return asked_of(result, context.item)

    def _each_of_together(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「分别需要什么材料」 after 「用地规划许可证和工程规划许可证能不能一起办」: what it asks, of each item the
        together answer was about (not of the parallel topic); None otherwise."""
        if (
            context.item != "parallel"
            or not context.earlier
            or not EACH.search(text)
            or result.intent in ("other", "process")
            or result.asks
            or len(text) > FOLLOW_UP_CHARS
            or any(self.index.outright(h) for h in self.index.span_hits(text))
        ):
            return None
        asked = context.earlier[: context.at_once] if context.at_once else tuple(reversed(context.earlier))
        items = [i for i in asked if i in self.kb.items][:MAX_ASKS]
        if not items:
            return None
        if result.intent == "status":
            return asked_of(result, items[0])
        asks = tuple(Ask(i, result.intent) for i in items) if len(items) > 1 else ()
        return taken_as(result, items[0], result.intent, asks=asks)

    def _of_these(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「这俩分别要多久」「这俩哪个快点」 after 压覆矿 and then 地灾, 「都发改委批吗」 after 建议书, 可研 and 初设: what it
        asks, of each of the items it points back to (running together is `_together_follow_up`'s); with 「…呢」
        only, the earlier question."""
        these = self._these(text, context)
        if not these and _ALL_OF_THEM.match(text) and len(self._spoken_of(context)) > 1:
            these = self._spoken_of(context)[-3:]
        if not these and _EACH_FIRST.match(text) and len(self._spoken_of(context)) > 1:
            # 「分别要多久」 after 「洪评和取水许可…」「这俩能一起报吗」: each of the last two spoken of
            these = self._spoken_of(context)[-2:]
        # 「这俩加一块得多长时间 俺们急着投产呢」: the two pointed at explicitly, their times added up — not whether they
        # run together, and a follow-up though something is told after it
        # (「那这俩都办完的话 项目还差哪些手续」 asks the whole project's status, no longer the two's)
        pointed = bool(_THESE.search(text)) and result.intent != "status"
        if (
            not these
            or result.asks
            or result.reason in _NEVER_INHERIT
            or len(text) > (DOCUMENT_FOLLOW_UP_CHARS if pointed else FOLLOW_UP_CHARS)
            or (TOGETHER.search(text) and not (pointed and _ADDED_UP.search(text)))
            or any(self.index.outright(h) for h in self.index.span_hits(text))
        ):
            return None
        intent = context.intent if self._elliptic(result, text) or result.intent == "other" else result.intent
        if intent == "status":
            return taken_as(result, these[0], "status", action="handoff", reason="status")
        return taken_as(result, these[0], intent, asks=tuple(Ask(i, intent) for i in these))

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
        of the earlier item's own names (「这个代码」 after 项目代码), or before the last character of one of them that
        the other item's names lack (「这个码」)."""
        if result.item in (None, context.item) or result.asks or len(text) > DOCUMENT_FOLLOW_UP_CHARS:
            return False

        earlier, other = self._own_names(context.item), self._own_names(result.item)
        outright = [h for h in self.index.span_hits(text) if self.index.outright(h)]
        if any(h.item == result.item and text.startswith(("呢", "的呢"), h.end) for h in outright):
            return False  # 「原产地证呢 也是那个海关吗」: the item named with 呢 is the one now asked about
        named_at = {h.start for h in outright}
        for found in _POINTER.finditer(text):
            if found.end() in named_at:
                continue  # 「这个施工图审查要多久」 names its own item after the pointer
            word = text[found.end() : found.end() + 2]
            if (
                len(word) == 2
                and word not in _SHARED_WORDS
                and any(word in name for name in earlier)
                and not any(word in name for name in other)
            ):
                return True
            # one character naming a thing (码, 证, 表, 书) after 这个/那个, the message's last or before a particle
            # (「这个码吧」; not 「…也该查吗」: 该 there is "should")
            last, after = text[found.end() : found.end() + 1], text[found.end() + 1 : found.end() + 2]
            if (
                found.group() != "该"
                and last in _THING_ENDS
                and after in ("", *PARTICLES)
                and any(name.endswith(last) for name in earlier)
                and not any(last in name for name in other)
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
            or (self.kb.items[context.item].kind != "item" and context.item != PROJECT_CODE)
        ):
            return False
        hits = [h for h in self.index.span_hits(text) if h.exact and h.start >= 0]
        if any(h.item != _CHANNEL_TOPIC for h in hits if self.index.outright(h)):
            return False
        starts = [h.start for h in hits if h.item == _CHANNEL_TOPIC]
        ends = [h.end for h in hits if h.item == _CHANNEL_TOPIC]
        # 「批完是电子证照吗」: the form the earlier item's certificate comes in
        return bool(starts) and (
            bool(_CHANNEL_BEFORE.search(text, 0, min(starts)))
            or bool(_E_CERTIFICATE_FORM.search(text))
            or any(_CHANNEL_APPLIED.match(text, end) for end in ends)
        )

    def _names_own_department(self, text: str, item: str) -> bool:
        """Whether a message names the department that handles `item` (「登记中心」 for 不动产权证) and no item."""
        key = self.kb.items[item].department
        department = self.kb.departments.get(key) if key else None
        if department is None or any(self.index.outright(h) for h in self.index.span_hits(text)):
            return False
        return any(compact_text(word) in text for word in (department.name, *department.aliases) if word)

    def _names_other_department(self, text: str, item: str) -> bool:
        """Whether a message names a department other than the one that handles `item` (a word of its own that is
        no part of that department's names: 「应急局」 after 环评, not 「资源局」 after 用地预审)."""
        key = self.kb.items[item].department
        own = self.kb.departments.get(key) if key else None
        own_words = [compact_text(w) for w in (own.name, *own.aliases) if w] if own else []
        return any(
            word in text and not any(word in o for o in own_words)
            for other, words in self.approval_departments.items()
            if other != key
            for word in words
        )

    def _partner_only(self, text: str, item: str) -> bool:
        """Whether `item`'s name in the message follows 和/跟/与/同 (「能和图审一起报吗」): named as the partner."""
        starts = [h.start for h in self.index.span_hits(text) if h.item == item and h.exact and h.start >= 0]
        return bool(starts) and min(starts) > 0 and text[min(starts) - 1] in PARTNER_MARKS

    def _bare_words_only(self, text: str, result: MatchResult) -> list[str]:
        """The bare procedure words (备案, 核准…) that are all a follow-up (up to DOCUMENT_FOLLOW_UP_CHARS) writes of
        `result.item`'s names, also as the parts of a combination (「验收还是备案」: 验收+备案 of 竣工验收备案); empty when
        it writes anything else of them, names a department (「发改那边备案」) or is longer."""
        if len(text) > DOCUMENT_FOLLOW_UP_CHARS or result.asks:
            return []
        if any(word in text for word in self.index.department_words):
            return []
        spans = [
            span
            for h in self.index.span_hits(text) + self.index.combo_hits(text)
            if h.item == result.item and (h.covers or (h.exact and h.start >= 0))
            for span in (h.covers or ((h.start, h.end),))
        ]
        return _bare_words_at(text, spans)

    def _bare_words_of_earlier(self, text: str, context: Context) -> bool:
        """Whether all a short follow-up names (`_names_item`) is bare procedure words of the earlier item's own names
        (「做的话找哪里评审备案」 after 地灾评估, whose names hold 地灾备案): a step of it, no item of its own."""
        if len(text) > DOCUMENT_FOLLOW_UP_CHARS:
            return False
        spans = [(h.start, h.end) for h in self.index.span_hits(text) if h.exact and h.start >= 0 and h.named]
        bare = _bare_words_at(text, spans)
        return bool(bare) and self._says_earlier(bare, context)

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
        hits = [h for h in self.index.span_hits(text) if self.index.outright(h)]
        if not hits:
            return False
        start, end = name_span(hits)
        if done_excepted and _DONE_RIGHT_AFTER.match(text, end):
            return False
        return _BEFORE_SUBJECT.fullmatch(text[:start]) is not None

    def _document_follow_up(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """A follow-up about a document of the earlier item, or None.

        「出让合同要原件还是复印件」 after the 用地规划许可, 「营业执照副本要原件吗」 after the 核准: a document the
        earlier item's material list names (four characters in common), also when it is a procedure's name or
        an out-of-scope phrase. 「消防验收意见书要原件吗」「人防意见还没拿到，能先受理吗」: what another procedure
        issues. Asked how it is handed in, it is the earlier item's materials; asked whether the earlier item
        goes ahead without it, its tolerance."""
        # 「那用地规划许可证呢」 is the earlier question about another item; 「环评批复呢」 after 「可研要附哪些」, the
        # paper another procedure issues, is one more of the earlier item's materials
        elliptic = bool(ELLIPSIS.search(text))
        if (
            (result.asks and not self._attached_each(result))
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
        in_material = self.index.material_cover(text, context.item) if _DOCUMENT_NOUN.search(text) else set()
        if result.reason == "out_of_scope":
            # an out-of-scope phrase stands only when it is no document of the earlier item (营业执照 in
            # 「企业营业执照复印件」 is one; 安全设施竣工验收 is none)
            phrases = self.index.out_of_scope_spans(text)
            if not phrases or not all(all(j in in_material for j in range(a, b)) for a, b in phrases):
                return None
        attach = _ATTACHED.search(text)
        attached = attach is not None
        hits = self.index.span_hits(text)
        others = [  # a topic named (「能容缺不」) is what is asked, no document
            h
            for h in hits
            if h.exact
            and h.start >= 0
            and h.item != context.item
            and (h.alias or attached)
            and self.kb.items[h.item].kind == "item"
        ]
        named_at_once = [h.item for h in others if self.index.outright(h) and not ISSUED_DOCUMENT.match(text, h.end)]
        if named_at_once and set(named_at_once) <= set(context.earlier[: context.at_once]):
            # 「工程规划证要交总平图吧」 after 「那这俩各要多少天」 of the two planning permits: one of the items just asked
            # about at once is asked about now, no paper of the other (「审图合格书也得附上吧」 names the paper)
            return None

        tolerance_at = [h.start for h in hits if h.item == "tolerance" and h.start >= 0]
        attached_after = attach is not None and any(
            h.exact and h.start >= attach.end() and self.kb.items[h.item].kind == "item" for h in hits
        )
        attach_asks_what = attach is not None and _WHAT.match(text, attach.end()) is not None

        def a_document(hit: Hit) -> bool:
            issued = (
                ISSUED_DOCUMENT.match(text, hit.end)
                or ISSUED_DOCUMENT.search(text, hit.start, hit.end)
                or (text.startswith("的", hit.end) and ISSUED_DOCUMENT.match(text, hit.end + 1))  # 「用地预审的批复」
            )
            if elliptic:
                return bool(issued)
            if attach is not None:
                # 「要附施工图吗」「规划许可证复印件也要附上吗」: what is named is attached — unless another item is
                # named after 附, or 附 asks what (「可研要附啥」): then the one before it, issuing no paper there, is
                # what the paper goes with (「竣工备案要附消防验收的意见书吧」)
                before = hit.start < attach.start()
                return bool(issued) or not before or not (attached_after or attach_asks_what)
            if self.index.outright(hit) and _OWN_LIST_ASKED.match(text, hit.end):
                return False  # 「那前面的项目建议书要交哪些东西」 after 可研: what that procedure itself asks for
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
            # 「那建设工程规划许可证能容缺办吗」 after 施工许可: a paper of its list, but the procedure's own 容缺 is asked
            return (inside and not (own_tolerance and self.index.outright(hit))) or bool(issued) or certificate

        if not (in_material or others) or not all(a_document(h) for h in others) or (elliptic and not others):
            return None
        topic = self.kb.items[context.item].kind == "topic"
        if topic and any(self.index.outright(h) for h in others) and not _DOCUMENT_FORM.search(text):
            return None  # 「施工许可证能容缺吗」 after the 容缺 topic: the item named is asked about, no paper
        if result.item == context.item and (result.intent == intent or intent == "tolerance"):
            return None
        return taken_as(result, context.item, intent)

    def _certificate_after(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「签完出让合同多久能拿到证」「交清了后面办证需要啥」 after 土地出让: a certificate asked for by the bare word 证
        (拿证, 办证) is one that comes right after the earlier item (its one prerequisite) — offered, the one the item
        model reads likelier first, when there are several (不动产权证, 建设用地规划许可证). None otherwise: another item
        named or read likelier by the item model (「开工前要领个证吗」), 「这几个证」 (several, 五证联发's), or an earlier item
        that issues a certificate itself (its own)."""
        earlier = self.kb.items.get(context.item)
        if (
            earlier is None
            or any("证" in name for name in (earlier.name, earlier.short))  # 「几天出证」 after 用地规划许可: its own
            or result.asks
            or result.reason in _NEVER_INHERIT
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
            or not _CERTIFICATE_ASKED.search(text)
            or any(self.index.outright(h) and h.item != context.item for h in self.index.span_hits(text))
        ):
            return None
        after = [
            key
            for key, item in self.kb.items.items()
            if item.kind == "item" and tuple(item.prerequisites) == (context.item,) and "证" in item.name
        ]
        if not after:
            return None
        likely = self.model.item_probabilities(text) if self.model is not None else {}
        others = [key for key in likely if key in self.kb.items and key != context.item]
        best = max(others, key=likely.__getitem__) if others else None
        lead = likely[best] - max(likely.get(key, 0.0) for key in after) if best is not None else 0.0
        if best not in after and lead >= self.weights.disagree:
            # 「开工前要领个证吗」: the item model reads another item's certificate (the 施工许可证, 0.67 against 0.01),
            # well ahead as the doubt weighs it (`Weights.disagree`); 「多久能拿到证书」 leans to 原产地证书 by 0.26
            # against 0.21, which is no reading of another certificate
            return None
        after.sort(key=lambda key: -likely.get(key, 0.0))
        if len(after) == 1:
            return taken_as(result, after[0], result.intent)
        # a choice offers three at most, as the matcher's; the item model is read again here, for this rare message only
        choices = tuple(Candidate(key, round(likely.get(key, 0.0), 3)) for key in after[:3])
        return replace(
            result,
            item=after[0],
            action="clarify",
            reason="ambiguous",
            candidates=choices,
            confidence=choices[0].score,
            context=True,
        )

    def _attached_each(self, result: MatchResult) -> bool:
        """Whether every item of several asked is named after 附 in its clause, and in no other clause (「需要附压矿和
        地灾的结果吗」): papers attached, not procedures asked about (「需要附压矿吗 地灾要多久」 asks of 地灾)."""
        asked = {a.item for a in result.asks}
        found = []
        for clause in result.normalized.split():
            text = compact_text(clause)
            named = {
                h.item: h.start for h in self.index.span_hits(text) if h.exact and h.start >= 0 and h.item in asked
            }
            attach = _ATTACHED.search(text)
            if attach is not None and named and all(at >= attach.end() for at in named.values()):
                found.append(set(named))
            elif named:
                return False  # an item asked about in a clause of its own
        return len(found) == 1 and found[0] == asked

    def _sibling_named(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「验收一般几天」「验收呢」 after 消防设计审查: a bare procedure word that, after the first word of the earlier
        item's name (消防), is another item's own name (消防验收) names that item; 「备案」 there is no name
        (消防备案 is only an alias of 消防验收), so it stays the earlier item's own step."""
        words = self.siblings.get(context.item, {})
        if not words or result.asks or result.item not in (None, context.item) or len(text) > FOLLOW_UP_CHARS:
            return None
        if any(self.index.outright(h) for h in self.index.span_hits(text)):
            return None  # an item named outright: its own reading
        # 「不是验收 是设计审查」 says which it is not
        found = {other for word, other in words.items() if word in text and f"不是{word}" not in text}
        if len(found) != 1:
            return None
        intent = self._intent_asked(result, context, text)
        return asked_of(replace(result, intent=intent), found.pop())

    def _in_words_of_earlier(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「出让的要准备啥材料」「签了出让合同以后多久能发」 after the 用地规划许可: another item named only by words the
        earlier item's own material list uses (国有建设用地使用权出让合同…) is a matter of
        the earlier item, asked of it. A word of the other item's own (挂牌, 土地出让金) keeps that item."""
        if (
            result.action != "answer"
            or result.asks
            or result.item in (None, context.item)
            or result.reason in ("learned", "smalltalk")
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
            or self.kb.items[context.item].kind != "item"
            or self.kb.items[result.item].kind != "item"
        ):
            return None
        hits = [h for h in self.index.span_hits(text) if h.start >= 0 and h.exact]
        named = [h for h in hits if h.item == result.item]
        if not named or any(h.item not in (result.item, context.item) for h in hits):
            return None
        words = self.own_words[context.item]
        phrases = [text[h.start : h.end] for h in named]
        if not all(any(p in w for w in words) and not _NAMES_A_PROCEDURE.search(p) for p in phrases):
            return None  # 「图审一般几天」 after 施工许可证: 施工图审查合格书 is its paper, but 图审 is the procedure asked
        if any(
            text.startswith("里", h.end) or _PROCEDURE_PAPER_AFTER.match(text, h.end) or _HOW_DONE.match(text, h.end)
            for h in named
        ):
            # 「出让合同里约定的开工时间能改吗」: what the paper says, the other item's matter; 「选址那个意见书多久」:
            # the paper that is the other procedure's; 「出让合同怎么签」: how it is done, the other procedure's
            return None
        intent = self._intent_asked(result, context, text)
        return asked_of(replace(result, intent=intent), context.item)

    def _paper_of_earlier_loosely(self, result: MatchResult, context: Context, text: str) -> MatchResult | None:
        """「评估报告谁审」 after 压覆矿: a paper named loosely — no name of any item written, only items it sounds like
        offered (地灾, 洪评, 能评…) — that the earlier item's own material list names (建设项目压覆重要矿产资源评估报告)
        is the earlier item's paper, asked of it."""
        if (
            result.action != "clarify"
            or result.reason != "ambiguous"
            or result.asks
            or len(text) > DOCUMENT_FOLLOW_UP_CHARS
            or self.kb.items[context.item].kind != "item"
            or not _DOCUMENT_NOUN.search(text)
            or any(h.exact and h.start >= 0 for h in self.index.span_hits(text))
            or not self.index.material_cover(text, context.item)
        ):
            return None
        return asked_of(replace(result, intent=self._intent_asked(result, context, text)), context.item)

    def _said_alone(self, text: str, item: str) -> bool:
        """Whether the message is `item` written exactly (not by sound or in latin letters) with fillers around it
        and nothing else (「环评」「那林草的呢」「就是那个施工许可」)."""
        names = [h for h in self.index.span_hits(text) if h.item == item and h.exact and h.start >= 0]
        if not names:
            return False
        start, end = name_span(names)
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
            h.item
            for h in self.index.span_hits(first)
            if self.index.outright(h) and not ISSUED_DOCUMENT.match(first, h.end)
        }
        asked = set(read_cues(first).first_strong) - {"status"}  # 「…还在走流程」 says how it stands, asks nothing
        return bool(named) and context.item not in named and bool(asked)

    def _named_done_only(self, result: MatchResult) -> bool:
        """Whether the message names the item it was answered with, and only as had before 还 (「项目代码有了 还要啥」) or
        as background."""
        compact = result.normalized.replace(" ", "")
        own = [h for h in self.index.span_hits(compact) if h.item == result.item and h.exact and h.start >= 0]
        if own and all(_HAD_AFTER.match(compact, h.end) for h in own):
            return True
        # 「多久能审完 我们等着办施工证」「就填个表？不用可研吧」「啥时候能办 得等消防验收完吧」: named only after words
        # that make it background (what is waited for, excluded, under way: `names.CONTEXT_BEFORE`, `names.waited_for`),
        # in a clause after the first — not what is asked
        # (「等着办施工许可证 要啥材料」 opens with it: asked)
        later = [start for start in clause_starts(result.normalized) if start > 0]
        return bool(own) and all(
            (CONTEXT_BEFORE.search(compact, 0, h.start) or waited_for(compact, h.start, h.end))
            and any(start <= h.start for start in later)
            for h in own
        )

    def _names_item(self, normalized: str) -> bool:
        """Whether the message names an approval item of its own (alias, homophone or latin; not as done)."""
        return any(
            self.kb.items[h.item].kind == "item" and not h.context and (h.named or h.score >= self.weights.evidence)
            for h in self.index.names_read(normalized)
        )
