# policywatch: the two set-up commands of the README, and helpers for development.
# Both create .venv if missing and (re)install when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast install clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

## make demo: serve the bundled sample policies on 127.0.0.1, crawl, edit, crawl, show the alert.
demo: $(VENV)/.installed
	$(BIN)/policywatch demo

## System packages the tests drive for real: Debian's Chromium (browser tests, JS rendering)
## redis-server (scale-out tests) and openssl (an independent check of RFC 3161 tokens).
## Installed when missing and we may (root with apt-get).
SYSTEM_PACKAGES := chromium:chromium redis-server:redis-server openssl:openssl
system-deps:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing:$$missing"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  elif [ "$$CI" = true ]; then echo "error: missing$$missing and cannot install them" >&2; exit 1; \
	  else echo "warning: missing$$missing (apt-get install them); tests needing them will be skipped"; fi; \
	fi

## Tests run in parallel (pytest-xdist), one worker per core, each test file whole on one worker
## so that its module-scoped fixtures (a venv, a crawled store) are built once (docs/testing.md).
PYTEST_WORKERS ?= auto
PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile

## make test: the whole test suite (what CI runs).
test: system-deps $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PARALLEL) $(PYTEST_ARGS)

## make test-fast: the suite without the slow tests (browser, Redis, killed processes, the daemon).
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PARALLEL) -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) data/demo .pytest_cache
