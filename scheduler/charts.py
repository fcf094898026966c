"""The weekly chart: completion rates by region and by sector, as PNG bytes (matplotlib, Agg).

No pyplot: a Figure with its own Agg canvas, so drawing in a worker thread touches no global
state. Chinese labels need a CJK font: an installed one (e.g. Debian's fonts-noto-cjk) when
the machine has one, else the one bundled file `scheduler/fonts/NotoSansCJKsc-GB2312.otf`
(1.5 MB: Noto Sans CJK SC cut to the GB2312 characters with
`python -m fontTools.subset NotoSansCJKsc-Regular.otf --text-file=gb2312.txt
--layout-features='' --no-hinting --name-IDs='*'`). A name the font cannot draw (or every
non-ASCII name, without a CJK font) is drawn as a short code (R1, R2 … for regions, S1, S2 …
for sectors) and `Chart.legend` lists what the codes stand for, for the photo caption — never
tofu boxes in the image.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import texts
from ledger.report import LedgerReport, NamedFigures

# Families known to carry Simplified Chinese glyphs, in order of preference.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Sarasa Gothic SC",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Hiragino Sans GB",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "Droid Sans Fallback",
)


@dataclass(frozen=True, slots=True)
class Chart:
    png: bytes
    legend: tuple[str, ...]  # "R1=新城区" lines when codes stand in for Chinese names
    cjk: bool  # drawn with a CJK font


BUNDLED_FONT = Path(__file__).resolve().parent / "fonts" / "NotoSansCJKsc-GB2312.otf"


def _first_installed(font_manager: Any) -> str | None:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first installed CJK font family, else the bundled one; None without either."""
    from matplotlib import font_manager

    family = _first_installed(font_manager)
    if family is None and BUNDLED_FONT.exists():
        font_manager.fontManager.addfont(str(BUNDLED_FONT))
        family = _first_installed(font_manager)
    return family


@lru_cache(maxsize=8)
def _characters(family: str) -> frozenset[int]:
    """The code points the font of `family` has glyphs for."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    try:
        path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    except ValueError:  # not installed: nothing is drawable with it
        return frozenset()
    return frozenset(FT2Font(path).get_charmap())


def _drawable(name: str, family: str | None) -> bool:
    if name.isascii():
        return True
    return family is not None and all(ord(ch) in _characters(family) for ch in name)


def _labels(groups: list[NamedFigures], prefix: str, family: str | None) -> tuple[list[str], list[str]]:
    labels: list[str] = []
    legend: list[str] = []
    for index, group in enumerate(groups, start=1):
        if _drawable(group.name, family):
            labels.append(group.name)
        else:
            code = f"{prefix}{index}"
            labels.append(code)
            legend.append(texts.LEDGER_CHART_LEGEND_ITEM.format(code=code, name=group.name))
    return labels, legend


def _rate(value: Decimal | None) -> float:
    return float(value) if value is not None else 0.0


def completion_chart(report: LedgerReport, *, font: str | None = None, use_cjk: bool | None = None) -> Chart:
    """Two horizontal bar panels (by region, by sector), each group with its project and
    procedure completion rate in percent. `use_cjk=False` forces the code labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family = font if font is not None else cjk_font()
    cjk = bool(family) if use_cjk is None else (use_cjk and bool(family))
    words = texts.LEDGER_CHART_CJK if cjk else texts.LEDGER_CHART_LATIN
    panels = [(report.by_region, "R", words["by_region"]), (report.by_sector, "S", words["by_sector"])]
    legend: list[str] = []
    rows = max(len(report.by_region), len(report.by_sector), 1)
    figure = Figure(figsize=(11, max(3.0, 0.45 * rows + 1.8)), dpi=100)
    FigureCanvasAgg(figure)
    rc: dict[Any, Any] = {"font.family": [family, "DejaVu Sans"]} if cjk and family else {}
    import matplotlib

    with matplotlib.rc_context(rc):
        axes = figure.subplots(1, 2)
        for ax, (groups, prefix, title) in zip(axes, panels):
            labels, lines = _labels(groups, prefix, family if cjk else None)
            legend += lines
            positions = list(range(len(groups)))
            height = 0.38
            series = (
                (-height / 2, [_rate(g.figures.project_completion_rate) for g in groups], words["projects"], "#4472C4"),
                (
                    height / 2,
                    [_rate(g.figures.procedure_completion_rate) for g in groups],
                    words["procedures"],
                    "#ED7D31",
                ),
            )
            for offset, rates, label, color in series:
                ax.barh([p + offset for p in positions], rates, height, label=label, color=color)
                for y, value in zip(positions, rates, strict=True):
                    ax.text(value + 1, y + offset, f"{value:.1f}", va="center", fontsize=8)
            ax.set_yticks(positions, labels)
            ax.invert_yaxis()
            ax.set_xlim(0, 110)
            ax.set_xlabel(words["axis"])
            ax.set_title(title)
            ax.grid(axis="x", alpha=0.3)
            if not groups:
                ax.text(55, 0, words["empty"], ha="center", va="center")
        handles, names = axes[0].get_legend_handles_labels()
        figure.legend(handles, names, loc="lower center", ncol=2, fontsize=9, frameon=False)
        overall = report.overall
        figure.suptitle(
            words["title"].format(
                project_rate=_rate(overall.project_completion_rate),
                procedure_rate=_rate(overall.procedure_completion_rate),
            )
        )
        bottom = 0.5 / figure.get_figheight()  # room for the legend under the panels
        figure.tight_layout(rect=(0, bottom, 1, 1))
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return Chart(png=buffer.getvalue(), legend=tuple(legend), cjk=cjk)
