"""Errors raised by the working-day calendar."""

from __future__ import annotations

from pathlib import Path


class CalendarConfigError(Exception):
    """The operator override file is unreadable or invalid.

    ``path`` and ``line`` (1-based, ``None`` when not applicable) locate the
    problem; ``problem`` says what is wrong. ``str(err)`` reads
    ``"<path>:<line>: <problem>"``.
    """

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {problem}")
