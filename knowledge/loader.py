"""Load and validate the knowledge base from YAML files, with file and line for every problem.

Layout of a knowledge folder:
    departments.yaml        departments: [{key, name, aliases, window, phone, hours, online, example}]
    items/<key>.yaml        one approval item (kind: item) or general topic (kind: topic) per file
    out_of_scope.yaml       optional: `phrases` that are never approval items (营业执照, 退税, ...) unless an
                            item is named too, and `always` phrases that make any message out of scope (考试)
    smalltalk.yaml          optional: greetings and acknowledgements (`phrases`; `alone`: only as the whole message)
Loading is all or nothing: any problem raises KnowledgeError listing every problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from knowledge.collector import collector_paused
from knowledge.errors import KnowledgeError, Problem
from knowledge.export import LIST_SEPARATOR
from knowledge.model import Department, Faq, Item, KnowledgeBase, Material, RegionalOverride
from knowledge.normalize import compact

CANONICAL_ITEMS = [
    "proposal",
    "feasibility",
    "preliminary_design",
    "verification",
    "filing",
    "energy_review",
    "land_prereview",
    "land_supply",
    "land_use_planning",
    "property_cert",
    "engineering_planning",
    "geo_hazard",
    "mineral_overlay",
    "eia",
    "soil_water",
    "water_permit",
    "flood_impact",
    "forest_grass",
    "cultural_relics",
    "safety_review",
    "drawing_review",
    "fire_design",
    "civil_defense",
    "construction_permit",
    "fire_acceptance",
    "planning_verification",
    "completion_filing",
    "customs_aeo",
    "customs_origin",
]
CANONICAL_TOPICS = ["tolerance", "parallel", "five_certs", "cross_province", "online_portal", "project_code"]
LEVELS = {"国家", "自治区", "省", "市", "旗县区"}

_ITEM_FIELDS = {
    "key",
    "kind",
    "name",
    "short",
    "aliases",
    "latin",
    "hints",
    "department",
    "level",
    "apply_at",
    "statutory_days",
    "promised_days",
    "time_note",
    "fee",
    "parallel",
    "prerequisites",
    "prerequisites_note",
    "materials",
    "faq",
    "summary",
    "details",
    "example",
    "published",
    "regional",
}
_REGIONAL_FIELDS = {"region", "department", "window", "phone", "level"}
_DEPARTMENT_FIELDS = {"key", "name", "aliases", "window", "phone", "hours", "online", "example"}


class _Map(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers the line of the mapping and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _List(list):  # type: ignore[type-arg]
    line: int = 0
    item_lines: list[int]


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The C parser when PyYAML has it (5x faster on large knowledge bases), with line tracking."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    mapping = _Map()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    duplicates: list[tuple[str, int]] = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping.key_lines:
            duplicates.append((str(key), key_node.start_mark.line + 1))
        mapping.key_lines[str(key)] = key_node.start_mark.line + 1
        mapping[key] = loader.construct_object(value_node, deep=True)
    mapping["__duplicates__"] = duplicates
    return mapping


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _List:
    seq = _List(loader.construct_object(child, deep=True) for child in node.value)
    seq.line = node.start_mark.line + 1
    seq.item_lines = [child.start_mark.line + 1 for child in node.value]
    return seq


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _Reader:
    """Collects problems while turning parsed YAML into model values."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def problem(self, file: str, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(file, line, field, message))

    def parse(self, path: Path) -> Any:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self.problem(self.rel(path), 1, "-", f"not UTF-8 text ({exc.reason})")
            return None
        try:
            data = yaml.load(text, Loader=_LineLoader)
            if data is None:
                self.problem(self.rel(path), 1, "-", "empty file")
            return data
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else 1
            reason = getattr(exc, "problem", None) or str(exc)
            self.problem(self.rel(path), line, "-", f"YAML syntax error: {reason}")
            return None

    def line_of(self, mapping: Any, key: str) -> int:
        if isinstance(mapping, _Map):
            return mapping.key_lines.get(key, mapping.line)
        return 1

    def check_mapping(self, file: str, mapping: Any, allowed: set[str], what: str) -> bool:
        if not isinstance(mapping, _Map):
            self.problem(file, getattr(mapping, "line", 1), what, "must be a mapping of fields")
            return False
        for key, line in mapping.pop("__duplicates__", []):
            self.problem(file, line, key, "field given twice")
        for key in mapping:
            if key not in allowed:
                self.problem(file, self.line_of(mapping, key), str(key), "unknown field")
        return True

    def text(self, file: str, m: _Map, key: str, *, required: bool = False) -> str:
        value = m.get(key)
        if value is None:
            if required:
                self.problem(file, m.line, key, "missing")
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.problem(file, self.line_of(m, key), key, "must be text")
            return ""
        value = str(value).strip()
        if required and not value:
            self.problem(file, self.line_of(m, key), key, "empty")
        return value

    def names(self, file: str, m: _Map, key: str, *, required: bool = False) -> tuple[str, ...]:
        """`texts` that are names matched one by one (aliases, hints, latin): 、 separates two
        names in a list cell, so one name holding it is two names run together."""
        out = self.texts(file, m, key, required=required)
        value = m.get(key)
        for index, entry in enumerate(out):
            if LIST_SEPARATOR in entry:
                line = value.item_lines[index] if isinstance(value, _List) else self.line_of(m, key)
                self.problem(file, line, f"{key}[{index}]", f"{entry!r} holds {LIST_SEPARATOR}: write each name apart")
        return out

    def texts(self, file: str, m: _Map, key: str, *, required: bool = False) -> tuple[str, ...]:
        value = m.get(key)
        if value is None:
            if required:
                self.problem(file, m.line, key, "missing")
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.problem(file, self.line_of(m, key), key, "must be a list")
            return ()
        out = []
        for index, entry in enumerate(value):
            if not isinstance(entry, (str, int)) or isinstance(entry, bool) or not str(entry).strip():
                line = value.item_lines[index] if isinstance(value, _List) else self.line_of(m, key)
                self.problem(file, line, f"{key}[{index}]", "must be non-empty text")
                continue
            out.append(str(entry).strip())
        if required and not out:
            self.problem(file, self.line_of(m, key), key, "must not be empty")
        return tuple(out)

    def days(self, file: str, m: _Map, key: str) -> int | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.problem(file, self.line_of(m, key), key, "must be a whole number of working days ≥ 0")
            return None
        return value

    def flag(self, file: str, m: _Map, key: str, default: bool | None) -> bool | None:
        value = m.get(key, default)
        if value is not None and not isinstance(value, bool):
            self.problem(file, self.line_of(m, key), key, "must be true or false")
            return default
        return value


