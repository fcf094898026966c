# One command to run the bot, one to run the tests, one for the lint gates; each creates the venv it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.lint-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $@

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/python bot.py

# The suite on TEST_WORKERS pytest-xdist workers (README, "Tests"): most of its time is real
# processes waiting on real timers, so more workers than cores pay. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 3

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

# ruff and mypy as configured in pyproject.toml; mypy reads the entry point bot.py apart from
# the packages (it and the bot/ package share a module name).
lint: $(VENV)/.lint-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy bot.py

# Rewrites files: run once over the whole tree when no other branch is in flight.
format: $(VENV)/.lint-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.bench-installed
	$(BIN)/python -m benchmarks.matcher_bench

clean:
	rm -rf $(VENV) .pytest_cache
