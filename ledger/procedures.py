"""The procedures a ledger row can name, and the default ten (十项前期手续).

Each procedure is a knowledge-base item key, so the profile can show the item's material
list and department. Two of the ten slots cover more than one item:

- 立项(审批/核准/备案): a government-invested project is approved on its proposal
  (`proposal`), an enterprise project is either verified (`verification`, 核准) or filed
  (`filing`, 备案). The plain word 立项 maps to `filing`, the commonest case for the
  enterprise-invested major projects in a city's ledger; write 审批/核准 (or the key) for the
  others.
- 土地供应/不动产权: land supply (`land_supply`) comes first and the property certificate
  (`property_cert`) follows it; 土地供应/不动产权 and 土地供应 map to `land_supply`,
  不动产权 / 不动产权证 to `property_cert`.

Any other item of the knowledge base (e.g. 地质灾害危险性评估, 取水许可) may also appear in a
ledger; anything else is an unknown procedure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ledger.models import STATUS_LABELS, ProcedureStatus


@dataclass(frozen=True, slots=True)
class ProcedureKind:
    key: str
    name: str  # the short name used in ledgers and reminders
    slot: int  # position in the default ten (1-10); 0 for the other items
    synonyms: tuple[str, ...] = ()


CATALOG: tuple[ProcedureKind, ...] = (
    ProcedureKind(
        "filing",
        "立项(备案)",
        1,
        ("立项", "立项(审批/核准/备案)", "立项审批/核准/备案", "立项备案", "备案", "企业投资项目备案", "项目备案"),
    ),
    ProcedureKind("verification", "立项(核准)", 1, ("立项核准", "核准", "企业投资项目核准", "项目核准")),
    ProcedureKind("proposal", "立项(审批)", 1, ("立项审批", "项目建议书", "项目建议书审批", "政府投资项目建议书审批")),
    ProcedureKind(
        "land_prereview",
        "用地预审与选址",
        2,
        ("用地预审", "选址", "用地预审与选址意见书", "建设项目用地预审与选址意见书", "用地预审和选址"),
    ),
    ProcedureKind(
        "land_supply",
        "土地供应",
        3,
        (
            "土地供应/不动产权",
            "土地供应及不动产权",
            "供地",
            "土地出让",
            "国有建设用地使用权出让",
            "国有建设用地使用权出让(挂牌、出让合同、供地)",
        ),
    ),
    ProcedureKind("property_cert", "不动产权", 3, ("不动产权证", "不动产权证书", "不动产权证书(土地)", "土地证")),
    ProcedureKind("land_use_planning", "建设用地规划许可", 4, ("建设用地规划许可证", "用地规划许可", "用地规划许可证")),
    ProcedureKind(
        "engineering_planning", "建设工程规划许可", 5, ("建设工程规划许可证", "工程规划许可", "工程规划许可证")
    ),
    ProcedureKind(
        "eia",
        "环评",
        6,
        ("环境影响评价", "环评审批", "环境影响评价审批", "建设项目环境影响评价审批", "建设项目环境影响评价审批(环评)"),
    ),
    ProcedureKind("energy_review", "节能审查", 7, ("节能评估", "节能", "固定资产投资项目节能审查")),
    ProcedureKind("soil_water", "水土保持", 8, ("水保", "水土保持方案", "水土保持方案审批")),
    ProcedureKind(
        "forest_grass",
        "林草审核",
        9,
        ("林草", "使用林地审核", "草原征占用审核", "使用林地审核/草原征占用审核", "林地审核", "林草审批"),
    ),
    ProcedureKind("construction_permit", "施工许可", 10, ("施工许可证", "建筑工程施工许可证", "建筑工程施工许可")),
    # Other items of the knowledge base.
    ProcedureKind(
        "feasibility", "可行性研究报告审批", 0, ("可研", "可研批复", "可行性研究报告", "政府投资项目可行性研究报告审批")
    ),
    ProcedureKind("preliminary_design", "初步设计审批", 0, ("初步设计", "初设", "政府投资项目初步设计审批")),
    ProcedureKind("geo_hazard", "地质灾害危险性评估", 0, ("地灾评估", "地质灾害评估")),
    ProcedureKind("mineral_overlay", "压覆矿产资源审批", 0, ("压覆矿产", "压矿")),
    ProcedureKind("water_permit", "取水许可", 0, ()),
    ProcedureKind("flood_impact", "洪水影响评价", 0, ("洪评",)),
    ProcedureKind("cultural_relics", "文物审查", 0, ("文物保护和考古审查", "建设工程文物保护和考古审查", "考古")),
    ProcedureKind("safety_review", "安全条件审查", 0, ("危险化学品建设项目安全条件审查", "安评")),
    ProcedureKind("drawing_review", "施工图审查", 0, ("施工图设计文件审查", "图审")),
    ProcedureKind("fire_design", "消防设计审查", 0, ("消防设计",)),
    ProcedureKind("civil_defense", "人防审批", 0, ("人防工程审批", "人防", "防空地下室")),
    ProcedureKind("fire_acceptance", "消防验收", 0, ("消防验收备案",)),
    ProcedureKind("planning_verification", "规划条件核实", 0, ("规划核实",)),
    ProcedureKind("completion_filing", "竣工验收备案", 0, ("竣工验收",)),
)

BY_KEY: dict[str, ProcedureKind] = {kind.key: kind for kind in CATALOG}

# One key per slot for a new ledger (the template and the default set).
DEFAULT_TEN: tuple[str, ...] = (
    "filing",
    "land_prereview",
    "land_supply",
    "land_use_planning",
    "engineering_planning",
    "eia",
    "energy_review",
    "soil_water",
    "forest_grass",
    "construction_permit",
)

_ORDER = {
    kind.key: (index, kind.key) for index, kind in enumerate(sorted(CATALOG, key=lambda k: (k.slot == 0, k.slot)))
}


def normalize_label(text: str) -> str:
    """Full-width to half-width, no blanks, lower case: 「立项（备案）」 == "立项(备案)"."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", "", text).lower()


