"""The bundled knowledge base covers DOMAIN.md; a broken one is refused with file and line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import knowledge
from knowledge.errors import KnowledgeError, Problem
from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase

BUNDLED = Path(knowledge.__file__).resolve().parent / "data"

# DOMAIN.md: item key -> the words of its responsible department (the table's third column).
DOMAIN_ITEMS = {
    "proposal": "发展和改革",
    "feasibility": "发展和改革",
    "preliminary_design": "发展和改革",
    "verification": "发展和改革",
    "filing": "发展和改革",
    "energy_review": "发展和改革",
    "land_prereview": "自然资源",
    "land_supply": "自然资源",
    "land_use_planning": "自然资源",
    "property_cert": "不动产登记",
    "engineering_planning": "自然资源",
    "geo_hazard": "自然资源",
    "mineral_overlay": "自然资源",
    "eia": "生态环境",
    "soil_water": "水利",
    "water_permit": "水利",
    "flood_impact": "水利",
    "forest_grass": "林业和草原",
    "cultural_relics": "文物",
    "safety_review": "应急管理",
    "drawing_review": "住房和城乡建设",
    "fire_design": "住房和城乡建设",
    "civil_defense": "人民防空",
    "construction_permit": "住房和城乡建设",
    "fire_acceptance": "住房和城乡建设",
    "planning_verification": "自然资源",
    "completion_filing": "住房和城乡建设",
    "customs_aeo": "海关",
    "customs_origin": "海关",
}
DOMAIN_TOPICS = ("tolerance", "parallel", "five_certs", "cross_province", "online_portal", "project_code")

# The abbreviations the issue says people really use, and the item each one means.
ABBREVIATIONS = {
    "环评": "eia",
    "能评": "energy_review",
    "水保": "soil_water",
    "工规证": "engineering_planning",
    "施工证": "construction_permit",
    "不动产证": "property_cert",
    "土地证": "property_cert",
    "可研": "feasibility",
    "初设": "preliminary_design",
    "地灾": "geo_hazard",
    "压覆矿": "mineral_overlay",
    "人防": "civil_defense",
}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(BUNDLED)


# -- the bundled knowledge base ---------------------------------------------------------------


def test_bundled_kb_covers_every_item_and_topic_of_the_domain(kb):
    assert len(DOMAIN_ITEMS) == 29 and len(DOMAIN_TOPICS) == 6
    for key in DOMAIN_ITEMS:
        assert key in kb.items, key
        assert kb.items[key].kind == "item", key
    for key in DOMAIN_TOPICS:
        assert key in kb.items, key
        assert kb.items[key].kind == "topic", key


@pytest.mark.parametrize("key", sorted(DOMAIN_ITEMS))
def test_every_item_is_complete(kb, key):
    item = kb.items[key]
    assert item.name and item.aliases
    dept = kb.department_of(item)
    assert dept is not None, f"{key}: department {item.department!r} does not exist"
    assert DOMAIN_ITEMS[key] in dept.name, f"{key}: {dept.name} is not the DOMAIN.md department"
    assert dept.phone and dept.window
    assert len(item.materials) >= 1
    assert all(m.name.strip() for m in item.materials)
    assert any(m.required for m in item.materials), f"{key}: every material deferrable?"
    assert item.promised_days is not None and item.promised_days >= 0
    if item.statutory_days is not None:
        assert item.promised_days <= item.statutory_days
    assert item.level, f"{key}: no approval level"
    assert set(item.level) <= {"国家", "自治区", "省", "市", "旗县区"}
    assert item.faq, f"{key}: no FAQ pairs"
    assert all(f.q.strip() and f.a.strip() for f in item.faq)
    assert item.source_file.endswith(f"{key}.yaml")


def test_every_topic_has_a_summary(kb):
    for key in DOMAIN_TOPICS:
        assert kb.items[key].summary.strip(), key


@pytest.mark.parametrize(
    ("key", "statutory", "promised"),
    [
        ("proposal", 20, 2),
        ("feasibility", 20, 3),
        ("verification", 20, 3),
        ("energy_review", 20, 3),
        ("land_prereview", 5, 2),
    ],
)
def test_published_time_limits(kb, key, statutory, promised):
    item = kb.items[key]
    assert (item.statutory_days, item.promised_days) == (statutory, promised)
    # a published figure is marked as published, so an operator knows it is not an example
    assert "promised_days" in item.published and "statutory_days" in item.published


def test_filing_is_same_day(kb):
    filing = kb.items["filing"]
    assert filing.promised_days == 0
    assert "promised_days" in filing.published


def test_items_without_published_figures_are_marked_as_examples(kb):
    for item in kb.items.values():
        if not item.published:
            assert item.example, f"{item.key}: unpublished content not marked as example"


@pytest.mark.parametrize(("abbr", "key"), sorted(ABBREVIATIONS.items()))
def test_common_abbreviations_are_aliases_of_their_item(kb, abbr, key):
    assert abbr in kb.items[key].aliases or abbr == kb.items[key].short


def test_departments_are_referenced_and_unique(kb):
    names = [d.name for d in kb.departments.values()]
    assert len(names) == len(set(names))
    used = {i.department for i in kb.items.values() if i.department}
    assert used <= set(kb.departments)


def test_prerequisites_name_existing_items(kb):
    for item in kb.items.values():
        for pre in item.prerequisites:
            assert pre in kb.items and pre != item.key


def test_out_of_scope_and_smalltalk_phrases_are_loaded(kb):
    assert {"退税", "营业执照", "招聘", "食堂"} <= set(kb.out_of_scope)
    assert {"在吗", "你好"} <= set(kb.smalltalk)
    assert "要得" in kb.smalltalk_alone and "要得" not in kb.smalltalk


def test_loading_twice_gives_equal_knowledge(kb):
    again = load_knowledge(str(BUNDLED))
    assert again.items == kb.items and again.departments == kb.departments


# -- broken copies ----------------------------------------------------------------------------


@pytest.fixture
def copy_kb(tmp_path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(BUNDLED, target)
    return target


def _line_of(path: Path, pattern: str) -> int:
    """1-based number of the first line matching `pattern`."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.search(pattern, line):
            return number
    raise AssertionError(f"{pattern!r} not in {path}")


