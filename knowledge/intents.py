"""Intent detection: what the question asks about an item.

Cue phrases are matched on the normalised text, in the clauses that ask something. The cue
that appears first wins (the first thing asked), so 「去哪个窗口交材料」 asks for the department
and 「要哪些材料，去哪交」 for materials; on a tie the earlier intent in `_CUES` wins. Generic
words (怎么, 如何, 部门 …) count only when no specific cue is found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

INTENTS = ("materials", "department", "time_limit", "process", "fee", "tolerance", "status", "other")

_CUES: dict[str, tuple[str, ...]] = {
    "status": (
        r"办到哪", r"到哪一步", r"到哪步", r"办到什么程度", r"进度", r"进展", r"批下来(了|没)",
        r"(?<!多久)(?<!几天)(?<!多长时间)能批下来了?吗", r"审到哪", r"审核到", r"审批到", r"卡在哪",
        r"有结果", r"结果出", r"出结果", r"下证了", r"出证了", r"(什么|啥)时候(能)?(拿到|出来|下来|批下来|批)",
        r"(出|批|好|完|过|发|到)了(没|吗|么)", r"(下来|出来|批复|办好|办完|通过|受理|审完|核实|赋码|下证|出证)了?(没|吗|么|没有)", r"出来(了)?(没|吗)", r"走到哪", r"到哪了", r"咋样了", r"怎么样了",
        r"还没(批|下来|出|办好|办完|通过|受理|动静|消息|结果)", r"没消息", r"状态", r"显示待", r"待审核", r"待受理",
        r"退回", r"驳回", r"(批|办|下|出|审|过)没\1",
    ),
    "tolerance": (
        r"容缺", r"缺件", r"后补", r"补交", r"补齐", r"先受理", r"先行受理", r"承诺书", r"告知承诺", r"缺一", r"缺个",
        r"缺了", r"缺少", r"差一", r"差个", r"还差(个|一|两|几|.{1,12}能(不能)?先)", r"还没齐", r"不齐", r"不全",
        r"没准备好", r"晚点交", r"以后再交", r"后面再交", r"后交", r"先办后补", r"后整改",
        r"能(不能)?先(申请|收|报|办|受理|备|提交|批|交|递)", r"先收件", r"rongque", r"houbu", r"可以先(申请|收|报|办|受理|提交)",
    ),
    "materials": (
        r"(材料|资料)(?!(都|已经|已|全|也)?(齐|交了|准备好|备齐))", r"要件", r"清单", r"要啥", r"要些啥", r"需要啥", r"准备啥", r"准备什么", r"准备哪些",
        r"提交什么", r"提交哪些", r"交什么(?!税|费)", r"交哪些(?!费|钱|税)", r"带什么", r"带啥", r"哪些文件", r"什么文件", r"啥文件",
        r"要哪些(?!手续|前提|条件|费)", r"需要哪些(?!手续|前提|条件|费)", r"提供什么", r"提供哪些", r"报什么", r"附件", r"申请表", r"要附", r"附上",
        r"什么东西", r"啥东西", r"哪些东西", r"缺什么", r"还差什么", r"准备些什么", r"要带",
        r"(要|需要|得|必须)(做|提交|提供|附|准备|出具|带|交|有)?.{0,10}(报告|证明|说明|书|表|图纸|合同|文件|意见)(吗|不|么|没)",
        r"(交|要|附|带|准备|需要|提供|提交)啥(?!手续)", r"(报告|证明|材料|资料|图纸|文件|书|表).{0,6}(要|需要|得)(一起|同时)?(交|提交|带|附|提供)(吗|么|不)", r"几套", r"几份", r"要什么(?!部门|条件|时候|手续)",
        r"需要什么(?!部门|条件|时候|手续)", r"material", r"document", r"docs", r"cailiao", r"ziliao",
    ),
    "fee": (
        r"收费", r"费用", r"多少钱", r"要钱", r"花钱", r"交钱", r"付费", r"免费", r"缴费", r"交费", r"缴纳",
        r"收钱", r"几块钱", r"要不要钱", r"花多少", r"价格", r"收不收", r"付钱", r"谁出钱", r"费用谁出", r"购买服务",
        r"费(怎么|咋|能|要|是|多少|减免|标准|交|缴|收|算|吗)", r"(税|钱)(怎么|咋)(算|交|收)", r"交.{0,4}费", r"交多少", r"保证金", r"减免", r"太贵", r"少交",
        r"税费", r"分期", r"滞纳金", r"缴存", r"缓交", r"缓缴", r"费.{0,4}(能不能|可以|可不可以|能否)",
        r"费.{0,3}标准", r"收费标准", r"标准是多少", r"fee", r"cost", r"howmuch", r"price", r"jiaoqian", r"shoufei", r"feiyong", r"duoshaoqian",
    ),
    "time_limit": (
        r"多久", r"多长时间", r"多少时间", r"(?<![十0-9])几天", r"多少天", r"几个工作日", r"多少个工作日", r"多少工作日",
        r"工作日", r"时限", r"期限", r"多快", r"周期", r"要多长", r"几个月", r"多长", r"几周", r"办结时间",
        r"什么时候能办", r"啥时候能办", r"(什么|啥)时候(发|开始|截止)", r"截止", r"哪天", r"时间", r"当天(能|可以|就|办|拿|出)", r"当场", r"立等",
        r"即来即办", r"howlong", r"days", r"timelimit", r"duojiu", r"jitian", r"duochang",
    ),
    "department": (
        r"哪个部门", r"什么部门", r"啥部门", r"哪些部门", r"部门是", r"哪个单位", r"什么单位", r"谁管", r"谁负责",
        r"谁批", r"谁审", r"谁来", r"谁办", r"谁受理", r"(批|审|办)还是", r"(局|委|中心|海关|部门|窗口|厅)(办|批|审|管|受理)(吗|的|不|么)",
        r"(局|委|中心|海关|部门|窗口|厅)(办|批|审|管|受理)?还是",
        r"找.{0,8}(局|委|中心|部门|窗口|科|办公室|海关|厅)(吗|么|还是|办|批|审|呢)?",
        r"归谁", r"归哪", r"哪里办", r"哪儿办", r"哪办", r"去哪", r"在哪(?!(里|儿)?(下载|打印|注册|登录|查询|查))", r"到哪", r"交哪", r"送哪", r"报哪", r"递哪",
        r"哪个窗口", r"窗口", r"电话", r"联系方式", r"联系人", r"找谁", r"找哪", r"哪个局", r"什么局", r"负责部门",
        r"受理部门", r"哪个科", r"哪个口", r"哪家", r"几楼", r"哪一级", r"哪级",
        r"(局|委|办|中心|支队|处|厅).{0,6}还是", r"还是.{0,10}(局|委|中心|支队)", r"(自治区|市里|市|旗里|区里|县里|国家)批还是",
        r"办公时间", r"上班时间", r"网址", r"网站", r"链接", r"还是(国家|自治区|省里?|市里?|旗里?|县里?|区里?)",
        r"where", r"whichdepartment", r"who", r"nali", r"nar", r"bumen", r"zhaoshui",
    ),
    "process": (
        r"流程", r"怎么办", r"如何办", r"怎么弄", r"咋弄", r"咋办", r"咋整", r"怎么搞", r"怎么申请", r"如何申请", r"咋申请",
        r"注册", r"是不是必须", r"怎么报", r"咋报", r"如何报", r"步骤", r"程序", r"前置", r"先办", r"先后", r"顺序", r"条件",
        r"网上", r"线上", r"并联", r"办法", r"方法", r"做点啥", r"做啥", r"做什么", r"同时办", r"一起办", r"怎么走", r"能走", r"走什么", r"怎么操作", r"前提",
        r"在哪(里|儿)?(下载|打印|注册|登录|查询|查)",
        r"先做", r"哪个先", r"在前", r"是不是可以", r"可以直接", r"是不是就", r"能不能直接", r"先.{1,6}再", r"什么手续",
        r"哪些手续", r"啥手续", r"办啥", r"上传", r"失败", r"报错", r"登不上", r"单独报", r"延期",
        r"延长", r"找回", r"密码", r"下载", r"打印", r"自助", r"预约", r"能直接", r"自己找", r"howto", r"process",
        r"procedure", r"apply", r"howdoi", r"howcan", r"zenme", r"liucheng",
    ),
}

# Questions about what a thing is, or how two things differ.
_CUES["other"] = (r"区别", r"区分", r"什么意思", r"啥意思", r"是什么", r"是啥", r"算不算", r"属于", r"指的是")

# Weak cues count only when no other cue is found: they often frame a question rather than ask it.
_WEAK_CUES: dict[str, tuple[str, ...]] = {
    "process": (r"一起", r"同时", r"要先", r"先有", r"先拿", r"之前要", r"下一步", r"接下来", r"之前", r"以后", r"之后", r"然后", r"能不能", r"要不要", r"需不需要",
                r"是否需要", r"可以吗", r"行吗", r"能用吗", r"怎么", r"如何", r"怎样", r"办理", r"申报"),
    "department": (r"部门",),
}

_ORDERED = tuple((intent, re.compile("|".join(cues))) for intent, cues in _CUES.items())
_GO_AHEAD = re.compile(r"能(不能)?先|可以先|先(受理|收|报|办)|后补|补交|容缺")
_WEAK = tuple((intent, re.compile("|".join(cues))) for intent, cues in _WEAK_CUES.items())


def _first_outside(pattern: re.Pattern[str], text: str, ignore: Sequence[tuple[int, int]]) -> int:
    """Return where the pattern first matches outside the ignored spans (item names), or -1."""
    for found in pattern.finditer(text):
        if not any(a <= found.start() and found.end() <= b for a, b in ignore):
            return found.start()
    return -1


_QUESTION_MARK = re.compile(
    r"吗|么|呢|什么|啥|哪|多少|几|怎|如何|是否|能否|可否|谁|多久|多长|有没有|能不能|可不可以|要不要|是不是|行不行"
    r"|没有|了没|请问|问下|问一下|想问|咨询|求|麻烦|还是|(.)[不没]\1|[没不]$|能先|可以先"
)


_CONTEXT_CLAUSE = re.compile(r"公司|企业|集团|有限|单位|园区|开发区|工业园|我们是|我是|我司")


def _focus(normalized: str) -> str:
    """Blank out context clauses (「我们是…新材料企业」) so their words are not read as cues.

    A context clause asks nothing and introduces the asker. Works on the spaceless text
    so spans stay aligned with the matcher's.
    """
    clauses = normalized.split(" ")
    context = [bool(_CONTEXT_CLAUSE.search(c)) and not _QUESTION_MARK.search(c) for c in clauses]
    if all(context):
        return normalized.replace(" ", "")
    return "".join("#" * len(c) if ctx else c for c, ctx in zip(clauses, context))


def detect_intent(normalized: str, ignore: Sequence[tuple[int, int]] = ()) -> str:
    """Return the intent of a normalised question (one of INTENTS)."""
    return classify_intent(normalized, ignore)[0]


def classify_intent(normalized: str, ignore: Sequence[tuple[int, int]] = ()) -> tuple[str, bool]:
    """Return the intent and whether a specific (not merely generic) cue decided it.

    `ignore` lists spans of the spaceless text that are item names: a cue inside a name
    (条件 in 安全条件审查, 容缺 in 容缺受理) is not a cue.
    """
    if not normalized.strip():
        return "other", False
    text = _focus(normalized)
    for strong, tier in ((True, _ORDERED), (False, _WEAK)):
        best: tuple[int, int, str] | None = None
        for rank, (intent, pattern) in enumerate(tier):
            at = _first_outside(pattern, text, ignore)
            if at >= 0 and (best is None or (at, rank) < best[:2]):
                best = (at, rank, intent)
        if best:
            # 「不动产证还没下来，能先报吗」「哪些材料可以容缺」: what is missing is context; asking to go
            # ahead without it is tolerance.
            if best[2] in ("status", "materials") and _first_outside(_GO_AHEAD, text, ignore) >= 0:
                return "tolerance", strong
            return best[2], strong
    return "other", False
