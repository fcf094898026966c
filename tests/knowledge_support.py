"""Shared values of the knowledge tests: the bundled folder and regional overrides (旗县区) of
节能审查 (the `regional_kb` fixture of conftest.py appends them to a copy)."""

from __future__ import annotations

from pathlib import Path

import knowledge

BUNDLED = Path(knowledge.__file__).resolve().parent / "data"

REGIONAL = """regional:
  - region: 赛罕区
    department: natural_resources
    window: 赛罕区政务服务中心一楼 综合窗口
    phone: "0471-6999001"
    level: [旗县区]
  - region: 武川县
    phone: "0471-6999002"
"""