def _replace_line(path: Path, pattern: str, new: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    number = _line_of(path, pattern)
    lines[number - 1] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return number


def _problems(path: Path) -> list[Problem]:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(path)
    problems = caught.value.problems
    assert problems
    for p in problems:
        assert p.file and p.message
        assert str(p).startswith(f"{p.file}:{p.line}:")
        assert Path(p.file).suffix == ".yaml", p
        if p.message != "canonical item missing":  # see test_syntax_error_in_a_canonical_file_is_reported_once
            assert p.line >= 1, p
    # the exception text lists every problem, one per line
    assert str(caught.value).count("\n") == len(problems) - 1
    return problems


def _in(problems: list[Problem], filename: str) -> list[Problem]:
    return [p for p in problems if Path(p.file).name == filename]


def test_copy_of_the_bundled_kb_is_valid(copy_kb):
    assert len(load_knowledge(copy_kb).items) == 35


def test_yaml_syntax_error_reports_file_and_line(copy_kb):
    path = copy_kb / "items" / "eia.yaml"
    line = _replace_line(path, r"^short:", "short: 环评: 还有: 冒号")
    problems = _problems(copy_kb)
    mine = _in(problems, "eia.yaml")
    assert mine, problems
    assert mine[0].line == line
    assert "yaml" in mine[0].message.lower() or "syntax" in mine[0].message.lower()


def test_unclosed_bracket_reports_a_line_in_the_file(copy_kb):
    path = copy_kb / "items" / "soil_water.yaml"
    _replace_line(path, r"^aliases:", "aliases: [水保, 水土保持")
    mine = [p for p in _in(_problems(copy_kb), "soil_water.yaml") if "syntax" in p.message.lower()]
    total = len(path.read_text(encoding="utf-8").splitlines())
    assert mine and all(1 <= p.line <= total + 1 for p in mine)


def test_syntax_error_in_a_canonical_file_is_reported_once(copy_kb):
    _replace_line(copy_kb / "items" / "eia.yaml", r"^short:", "short: 环评: 还有: 冒号")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(copy_kb)
    assert len(caught.value.problems) == 1
    assert all(p.line >= 1 for p in caught.value.problems)


def _the_one_problem(copy_kb: Path, item_file: str, field: str, new_line: str) -> Problem:
    """Replace the item file's `field:` line with `new_line`; the one problem the loader reports, at that line."""
    line = _replace_line(copy_kb / "items" / item_file, rf"^{field}:", new_line)
    problems = _problems(copy_kb)
    assert len(problems) == 1, problems
    p = problems[0]
    assert Path(p.file).name == item_file and p.line == line and p.field == field
    return p


def test_unknown_department_points_at_the_department_line(copy_kb):
    p = _the_one_problem(copy_kb, "eia.yaml", "department", "department: ministry_of_magic")
    assert "ministry_of_magic" in p.message


def test_a_name_also_listed_out_of_scope_points_at_its_line(copy_kb):
    """A name that is also a phrase out of scope could never be matched (the matter out of scope wins): the loader
    names the item's file and line instead of leaving the name dead."""
    p = _the_one_problem(copy_kb, "soil_water.yaml", "aliases", "aliases: [水保, 水土保持, 水土保持设施验收]")
    assert "水土保持设施验收" in p.message and "out_of_scope.yaml" in p.message


def test_duplicate_item_key(copy_kb):
    shutil.copy(copy_kb / "items" / "eia.yaml", copy_kb / "items" / "eia_copy.yaml")
    problems = _problems(copy_kb)
    mine = _in(problems, "eia_copy.yaml")
    assert any("duplicate" in p.message.lower() and p.field == "key" for p in mine), problems
    assert all(p.line >= 1 for p in problems)


def test_alias_used_by_two_items(copy_kb):
    path = copy_kb / "items" / "energy_review.yaml"
    line = _replace_line(path, r"^aliases:", "aliases: [能评, 节能审查, 环评]")
    problems = _problems(copy_kb)
    assert len(problems) == 1, problems
    p = problems[0]
    assert "环评" in p.message
    # reported on one of the two files, naming the other item
    if Path(p.file).name == "energy_review.yaml":
        assert p.line == line and "eia" in p.message
    else:
        assert Path(p.file).name == "eia.yaml" and "energy_review" in p.message
    assert p.line >= 1


def test_alias_collision_ignores_case_and_width(copy_kb):
    # ＥＩＡ (full width) is the same phrase as EIA in the latin names of eia
    path = copy_kb / "items" / "drawing_review.yaml"
    _replace_line(path, r"^latin:", "latin: [ｅｉａ]")
    problems = _problems(copy_kb)
    assert len(problems) == 1, problems
    where = Path(problems[0].file).stem + " " + problems[0].message
    assert "drawing_review" in where and "eia" in where.lower()


def test_missing_materials(copy_kb):
    path = copy_kb / "items" / "eia.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = _line_of(path, r"^materials:") - 1
    end = _line_of(path, r"^faq:") - 1
    path.write_text("\n".join(lines[:start] + lines[end:]) + "\n", encoding="utf-8")
    problems = _problems(copy_kb)
    assert len(problems) == 1, problems
    p = problems[0]
    assert Path(p.file).name == "eia.yaml" and p.field == "materials" and p.line >= 1


def test_empty_material_list(copy_kb):
    path = copy_kb / "items" / "water_permit.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = _line_of(path, r"^materials:") - 1
    end = _line_of(path, r"^faq:") - 1
    path.write_text("\n".join(lines[:start] + ["materials: []"] + lines[end:]) + "\n", encoding="utf-8")
    problems = _problems(copy_kb)
    assert [(Path(p.file).name, p.field) for p in problems] == [("water_permit.yaml", "materials")]


def test_unknown_field(copy_kb):
    path = copy_kb / "items" / "filing.yaml"
    with path.open("a", encoding="utf-8") as f:
        f.write("colour: green\n")
    line = len(path.read_text(encoding="utf-8").splitlines())
    problems = _problems(copy_kb)
    assert len(problems) == 1, problems
    p = problems[0]
    assert (Path(p.file).name, p.line, p.field) == ("filing.yaml", line, "colour")


def test_unknown_field_in_a_material(copy_kb):
    path = copy_kb / "items" / "eia.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    required: true\n", "    required: true\n    colour: red\n", 1), encoding="utf-8")
    line = _line_of(path, r"^    colour: red")
    problems = _problems(copy_kb)
    assert [(Path(p.file).name, p.line, p.field) for p in problems] == [("eia.yaml", line, "colour")]


