# make test: everything from scratch (creates .venv, installs, lints, tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check scrapy_optout tests bench examples
	$(BIN)/mypy scrapy_optout

test: lint
	$(BIN)/pytest -q

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# Benchmarks run in their own virtualenv: datadiligence (the peer we compare against) is installed
# there only, never as a dependency of scrapy_optout.
BENCH := .venv-bench
$(BENCH)/.installed: setup.cfg
	$(PYTHON) -m venv $(BENCH)
	$(BENCH)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH)/bin/python -m pip install --quiet -e . datadiligence==0.1.7
	touch $@

bench: $(BENCH)/.installed
	$(BENCH)/bin/python bench/core.py
	$(BENCH)/bin/python bench/robots_corpus.py

clean:
	rm -rf $(VENV) $(BENCH) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
