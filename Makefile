# The two commands: `make run` starts the local stack with demo data, `make test` runs every
# check. Each sets up what it needs itself: a .venv and, for the tests, Debian packages.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
AWS_MOCK_PORT ?= 5000
APT_PACKAGES := poppler-utils libnss3-tools chromium fonts-noto-cjk

.PHONY: run test lint typecheck unit integration e2e bench package clean deps system-deps

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

deps: $(STAMP)

# Debian packages the tests use (poppler's pdftotext/pdfsig); installed only when missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

run: deps
	PORT=$(PORT) AWS_MOCK_PORT=$(AWS_MOCK_PORT) exec $(PY) -m infra.local

lint: deps
	$(VENV)/bin/ruff check .

typecheck: deps
	$(VENV)/bin/mypy --strict chalicelib

unit: deps
	$(PY) -m pytest -q tests/unit

integration: deps
	$(PY) -m pytest -q tests/integration

e2e: deps
	$(PY) -m pytest -q tests/e2e

test: deps system-deps lint typecheck
	$(PY) -m pytest -q -n 2 --dist loadfile tests
	$(MAKE) --no-print-directory package

bench: deps
	$(PY) bench/run.py

# The deployable template: chalice package merged with infra/, checked by cfn-lint.
package: deps
	rm -rf build/package
	$(PY) -m infra.package prod
	$(VENV)/bin/cfn-lint build/package/sam.json
	@ls -l build/package/deployment.zip | awk '{printf "Lambda package: %.1f MB\n", $$5/1048576}'

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
