"""Run the real `python bot.py` in polling mode against the Bot API double (end-to-end tests)."""

from __future__ import annotations

import itertools
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.botapi_double import BotApiDouble, Call
from tests.texts_match import says

ROOT = Path(__file__).resolve().parent.parent

# Seconds a started bot may take to reach polling. Its start-up is seconds of CPU (imports, the
# matcher's training), several times longer on a loaded machine (the suite's own workers, other
# jobs); no test asserts how fast it starts, so the wait is generous.
START_UP = 90


# free_port() hands out ports from a block of its own to each pytest-xdist worker (gw0, gw1 …),
# below the kernel's ephemeral range (32768-60999 on Linux): a port reserved for a process that
# binds it seconds later (a webhook worker, a Bot API double brought up late) is taken neither by
# another worker's free_port() nor by an outgoing connection in between. Each block is walked
# from a random start, so two suites run at once on one machine rarely try the same ports.
_PORT_BLOCK = 400
_FIRST_PORT = 20_000
_next_port = itertools.count(random.randrange(_PORT_BLOCK))


def _worker_index() -> int:
    """0 for gw0 (or without xdist), 1 for gw1 …"""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def free_port() -> int:
    """A local TCP port nobody listens on (yet), from this worker's block."""
    base = _FIRST_PORT + (_worker_index() % 30) * _PORT_BLOCK  # 30 blocks end at 32000
    for _ in range(_PORT_BLOCK):
        port = base + next(_next_port) % _PORT_BLOCK
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:  # in use (or in TIME_WAIT): the next one
                continue
            return port
    raise RuntimeError(f"no free port in {base}-{base + _PORT_BLOCK - 1}")


def bot_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The process environment: this one without Telegram/database/knowledge settings, plus `extra`.

    It keeps this test process's `MODEL_PATH` (conftest's `model_file_outside_the_checkout`): every bot of the
    process shares one model file, the first start trains the model and writes it, the others read it (a warm
    start, ~0.5 s of CPU instead of ~2 s of training), as a deployed bot does from its second start on; a bot
    given other knowledge retrains and rewrites it (the file is checked against its data)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "KNOWLEDGE_"))}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "PYTHONPATH": str(ROOT), **extra})
    return env


def run_bot(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run bot.py to its end (for start-up failures)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py")],
        cwd=tmp_path,
        env=bot_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=60,
    )


def start_bot(tmp_path: Path, **settings: str) -> subprocess.Popen[str]:
    """Start `python bot.py` with `settings` (stdout and stderr together, read at the end)."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py")],
        cwd=tmp_path,
        env=bot_env(tmp_path, **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_bot(process: subprocess.Popen[str], *, timeout: float = 15) -> str:
    """SIGTERM the bot and return all it printed (killed if it does not exit within `timeout`)."""
    process.terminate()
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


class ProcessOutput:
    """The lines a started bot prints, collected as they come (a reader thread), so a test can
    wait for a line while the process runs."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        assert process.stdout is not None
        self._reader = threading.Thread(
            target=lambda: self.lines.extend(iter(process.stdout.readline, "")), daemon=True
        )
        self._reader.start()

    def wait_for(self, text: str, *, count: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sum(text in line for line in self.lines) < count:
            assert time.monotonic() < deadline, f"no {count} lines with {text!r} within {timeout} s: {self.text}"
            if self.process.poll() is not None and not self._reader.is_alive():
                raise AssertionError(f"the bot exited before printing {text!r}: {self.text}")
            time.sleep(0.1)

    def stop(self, timeout: float = 15) -> str:
        """SIGTERM the process, wait for it (killed after `timeout`), return all it printed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        return self.text

    @property
    def text(self) -> str:
        return "".join(self.lines)


@contextmanager
def running_bot(tmp_path: Path, **settings: str) -> Iterator[BotApiDouble]:
    """The double, and `python bot.py` polling it with `settings`; no traceback may be printed."""
    with BotApiDouble(bot_username="steward_test_bot") as api:
        env = bot_env(tmp_path, TELEGRAM_BOT_TOKEN=api.token, TELEGRAM_API_BASE_URL=api.base_url, **settings)
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py")],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            # deleteWebhook is the last call before polling starts (a getUpdates is only
            # recorded when its long poll returns); updates pushed from now on are fetched.
            api.wait_for(lambda c: c.method == "deleteWebhook", timeout=START_UP)
            yield api
        finally:
            process.terminate()
            try:
                output, _ = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
            assert "Traceback" not in output, output


def sent_saying(chat_id: int, template: str, /, **values: object) -> Callable[[Call], bool]:
    """For `BotApiDouble.wait_for`: a sendMessage to `chat_id` that Telegram accepted and that
    says `template` (a texts.py constant; the placeholders in `values` hold those values)."""

    def matches(call: Call) -> bool:
        return (
            call.method == "sendMessage"
            and call.ok
            and str(call.params.get("chat_id")) == str(chat_id)
            and says(template, str(call.params.get("text", "")), **values)
        )

    return matches
