# The two commands of the README: `make demo` and `make test`. Everything else serves them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BAOXUE := $(VENV)/bin/baoxue
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: install system-packages demo serve test test-postgresql test-sqlite bench services clean

install: $(STAMP) system-packages

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# WeasyPrint needs a CJK font for Chinese PDFs and HarfBuzz's subsetter to write them fast;
# the browser tests need Debian's Chromium. Installed when we can, explained when we cannot.
system-packages:
	@bash .ci/system-packages.sh

demo: install
	$(BAOXUE) db upgrade
	$(BAOXUE) demo seed
	$(BAOXUE) run

serve: install
	$(BAOXUE) run

services:
	@bash .ci/services.sh

test: install services
	$(MAKE) --no-print-directory test-postgresql
	$(MAKE) --no-print-directory test-sqlite

test-postgresql:
	BAOXUE_TEST_DATABASE=postgresql $(PY) -m pytest -q -p no:cacheprovider tests --ignore=tests/bench

test-sqlite:
	BAOXUE_TEST_DATABASE=sqlite $(PY) -m pytest -q -p no:cacheprovider tests --ignore=tests/bench -m "not postgres_only and not browser"

bench: install services
	BAOXUE_TEST_DATABASE=postgresql $(PY) -m pytest -q -s -p no:cacheprovider tests/bench

clean:
	rm -rf $(VENV) var .pytest_cache
