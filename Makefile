# Pult: set-up and everyday commands. Needs python3 >= 3.11 with venv (Debian/Ubuntu:
# apt-get install python3-venv). The virtual environment lives in .venv/.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Stamps remember what was installed; pip runs again only when pyproject.toml is newer.
STAMP := $(VENV)/.pult-installed
DEV_STAMP := $(VENV)/.pult-installed-dev

.PHONY: run test lint setup setup-dev screenshots

run: $(STAMP)
	$(BIN)/pult run

test: $(DEV_STAMP)
	$(BIN)/pytest

# Re-takes docs/screenshots/*.png from the panel's browser tests (needs /usr/bin/chromium).
screenshots: $(DEV_STAMP)
	PULT_SCREENSHOTS=1 $(BIN)/pytest tests/e2e -k "panel"

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

setup: $(STAMP)

setup-dev: $(DEV_STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Pult needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version 2>&1)" >&2; exit 1; }
	@# A failed attempt (python3-venv missing) must not leave a half-made .venv behind.
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "Install python3-venv and retry" >&2; exit 1; }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The dev extra includes everything the plain install has, so it satisfies both stamps.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)
