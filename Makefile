# deltahedge: every target does its own set-up from a fresh clone.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SHARED  ?= ../shared

.PHONY: demo test lint bench clean help

help:
	@echo "make demo   - run the main job on its embedded default (sets up .venv)"
	@echo "make test   - install test dependencies into .venv, lint, type-check, run the tests"
	@echo "make bench  - print benchmark figures and ratios against peers (QuantLib, py_vollib, naive policies)"

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/deltahedge demo

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/pytest -n 2 --dist loadfile -q

bench: $(STAMP)
	$(BIN)/deltahedge bench

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
