# make test: everything from scratch (creates .venv, installs, lints, tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint fuzz demo site bench profile clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip's build backend is chatty; its output is kept in .venv/install.log and shown on failure.
# make demo needs only the package ($(CORE)); make test adds the test and lint tools ($(STAMP)).
CORE := $(VENV)/.installed-core
$(CORE): $(BIN)/python setup.cfg pyproject.toml
	@echo "installing scrapy_optout into $(VENV) (log: $(VENV)/install.log)"
	@( $(BIN)/python -m pip install --upgrade pip && \
	   $(BIN)/python -m pip install -e . ) > $(VENV)/install.log 2>&1 \
	   || (cat $(VENV)/install.log; exit 1)
	@touch $(CORE)

$(STAMP): $(CORE)
	@echo "installing the test and lint tools into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/python -m pip install -e '.[test,dev]' >> $(VENV)/install.log 2>&1 \
	   || (cat $(VENV)/install.log; exit 1)
	@touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check scrapy_optout tests bench examples fuzz
	$(BIN)/mypy scrapy_optout

test: lint
	bash scripts/install-debian.sh chromium /usr/bin/chromium  # the report's browser test
	bash scripts/install-debian.sh redis-server /usr/bin/redis-server  # the shared cache's tests
	$(BIN)/pytest -q

# Every parser of scrapy_optout/_core fuzzed for about 5 minutes (not part of make test): failures are
# shrunk, printed and kept in fuzz/failures/ and fuzz/.hypothesis (replayed first by the next run).
# FUZZ_SECONDS=N sets the seconds per target.
fuzz: $(STAMP)
	$(BIN)/python fuzz/run.py $(if $(FUZZ_SECONDS),--seconds-per-target $(FUZZ_SECONDS))

# The bundled example web, crawled and reviewed; everything it writes goes to demo-output/.
demo: $(CORE)
	$(BIN)/python examples/demo.py demo-output

# The example web alone, on 127.0.0.1:8700-8712 until Ctrl-C, for trying the README's commands.
site: $(CORE)
	$(BIN)/python examples/site/serve.py --port 8700 --out demo-output

# Benchmarks run in their own virtualenv: datadiligence (the peer we compare against) is installed
# there only, never as a dependency of scrapy_optout.
BENCH := .venv-bench
$(BENCH)/.installed: setup.cfg Makefile
	$(PYTHON) -m venv $(BENCH)
	@( $(BENCH)/bin/python -m pip install --upgrade pip && \
	   $(BENCH)/bin/python -m pip install -e '.[server]' datadiligence==0.1.7 pillow py-spy ) > $(BENCH)/install.log 2>&1 \
	   || (cat $(BENCH)/install.log; exit 1)
	@touch $@

bench: $(BENCH)/.installed
	$(BENCH)/bin/python bench/core.py
	$(BENCH)/bin/python bench/robots_corpus.py
	$(BENCH)/bin/python bench/client.py
	$(BENCH)/bin/python bench/crawl.py
	$(BENCH)/bin/python bench/robots_race.py
	$(BENCH)/bin/python bench/audit.py
	$(BENCH)/bin/python bench/registry.py
	$(BENCH)/bin/python bench/embedded.py
	$(BENCH)/bin/python bench/cache.py

# Where a page's CPU goes in the client and crawl benchmarks (py-spy; needs ptrace permission).
profile: $(BENCH)/.installed
	$(BENCH)/bin/python bench/profile.py

clean:
	rm -rf $(VENV) $(BENCH) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
