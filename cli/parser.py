"""An argparse parser that speaks Chinese, as the bot does: usage, section titles, -h and the
messages of argument mistakes (one line and exit code 2, never a traceback)."""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, NoReturn

import texts

# argparse's own messages (Python 3.11-3.13) → texts.CLI_ARG_ERRORS keys.
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"the following arguments are required: (?P<names>.+)"), "required"),
    (re.compile(r"unrecognized arguments: (?P<names>.+)"), "unrecognized"),
    (
        re.compile(
            r"argument (?P<arg>\S+?): invalid choice: '?(?P<value>[^']*)'? \(choose from "
            r"(?P<choices>.+)\)"
        ),
        "choice",
    ),
    (re.compile(r"argument (?P<arg>\S+?): invalid \S+ value: '?(?P<value>[^']*)'?"), "value"),
    (re.compile(r"argument (?P<arg>\S+?): expected one argument"), "one_value"),
    (re.compile(r"argument (?P<arg>\S+?): (?P<detail>.+)"), "argument"),
)


def translate(message: str) -> str:
    for pattern, key in _MESSAGES:
        match = pattern.fullmatch(message.strip())
        if match:
            values = {k: v.replace("'", "") for k, v in match.groupdict().items()}
            return texts.CLI_ARG_ERRORS[key].format(**values)
    return message


class ChineseHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix=texts.CLI_USAGE_PREFIX if prefix is None else prefix)


class StewardParser(argparse.ArgumentParser):
    """ArgumentParser with Chinese help and errors; subparsers are of the same class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        add_help = kwargs.pop("add_help", True)
        kwargs["add_help"] = False  # our own -h, with Chinese help text
        super().__init__(*args, **kwargs)
        self._positionals.title = texts.CLI_POSITIONALS
        self._optionals.title = texts.CLI_OPTIONALS
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=texts.CLI_HELP_HELP)

    def error(self, message: str) -> NoReturn:
        print(texts.CLI_ARG_ERROR.format(prog=self.prog, message=translate(message)), file=sys.stderr)
        raise SystemExit(2)
