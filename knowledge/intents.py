"""Intent detection: what the question asks about an item.

Cue phrases are matched on the normalised text. `status` and `tolerance` win wherever
they appear (they change who can answer); among the others the cue that appears first
wins, so 「去哪个窗口交材料」 asks for the department and 「要哪些材料，去哪交」 for materials.
"""

from __future__ import annotations

import re

INTENTS = ("materials", "department", "time_limit", "process", "fee", "tolerance", "status", "other")

_PRIORITY_CUES: dict[str, tuple[str, ...]] = {
    "status": (
        r"办到哪", r"到哪一步", r"到哪步", r"办到什么程度", r"进度", r"进展", r"批下来", r"批了没", r"批了吗",
        r"审到哪", r"审核到", r"审批到", r"卡在哪", r"卡在", r"有结果了", r"结果出来", r"办好了没", r"办好了吗",
        r"办完了没", r"办完了吗", r"下来了没", r"下来没", r"下证了", r"出证了", r"什么时候能下来", r"啥时候能下来",
        r"受理了没", r"受理了吗", r"通过了没", r"通过了吗", r"走到哪", r"到哪了", r"咋样了", r"怎么样了", r"还没批",
        r"还没下来", r"还没动静", r"没消息", r"状态",
    ),
    "tolerance": (
        r"容缺", r"缺件", r"后补", r"补交", r"补齐", r"先受理", r"先行受理", r"承诺书", r"告知承诺", r"缺一", r"缺个",
        r"缺了", r"缺少", r"差一", r"差个", r"还没齐", r"不齐", r"不全", r"没准备好", r"晚点交", r"以后再交",
        r"后面再交", r"后交", r"先报", r"先办后补",
    ),
}

_ORDERED_CUES: dict[str, tuple[str, ...]] = {
    "materials": (
        r"材料", r"资料", r"要件", r"清单", r"要啥", r"要些啥", r"需要啥", r"准备啥", r"准备什么", r"准备哪些",
        r"提交什么", r"提交哪些", r"交什么", r"交哪些", r"带什么", r"带啥", r"哪些文件", r"什么文件", r"啥文件",
        r"要哪些", r"需要哪些", r"提供什么", r"提供哪些", r"报什么", r"附件", r"文件", r"证明", r"申请表",
        r"要什么(?!部门|条件|时候|手续)", r"需要什么(?!部门|条件|时候|手续)", r"material", r"document", r"docs",
    ),
    "fee": (
        r"收费", r"费用", r"多少钱", r"要钱", r"花钱", r"交钱", r"付费", r"免费", r"缴费", r"交费", r"缴纳",
        r"收钱", r"几块钱", r"要不要钱", r"花多少", r"价格", r"收不收", r"fee", r"cost", r"howmuch",
    ),
    "time_limit": (
        r"多久", r"多长时间", r"多少时间", r"几天", r"多少天", r"几个工作日", r"多少个工作日", r"多少工作日",
        r"工作日", r"时限", r"期限", r"多快", r"周期", r"要多长", r"几个月", r"多长", r"几周", r"办结时间",
        r"什么时候能办", r"啥时候能办", r"时间", r"当天", r"立等", r"howlong", r"days", r"timelimit",
    ),
    "department": (
        r"哪个部门", r"什么部门", r"啥部门", r"哪个单位", r"什么单位", r"谁管", r"谁负责", r"谁批", r"谁审",
        r"归谁", r"归哪", r"哪里办", r"哪儿办", r"哪办", r"去哪", r"在哪", r"到哪", r"哪个窗口", r"窗口",
        r"电话", r"联系方式", r"联系人", r"地址", r"找谁", r"找哪", r"哪个局", r"什么局", r"负责部门",
        r"受理部门", r"哪个科室", r"哪个口", r"哪家", r"办公时间", r"上班时间", r"部门", r"where", r"whichdepartment", r"who",
    ),
    "process": (
        r"流程", r"怎么办", r"如何办", r"怎么弄", r"咋弄", r"咋办", r"怎么搞", r"怎么申请", r"如何申请", r"怎么报",
        r"如何报", r"步骤", r"程序", r"前置", r"先办", r"先后", r"顺序", r"条件", r"网上", r"线上", r"并联",
        r"同时办", r"一起办", r"怎么走", r"怎么操作", r"办理", r"之前要", r"前提", r"申报", r"怎么", r"如何",
        r"先做", r"哪个先", r"在前", r"之前", r"以后", r"之后", r"然后", r"注册", r"登录", r"怎样", r"howto", r"process", r"procedure", r"apply",
    ),
}

_PRIORITY = tuple((intent, re.compile("|".join(cues))) for intent, cues in _PRIORITY_CUES.items())
_ORDERED = tuple((intent, re.compile("|".join(cues))) for intent, cues in _ORDERED_CUES.items())


def detect_intent(normalized: str) -> str:
    """Return the intent of a normalised question (one of INTENTS)."""
    text = normalized.replace(" ", "")
    if not text:
        return "other"
    for intent, pattern in _PRIORITY:
        if pattern.search(text):
            return intent
    best: tuple[int, int, str] | None = None
    for rank, (intent, pattern) in enumerate(_ORDERED):
        found = pattern.search(text)
        if found and (best is None or (found.start(), rank) < best[:2]):
            best = (found.start(), rank, intent)
    return best[2] if best else "other"
