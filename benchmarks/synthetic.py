"""A synthetic, large knowledge base for the matcher benchmark.

The bundled knowledge base has about a hundred FAQ pairs; an operator who keeps adding the
group's real questions may end up with thousands. `synthetic_kb` takes the bundled base and
adds generated FAQ pairs spread over its items (round robin, so every item grows alike).
The questions come from templates per intent × the item's Chinese names and aliases ×
varied context (enterprise, banner/district, project, investment, tone), so no two are
identical and they read like chat messages, not like one sentence repeated.

Everything is seeded: the same arguments give the same knowledge base and queries.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from knowledge.model import Faq, Item, KnowledgeBase
from knowledge.normalize import compact, has_cjk

REGIONS = (
    "东胜区",
    "康巴什区",
    "达拉特旗",
    "准格尔旗",
    "伊金霍洛旗",
    "鄂托克旗",
    "鄂托克前旗",
    "杭锦旗",
    "乌审旗",
    "包头市九原区",
    "呼和浩特赛罕区",
    "乌海市海勃湾区",
    "赤峰市红山区",
    "通辽市科尔沁区",
    "巴彦淖尔临河区",
    "锡林浩特市",
    "阿拉善左旗",
    "满洲里",
    "集宁区",
    "土默特左旗",
)
COMPANIES = (
    "城投公司",
    "能源集团",
    "新材料有限公司",
    "光伏科技公司",
    "煤化工企业",
    "农牧业产业化龙头企业",
    "物流公司",
    "建设投资公司",
    "乳业公司",
    "稀土功能材料公司",
    "氢能装备公司",
    "文旅集团",
    "国有平台公司",
    "民营企业",
    "外资企业",
    "央企项目公司",
    "新能源开发公司",
    "水务公司",
    "医药企业",
    "数据科技公司",
)
PROJECTS = (
    "光伏电站",
    "风电场",
    "储能电站",
    "煤制烯烃",
    "综合物流园",
    "数据中心",
    "污水处理厂",
    "中学教学楼",
    "人民医院门诊楼",
    "保障性住房",
    "标准化厂房",
    "农畜产品加工",
    "绿氢示范",
    "稀土新材料产业园",
    "冷链仓储中心",
    "乳制品加工厂",
    "老旧小区改造",
    "城市道路",
    "集中供热管网",
    "文旅综合体",
    "锂电池正极材料",
    "生物制药车间",
    "铁路专用线",
    "职业技术学校",
)
SCALES = ("", "", "总投资{n}亿元的", "投资{n}个亿的", "计划投资{n}亿的", "{n}万千瓦的", "占地{n}00亩的")
OPENERS = ("", "", "", "请问", "你好，", "老师好，", "麻烦问一下，", "管家，", "打扰一下，", "各位老师，", "咨询一下，")
CLOSERS = ("", "", "", "？", "，谢谢", "，急", "，在线等", "～", "，麻烦告知", "。", "？多谢")
CONTEXTS = (
    "",
    "",
    "我们{region}的{project}项目，",
    "我们是{region}一家{company}，{scale}{project}项目",
    "{company}在{region}建{scale}{project}，",
    "{region}{project}项目（{company}），",
    "我们{scale}{project}项目马上要开工了，",
    "我是{company}跑手续的，",
    "{project}项目，{region}那边的，",
    "咱们{region}{scale}{project}，",
)

# Per intent: templates with {a} = a Chinese name or alias of the item.
ITEM_TEMPLATES: dict[str, tuple[str, ...]] = {
    "materials": (
        "{a}需要准备哪些材料",
        "办{a}要交什么资料",
        "{a}申报材料清单发一下",
        "{a}都要带啥",
        "{a}要提交哪些文件",
        "做{a}需要准备什么东西",
        "{a}的材料有哪些是必须的",
        "{a}要几份材料",
        "{a}申请表在哪下载，还要附什么",
    ),
    "department": (
        "{a}在哪个窗口办",
        "{a}找哪个部门",
        "{a}归哪个局管",
        "{a}去哪里办理",
        "{a}是哪个单位审批",
        "{a}的窗口电话多少",
        "{a}在政务大厅几楼",
        "{a}对接人是谁，哪个科室",
    ),
    "time_limit": (
        "{a}多久能批下来",
        "{a}承诺时限是几个工作日",
        "{a}法定时限多少天",
        "{a}一般要多长时间",
        "{a}最快几天能办完",
        "{a}审批周期大概多久",
        "办{a}要等几天",
    ),
    "process": (
        "{a}流程怎么走",
        "{a}第一步该干啥",
        "{a}怎么申请",
        "{a}的办理步骤是什么",
        "{a}网上怎么报",
        "{a}需要先办哪些前置手续",
        "{a}能和别的手续并联办吗",
    ),
    "fee": ("{a}收费吗", "{a}要交多少钱", "办{a}有没有费用", "{a}的费用谁出", "{a}收不收钱"),
    "tolerance": (
        "{a}材料不全能先受理吗",
        "{a}可以容缺吗",
        "{a}缺一个文件能不能先报",
        "{a}能先办后补吗",
        "{a}哪些材料可以后补",
    ),
}
TOPIC_TEMPLATES = (
    "{a}怎么申请",
    "{a}是什么意思",
    "{a}有什么条件",
    "{a}适用哪些项目",
    "{a}具体怎么操作",
    "{a}在哪个平台办",
    "{a}要准备什么",
    "{a}找谁对接",
    "我们能走{a}吗",
    "{a}需要多长时间",
    "{a}有没有政策文件",
)


def _aliases(item: Item) -> list[str]:
    """The item's Chinese names and aliases (latin spellings are left to the dev set)."""
    seen: dict[str, None] = {}
    for text in (item.short, item.name, *item.aliases):
        if text and has_cjk(text) and not any(ch in text for ch in "/（("):
            seen.setdefault(text, None)
    return list(seen) or [item.key]