@pytest.mark.parametrize("bad", ["twenty", "2.5", "-1", "true", '"3"'])
def test_wrong_type_for_promised_days(copy_kb, bad):
    path = copy_kb / "items" / "construction_permit.yaml"
    line = _replace_line(path, r"^promised_days:", f"promised_days: {bad}")
    problems = _problems(copy_kb)
    mine = _in(problems, "construction_permit.yaml")
    assert any(p.field == "promised_days" and p.line == line for p in mine), problems
    assert len(problems) == len(mine)


def test_promised_longer_than_statutory(copy_kb):
    path = copy_kb / "items" / "land_prereview.yaml"
    line = _replace_line(path, r"^promised_days:", "promised_days: 9")
    problems = _problems(copy_kb)
    assert [(Path(p.file).name, p.line, p.field) for p in problems] == [("land_prereview.yaml", line, "promised_days")]


def test_key_not_equal_to_file_name(copy_kb):
    items = copy_kb / "items"
    (items / "eia.yaml").rename(items / "environment.yaml")
    path = items / "environment.yaml"
    line = _line_of(path, r"^key:")
    problems = _problems(copy_kb)
    assert len(problems) == 1, problems
    p = problems[0]
    assert (Path(p.file).name, p.line, p.field) == ("environment.yaml", line, "key")
    assert "environment" in p.message