def _read_departments(reader: _Reader, path: Path) -> dict[str, tuple[Department, int]]:
    file = reader.rel(path)
    data = reader.parse(path)
    found: dict[str, tuple[Department, int]] = {}
    if data is None:
        return found
    if not isinstance(data, _Map) or not isinstance(data.get("departments"), list):
        reader.problem(file, getattr(data, "line", 1), "departments", "must be a list under `departments:`")
        return found
    for entry in data["departments"]:
        if not reader.check_mapping(file, entry, _DEPARTMENT_FIELDS, "department"):
            continue
        key = reader.text(file, entry, "key", required=True)
        dept = Department(
            key=key,
            name=reader.text(file, entry, "name", required=True),
            aliases=reader.names(file, entry, "aliases"),
            window=reader.text(file, entry, "window"),
            phone=reader.text(file, entry, "phone"),
            hours=reader.text(file, entry, "hours"),
            online=reader.text(file, entry, "online"),
            example=bool(reader.flag(file, entry, "example", True)),
        )
        if key in found:
            reader.problem(file, entry.line, "key", f"duplicate department key {key!r} (first at line {found[key][1]})")
        elif key:
            found[key] = (dept, entry.line)
    return found


def _read_item(reader: _Reader, path: Path) -> tuple[Item, _Map] | None:
    file = reader.rel(path)
    data = reader.parse(path)
    if data is None or not reader.check_mapping(file, data, _ITEM_FIELDS, "item"):
        return None
    m: _Map = data
    kind = reader.text(file, m, "kind") or "item"
    if kind not in ("item", "topic"):
        reader.problem(file, reader.line_of(m, "kind"), "kind", "must be item or topic")
    materials: list[Material] = []
    raw_materials = m.get("materials") or []
    if not isinstance(raw_materials, list):
        reader.problem(file, reader.line_of(m, "materials"), "materials", "must be a list")
        raw_materials = []
    for index, entry in enumerate(raw_materials):
        if not reader.check_mapping(file, entry, {"name", "required", "note"}, f"materials[{index}]"):
            continue
        materials.append(
            Material(
                name=reader.text(file, entry, "name", required=True),
                required=bool(reader.flag(file, entry, "required", True)),
                note=reader.text(file, entry, "note"),
            )
        )
    faqs: list[Faq] = []
    raw_faq = m.get("faq") or []
    if not isinstance(raw_faq, list):
        reader.problem(file, reader.line_of(m, "faq"), "faq", "must be a list")
        raw_faq = []
    for index, entry in enumerate(raw_faq):
        if reader.check_mapping(file, entry, {"q", "a"}, f"faq[{index}]"):
            faqs.append(
                Faq(q=reader.text(file, entry, "q", required=True), a=reader.text(file, entry, "a", required=True))
            )
    level = reader.texts(file, m, "level")
    for value in level:
        if value not in LEVELS:
            reader.problem(file, reader.line_of(m, "level"), "level", f"unknown approval level {value!r}")
    regional = _read_regional(reader, file, m)
    item = Item(
        key=reader.text(file, m, "key", required=True),
        kind=kind,
        name=reader.text(file, m, "name", required=True),
        short=reader.text(file, m, "short"),
        aliases=reader.names(file, m, "aliases", required=True),
        latin=reader.names(file, m, "latin"),
        hints=reader.names(file, m, "hints"),
        department=reader.text(file, m, "department") or None,
        level=level,
        apply_at=reader.text(file, m, "apply_at"),
        statutory_days=reader.days(file, m, "statutory_days"),
        promised_days=reader.days(file, m, "promised_days"),
        time_note=reader.text(file, m, "time_note"),
        fee=reader.text(file, m, "fee"),
        parallel=reader.flag(file, m, "parallel", None),
        prerequisites=reader.texts(file, m, "prerequisites"),
        prerequisites_note=reader.text(file, m, "prerequisites_note"),
        materials=tuple(materials),
        faq=tuple(faqs),
        summary=reader.text(file, m, "summary"),
        details=reader.texts(file, m, "details"),
        example=bool(reader.flag(file, m, "example", True)),
        published=reader.texts(file, m, "published"),
        source_file=file,
        regional=regional,
    )
    if kind == "item":
        if not materials:
            reader.problem(file, m.line, "materials", "an approval item needs its material list")
        if not item.department:
            reader.problem(file, m.line, "department", "missing")
        if item.promised_days is None:
            reader.problem(file, m.line, "promised_days", "missing")
    elif not item.summary:
        reader.problem(file, m.line, "summary", "a topic needs a summary")
    if item.statutory_days is not None and item.promised_days is not None and item.promised_days > item.statutory_days:
        reader.problem(
            file, reader.line_of(m, "promised_days"), "promised_days", "longer than the statutory time limit"
        )
    if item.key and item.key != path.stem:
        reader.problem(file, reader.line_of(m, "key"), "key", f"must equal the file name {path.stem!r}")
    return item, m


