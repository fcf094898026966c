"""What every command needs: settings, the database and the knowledge base, or one clear line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, Protocol, TypeVar

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError

import texts
from config import Settings, SettingsError, load_settings
from knowledge.errors import KnowledgeError
from knowledge.loader import load_knowledge
from knowledge.model import KnowledgeBase
from storage import Database
from storage.migrate import DatabaseNewer, NotADatabase, not_a_database

# The exit code of a command that has begun reporting its failure: if stderr is a closed pipe
# (`steward … 2>&1 | head`) the command still exits with it, not 0.
_failing: list[int] = []


def failing(code: int = 1) -> None:
    """Say that the command is failing with `code` before it prints why (see `failing_code`)."""
    _failing.append(code)


def failing_code() -> int:
    """The code the command was failing with (0: it was not), for main's broken-pipe exit."""
    return _failing[-1] if _failing else 0


def reset_failing() -> None:
    _failing.clear()


def fail(message: str, code: int = 1) -> NoReturn:
    failing(code)
    print(message, file=sys.stderr)
    raise SystemExit(code)


def os_reason(exc: OSError) -> str:
    """Why a file could not be read or written, in Chinese where it is a common case."""
    for kind, text in (
        (FileNotFoundError, texts.CLI_OS_NOT_FOUND),
        (IsADirectoryError, texts.CLI_OS_IS_FOLDER),
        (NotADirectoryError, texts.CLI_OS_NOT_FOLDER),
        (PermissionError, texts.CLI_OS_DENIED),
    ):
        if isinstance(exc, kind):
            return text
    return exc.strerror or str(exc)


def writable_or_exit(path: Path) -> None:
    """Refuse at once, the same way for every command that writes, a file whose folder is
    missing (nothing creates folders) or that is a folder."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        fail(texts.CLI_PATH_IS_FOLDER.format(path=path))
    if not folder.is_dir():
        fail(texts.CLI_FOLDER_MISSING.format(path=path, folder=folder))


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(texts.SETTINGS_INVALID.format(detail=exc))


def open_database(settings: Settings, *, create: bool = True) -> Database:
    """Open the configured database and bring its tables up to date; one line and exit 1 when
    it cannot be reached. With create=False (commands that only read) a database that does
    not exist yet is not created: the command says so instead."""
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if not create and url.get_backend_name() == "sqlite":
        name = url.database or ""
        if name in ("", ":memory:") or not Path(name).is_file():
            fail(texts.CLI_NO_DATABASE.format(url=shown))
    db = Database(settings.database_url)
    try:
        if not create and not inspect(db.engine).has_table("alembic_version"):
            fail(texts.CLI_NO_DATABASE.format(url=shown))
        db.migrate()
    except (OperationalError, InterfaceError) as exc:
        db.dispose()
        if "database is locked" in str(exc.orig):  # SQLite: another writer past busy_timeout
            fail(texts.CLI_DATABASE_BUSY.format(url=shown, reason=first_line(exc.orig)))
        fail(texts.CLI_DATABASE_UNREACHABLE.format(url=shown, reason=first_line(exc.orig)))
    except DatabaseNewer as exc:
        db.dispose()
        fail(texts.DATABASE_NEWER.format(detail=exc.detail))
    except NotADatabase as exc:
        db.dispose()
        fail(texts.DATABASE_NOT_A_DATABASE.format(url=shown, detail=exc.detail))
    except DatabaseError as exc:  # create=False: the look for alembic_version read the file first
        db.dispose()
        if not not_a_database(db.engine, exc):
            raise
        fail(texts.DATABASE_NOT_A_DATABASE.format(url=shown, detail=first_line(exc.orig)))
    return db


def first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def undecodable_line(path: Path) -> int:
    """The first line of `path` that is not UTF-8 (1-based; 0 when every line is)."""
    with path.open("rb") as file:
        for number, line in enumerate(file, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def knowledge_or_exit(settings: Settings) -> KnowledgeBase:
    try:
        return load_knowledge(settings.knowledge_path)
    except KnowledgeError as exc:
        fail(texts.KB_INVALID.format(problems="\n".join(str(p) for p in exc.problems)))


class _Texted(Protocol):
    @property
    def q(self) -> str: ...


Turn = TypeVar("Turn", bound=_Texted)


def split_for_training(turns: Sequence[Turn]) -> tuple[list[Turn], list[Turn]]:
    """The training file's split of a model's turns: those of the `train` split (a fixed fifth of the texts, by hash,
    is never trained on, by the follow-up models either), and those of the `test` split whose text (but for spaces)
    no training turn has — the never-trained figures are measured on them."""
    from knowledge.evaluation import fold_of
    from knowledge.normalize import compact
    from knowledge.training_file import TEST_FOLDS

    train = [t for t in turns if fold_of(t.q, TEST_FOLDS) != 0]
    trained = {compact(t.q) for t in train}
    return train, [t for t in turns if fold_of(t.q, TEST_FOLDS) == 0 and compact(t.q) not in trained]


def turns_file_holds(path: Path, turns: Sequence[object], load: Callable[[Path], Sequence[object]]) -> bool:
    """Whether the turns file at `path` holds exactly `turns`, in order."""
    return path.exists() and list(load(path)) == list(turns)


def write_or_check(
    path: Path,
    turns: Sequence[Turn],
    *,
    write: bool,
    save: Callable[[Path, Sequence[Turn]], int],
    load: Callable[[Path], Sequence[Turn]],
    stale: str,
    current: str,
) -> None:
    """`--write`: write a model's turns file; else exit 1 (the file's count and the new one) unless it holds exactly
    `turns`. `stale` and `current` are the texts.py sentences of the model's command."""
    if write:
        print(texts.CLI_GUARD_WRITTEN.format(path=path, count=save(path, turns)))
        return
    if not turns_file_holds(path, turns, load):
        had = len(load(path)) if path.exists() else 0
        fail(stale.format(path=path, had=had, now=len(turns)))
    print(current.format(path=path, count=len(turns)))
