"""The `steward` command line."""

from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.exc import DBAPIError

import texts
from cli import desk_commands, kb_commands, knowledge_commands, ledger_commands
from cli.common import fail, failing_code, first_line, os_reason, reset_failing
from cli.parser import StewardParser

COMMAND_MODULES = (knowledge_commands, kb_commands, ledger_commands, desk_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = StewardParser(prog="steward", description=texts.CLI_DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    reset_failing()
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except BrokenPipeError:  # output piped into `head`: stop quietly, with the command's exit code
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            os.dup2(devnull, stream.fileno())
        raise SystemExit(failing_code()) from None
    except KeyboardInterrupt:  # Ctrl-C: files are written whole or not at all, transactions roll back
        fail(texts.CLI_INTERRUPTED, 130)
    except DBAPIError as exc:  # a database error no command expected: one line, never a traceback
        fail(texts.CLI_DATABASE_FAILED.format(reason=first_line(exc.orig)))
    except OSError as exc:  # a file named on the command line: one line, never a traceback
        fail(texts.CLI_FILE_ERROR.format(path=exc.filename or "", reason=os_reason(exc)))


if __name__ == "__main__":
    main()