def test_field_given_twice(copy_kb):
    path = copy_kb / "items" / "eia.yaml"
    with path.open("a", encoding="utf-8") as f:
        f.write("fee: 免费\n")
    line = len(path.read_text(encoding="utf-8").splitlines())
    problems = _problems(copy_kb)
    assert [(Path(p.file).name, p.line, p.field) for p in problems] == [("eia.yaml", line, "fee")]


def test_duplicate_department_key(copy_kb):
    path = copy_kb / "departments.yaml"
    with path.open("a", encoding="utf-8") as f:
        f.write("\n  - key: ndrc\n    name: 另一个发改委\n")
    problems = _problems(copy_kb)
    assert len(problems) == 1 and Path(problems[0].file).name == "departments.yaml"
    assert problems[0].line == len(path.read_text(encoding="utf-8").splitlines()) - 1


def test_several_problems_are_all_reported(copy_kb):
    items = copy_kb / "items"
    l1 = _replace_line(items / "eia.yaml", r"^department:", "department: nowhere")
    l2 = _replace_line(items / "energy_review.yaml", r"^promised_days:", "promised_days: soon")
    with (items / "filing.yaml").open("a", encoding="utf-8") as f:
        f.write("mood: happy\n")
    l3 = len((items / "filing.yaml").read_text(encoding="utf-8").splitlines())
    l4 = _replace_line(items / "geo_hazard.yaml", r"^fee:", "fee: [a: b")  # YAML syntax error
    problems = _problems(copy_kb)
    found = {(Path(p.file).name, p.line) for p in problems}
    assert ("eia.yaml", l1) in found
    assert ("energy_review.yaml", l2) in found
    assert ("filing.yaml", l3) in found
    assert any(name == "geo_hazard.yaml" and line >= l4 for name, line in found)


def test_missing_folder_and_missing_departments(tmp_path):
    with pytest.raises(KnowledgeError):
        load_knowledge(tmp_path / "does-not-exist")
    kb_dir = tmp_path / "kb"
    shutil.copytree(BUNDLED, kb_dir)
    (kb_dir / "departments.yaml").unlink()
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_dir)
    assert any("departments.yaml" in p.file for p in caught.value.problems)


def test_file_that_is_not_utf8(copy_kb):
    (copy_kb / "items" / "eia.yaml").write_bytes("key: eia\nname: 环评\n".encode("gbk"))
    problems = _in(_problems(copy_kb), "eia.yaml")
    assert problems and problems[0].line >= 1


def test_empty_item_file_is_a_problem(copy_kb):
    (copy_kb / "items" / "extra_item.yaml").write_text("# to be written\n", encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(copy_kb)
    assert _in(caught.value.problems, "extra_item.yaml")


def test_a_phrase_both_small_talk_and_small_talk_alone_is_a_problem_at_its_line(copy_kb):
    """A phrase taken out of any message (`phrases`) would make 「要得钱吗」 small talk although `alone` means only the
    whole message: listed in both, it is named with the file and the line of `alone`."""
    path = copy_kb / "smalltalk.yaml"
    line = _replace_line(path, r"^alone:", "alone: [要得, 你好]")
    problems = _problems(copy_kb)
    assert [(p.file.endswith("smalltalk.yaml"), p.line, p.field) for p in problems] == [(True, line, "alone")]
    assert "你好" in problems[0].message