def _read_regional(reader: _Reader, file: str, m: _Map) -> tuple[RegionalOverride, ...]:
    """`regional:` a list of {region, department, window, phone, level} overrides."""
    raw = m.get("regional") or []
    if not isinstance(raw, list):
        reader.problem(file, reader.line_of(m, "regional"), "regional", "must be a list")
        return ()
    found: list[RegionalOverride] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw):
        what = f"regional[{index}]"
        if not reader.check_mapping(file, entry, _REGIONAL_FIELDS, what):
            continue
        override = RegionalOverride(
            region=reader.text(file, entry, "region", required=True),
            department=reader.text(file, entry, "department") or None,
            window=reader.text(file, entry, "window"),
            phone=reader.text(file, entry, "phone"),
            level=reader.texts(file, entry, "level"),
        )
        for value in override.level:
            if value not in LEVELS:
                reader.problem(
                    file, reader.line_of(entry, "level"), f"{what}.level", f"unknown approval level {value!r}"
                )
        if not (override.department or override.window or override.phone or override.level):
            reader.problem(file, entry.line, what, "an override needs a department, window, phone or level")
        if override.region in seen:
            reader.problem(
                file,
                entry.line,
                f"{what}.region",
                f"region {override.region!r} is overridden twice (first at line {seen[override.region]})",
            )
            continue
        if override.region:
            seen[override.region] = entry.line
            found.append(override)
    return tuple(found)


def _read_phrases(reader: _Reader, path: Path, *fields: str) -> tuple[tuple[str, ...], ...]:
    """Read phrase lists from a small YAML file (each field optional); one tuple per field."""
    empty = tuple(() for _ in fields)
    if not path.exists():
        return empty
    data = reader.parse(path)
    if data is None:
        return empty
    file = reader.rel(path)
    if not reader.check_mapping(file, data, set(fields), "phrases"):
        return empty
    return tuple(reader.texts(file, data, field) for field in fields)


