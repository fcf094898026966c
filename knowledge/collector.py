"""Building what lives as long as the process without the cyclic garbage collector's passes.

Start-up allocates hundreds of thousands of long-lived objects (the knowledge, the model's vocabularies, the phrase
index). Each allocation burst triggers collections, and a full one scans every object the imported libraries made
too (pypinyin's phrase dictionary alone holds hundreds of thousands): ~0.25 s of a cold start-up with 5,000 FAQ
entries, none of it freeing anything. The collector is paused while such things are built, and restored after;
garbage made meanwhile is collected by the next pass.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def collector_paused(build: Callable[P, R]) -> Callable[P, R]:
    """Run `build` with the cyclic collector paused (a nested call leaves it to the outer one)."""

    @wraps(build)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return build(*args, **kwargs)  # paused by a caller (or by the application): theirs to restore
        gc.disable()
        try:
            return build(*args, **kwargs)
        finally:
            gc.enable()

    return paused
