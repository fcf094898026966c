"""Building what lives as long as the process without the cyclic garbage collector's passes.

Start-up allocates hundreds of thousands of long-lived objects (the knowledge, the model's vocabularies, the phrase
index). Each allocation burst triggers collections, and a full one scans every object the imported libraries made
too (pypinyin's phrase dictionary alone holds hundreds of thousands): ~0.25 s of a cold start-up with 5,000 FAQ
entries, none of it freeing anything. The collector is paused while such things are built, and restored after;
garbage made meanwhile is collected by the next pass.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class _Pause:
    depth: int = 0  # builds running with the collector paused, in any thread
    found: bool = True  # whether the collector ran when the first of them began


_LOCK = threading.Lock()
_PAUSE = _Pause()


def collector_paused(build: Callable[P, R]) -> Callable[P, R]:
    """Run `build` with the cyclic collector paused. Builds that overlap (nested, or in two threads) share one
    pause: the last one out restores what the first one found (a collector the application had turned off stays
    off)."""

    @wraps(build)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        with _LOCK:
            if not _PAUSE.depth:
                _PAUSE.found = gc.isenabled()
                gc.disable()
            _PAUSE.depth += 1
        try:
            return build(*args, **kwargs)
        finally:
            with _LOCK:
                _PAUSE.depth -= 1
                if not _PAUSE.depth and _PAUSE.found:
                    gc.enable()

    return paused