@collector_paused
def load_knowledge(path: Path | str, *, require_canonical: bool = True) -> KnowledgeBase:
    """Load the knowledge folder at `path`; raise KnowledgeError listing every problem."""
    root = Path(path)
    reader = _Reader(root)
    if not root.is_dir():
        raise KnowledgeError([Problem(str(root), 0, "-", "not a knowledge folder")])
    dept_path = root / "departments.yaml"
    if not dept_path.exists():
        reader.problem(reader.rel(dept_path), 0, "-", "missing file")
        departments: dict[str, tuple[Department, int]] = {}
    else:
        departments = _read_departments(reader, dept_path)
    departments_readable = bool(departments)  # else every item would also report an unknown department

    items: dict[str, Item] = {}
    item_maps: dict[str, _Map] = {}
    item_files = sorted((root / "items").glob("*.yaml"))
    if not item_files:
        reader.problem(reader.rel(root / "items"), 0, "-", "no item files")
    for file_path in item_files:
        read = _read_item(reader, file_path)
        if read is None:
            continue
        item, m = read
        if item.key in items:
            reader.problem(
                item.source_file, m.line, "key", f"duplicate key {item.key!r} (also in {items[item.key].source_file})"
            )
            continue
        if item.key:
            items[item.key] = item
            item_maps[item.key] = m

    out_of_scope, always_out_of_scope = _read_phrases(reader, root / "out_of_scope.yaml", "phrases", "always")
    # Cross-file checks: departments, prerequisites, phrases used by two items, names listed out of scope.
    owner: dict[str, tuple[str, str]] = {}
    outside = {compact(p) for p in out_of_scope}
    for key, item in items.items():
        m = item_maps[key]
        if item.department and departments_readable and item.department not in departments:
            reader.problem(
                item.source_file,
                reader.line_of(m, "department"),
                "department",
                f"unknown department {item.department!r}",
            )
        if departments_readable:
            for index, override in enumerate(item.regional):
                if override.department and override.department not in departments:
                    reader.problem(
                        item.source_file,
                        reader.line_of(m, "regional"),
                        f"regional[{index}].department",
                        f"unknown department {override.department!r}",
                    )
        for pre in item.prerequisites:
            if pre not in items:
                reader.problem(
                    item.source_file, reader.line_of(m, "prerequisites"), "prerequisites", f"unknown item {pre!r}"
                )
        for field in ("aliases", "hints", "latin", "name", "short"):
            values = (getattr(item, field),) if field in ("name", "short") else getattr(item, field)
            for value in values:
                phrase = compact(value)
                if not phrase:
                    continue
                if field in ("aliases", "name", "short") and phrase in outside:
                    # never matched: the matter out of scope wins over a name that is the same phrase
                    reader.problem(
                        item.source_file,
                        reader.line_of(m, field),
                        field,
                        f"{value!r} is also out of scope (out_of_scope.yaml): a message naming it is never this item's",
                    )
                previous = owner.get(phrase)
                if previous and previous[0] != key:
                    reader.problem(
                        item.source_file,
                        reader.line_of(m, field),
                        field,
                        f"{value!r} is also used by item {previous[0]!r} ({previous[1]})",
                    )
                else:
                    owner[phrase] = (key, field)
    if require_canonical:
        for key in CANONICAL_ITEMS + CANONICAL_TOPICS:
            if key not in items and not (root / "items" / f"{key}.yaml").exists():
                reader.problem(reader.rel(root / "items" / f"{key}.yaml"), 0, "key", "canonical item missing")
    smalltalk, smalltalk_alone = _read_phrases(reader, root / "smalltalk.yaml", "phrases", "alone")
    both = sorted(set(smalltalk) & set(smalltalk_alone))
    if both:
        # a phrase taken out of any message wins over the same phrase as the whole message only (「要得钱吗」 would go)
        path = root / "smalltalk.yaml"
        lines = path.read_text(encoding="utf-8").splitlines()
        line = next((n for n, text in enumerate(lines, start=1) if text.startswith("alone")), 1)
        for phrase in both:
            reader.problem(reader.rel(path), line, "alone", f"{phrase!r} is also in phrases")
    if reader.problems:
        raise KnowledgeError(reader.problems)
    return KnowledgeBase(
        items=items,
        departments={key: dept for key, (dept, _) in departments.items()},
        out_of_scope=out_of_scope,
        always_out_of_scope=always_out_of_scope,
        smalltalk=smalltalk,
        smalltalk_alone=smalltalk_alone,
    )
