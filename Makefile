# chainrule: two commands on a fresh machine with python3, pip and make.
#   make demo   set up and run the lecture demo
#   make test   set up the test dependencies and run lint + the whole test suite (which
#               builds the docs site: tests/test_docs_site.py)
#   make docs   build the documentation site into site/, warnings as errors
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: demo test lint format bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	bash scripts/install-system-deps.sh
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/chainrule demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

docs: $(VENV)/.installed-test
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict  # (no end-of-life banner)

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build dist site src/*.egg-info .pytest_cache .ruff_cache
