# Every target runs from the repository root; `make run` and `make test` install first
# when .venv/ is missing, so each works alone on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install dev run test pytest lint fmt typecheck bench check-scenarios docker clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

dev: install

run: install
	$(BIN)/mockserver serve

test: install lint typecheck pytest

pytest: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check mockserver tests bench
	$(BIN)/ruff format --check mockserver tests bench

fmt: install
	$(BIN)/ruff format mockserver tests bench
	$(BIN)/ruff check --fix mockserver tests bench

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run.py

check-scenarios: install
	$(BIN)/mockserver validate scenarios/*.yaml

docker:
	docker build -t mockserver .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
