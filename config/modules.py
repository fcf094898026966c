"""Import the optional parts of the app: a package that is not there yet is skipped."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_if_present(name: str) -> ModuleType | None:
    """Import module `name`; return None when that module itself does not exist.

    An import error inside the module (a real bug) is raised, not hidden.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None
