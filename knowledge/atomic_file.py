"""Writing a file whole or not at all: a temporary file in the same folder, flushed to disk, then renamed over it.

A reader (another instance, the bot starting) sees the old file or the new one, never half of either. The new
file gets the old one's permissions, or those of a file written plainly (0644) when there was none: `mkstemp`
makes it 0600, which another user running the bot could not read.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def replaced(path: Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """Open a temporary file to write `path` with; it replaces `path` when the block ends without an exception.

    Raises OSError when the folder is missing or cannot be written (no folder is created)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        opened: Callable[..., IO[Any]] = os.fdopen
        with opened(handle, "wb") if binary else opened(handle, "w", encoding="utf-8") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