def _build_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for kind in CATALOG:
        for label in (kind.key, kind.name, *kind.synonyms):
            norm = normalize_label(label)
            if norm in lookup and lookup[norm] != kind.key:
                raise RuntimeError(f"procedure label {label!r} maps to two items")
            lookup[norm] = kind.key
    return lookup


_LOOKUP = _build_lookup()


def resolve_procedure(text: str) -> str | None:
    """The item key for a procedure name, synonym or key; None if unknown."""
    return _LOOKUP.get(normalize_label(text))


def procedure_name(item_key: str) -> str:
    kind = BY_KEY.get(item_key)
    return kind.name if kind else item_key


def sort_key(item_key: str) -> tuple[int, str]:
    """Ledger order: the default ten in their order, then the rest."""
    return _ORDER.get(item_key) or (len(_ORDER), item_key)


def slot_siblings(item_key: str) -> tuple[str, ...]:
    """Other items filling the same slot of the ten (立项: proposal/verification/filing)."""
    kind = BY_KEY.get(item_key)
    if kind is None or kind.slot == 0:
        return ()
    return tuple(k.key for k in CATALOG if k.slot == kind.slot and k.key != item_key)


_STATUS_WORDS: dict[str, ProcedureStatus] = {}
for _status, _words in {
    ProcedureStatus.done: ("已办结", "办结", "已完成", "完成", "已办理", "已取得", "已批复", "done"),
    ProcedureStatus.not_needed: (
        "无需办理",
        "无需",
        "不需办理",
        "不需要办理",
        "不涉及",
        "无需办",
        "not_needed",
        "notneeded",
        "n/a",
    ),
    ProcedureStatus.in_progress: ("办理中", "在办", "正在办理", "审批中", "已受理", "in_progress", "inprogress"),
    ProcedureStatus.not_started: ("未启动", "未办理", "未开始", "未申报", "not_started", "notstarted"),
}.items():
    for _word in (*_words, STATUS_LABELS[_status], _status.value):
        _STATUS_WORDS[normalize_label(_word)] = _status


def resolve_status(text: str) -> ProcedureStatus | None:
    return _STATUS_WORDS.get(normalize_label(text))