def _context(rng: random.Random) -> str:
    scale = rng.choice(SCALES).format(n=rng.randint(2, 60))
    return rng.choice(CONTEXTS).format(
        region=rng.choice(REGIONS), company=rng.choice(COMPANIES), project=rng.choice(PROJECTS), scale=scale
    )


def _question(item: Item, rng: random.Random) -> str:
    if item.kind == "topic":
        template = rng.choice(TOPIC_TEMPLATES)
    else:
        template = rng.choice(ITEM_TEMPLATES[rng.choice(tuple(ITEM_TEMPLATES))])
    body = template.format(a=rng.choice(_aliases(item)))
    return f"{rng.choice(OPENERS)}{_context(rng)}{body}{rng.choice(CLOSERS)}"


def _answer(kb: KnowledgeBase, item: Item, rng: random.Random) -> str:
    dept = kb.department_of(item)
    parts = [f"{item.short or item.name}"]
    if dept is not None:
        parts.append(f"由{dept.name}办理")
    if item.promised_days is not None:
        parts.append(f"承诺{item.promised_days}个工作日办结")
    parts.append(rng.choice(("具体以窗口答复为准", "材料清单见一网通办", "可先电话咨询窗口", "请与项目管家联系")))
    return "，".join(parts) + "。（合成数据）"


def generate_faqs(
    kb: KnowledgeBase, count: int, *, seed: int = 20240601, exclude: Iterable[str] = ()
) -> dict[str, list[Faq]]:
    """Return `count` new FAQ pairs keyed by item, spread round robin over the items.

    No two generated questions normalise alike, and none equals an existing FAQ question or
    a text in `exclude` (pass the questions you will query with, so none is a verbatim hit).
    """
    rng = random.Random(seed)
    taken = {compact(t) for t in exclude}
    taken |= {compact(f.q) for item in kb.items.values() for f in item.faq}
    keys = list(kb.items)
    added: dict[str, list[Faq]] = {k: [] for k in keys}
    made, attempts = 0, 0
    while made < count:
        attempts += 1
        if attempts > count * 50:
            raise RuntimeError(f"could only generate {made} distinct questions of {count}")
        item = kb.items[keys[made % len(keys)]]
        q = _question(item, rng)
        norm = compact(q)
        if norm in taken:
            continue
        taken.add(norm)
        added[item.key].append(Faq(q=q, a=_answer(kb, item, rng)))
        made += 1
    return added


def synthetic_kb(kb: KnowledgeBase, count: int, *, seed: int = 20240601, exclude: Iterable[str] = ()) -> KnowledgeBase:
    """The bundled knowledge base plus `count` generated FAQ pairs (immutably, via replace)."""
    added = generate_faqs(kb, count, seed=seed, exclude=exclude)
    items = {key: replace(item, faq=item.faq + tuple(added[key])) for key, item in kb.items.items()}
    return replace(kb, items=items)


def generated_queries(kb: KnowledgeBase, count: int, *, seed: int = 7) -> list[str]:
    """Fresh questions in the same styles (a different seed than the FAQ), for latency runs."""
    rng = random.Random(seed)
    keys = list(kb.items)
    return [_question(kb.items[rng.choice(keys)], rng) for _ in range(count)]


def write_knowledge_folder(source: Path, kb: KnowledgeBase, target: Path) -> None:
    """Copy the knowledge folder at `source` to `target` with the FAQ lists of `kb`.

    Used to time start-up from files (YAML parsing and validation of every FAQ pair), not
    only the index build. Comments of the source files are not kept; the copy is throwaway.
    """
    import shutil

    import yaml

    shutil.copytree(source, target)
    for path in sorted((target / "items").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        item = kb.items[data["key"]]
        data["faq"] = [{"q": f.q, "a": f.a} for f in item.faq]
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000), encoding="utf-8")
