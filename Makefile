# GCP Guardrail Monitor: build, test and package the Splunk app (the repository root is the app).
# Every target installs what it needs itself, idempotently, so a fresh machine only needs `make test`.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' bin/guardrail/__init__.py)
PACKAGE := dist/gcp_guardrail-$(VERSION).tgz
export PYTHONDONTWRITEBYTECODE := 1

# Fragments in mk/ add their own targets and may append prerequisites of `make test`.
TEST_PREREQS :=
include $(wildcard mk/*.mk)

.PHONY: help venv vendor sysdeps package inspect lint test clean

help:
	@echo "make demo     run the main job on bundled sample data"
	@echo "make test     every test ring (unit, protocol, gates, browser)"
	@echo "make package  build $(PACKAGE)"
	@echo "make inspect  splunk-appinspect (Splunk Cloud vetting) on the package"
	@echo "make lint     ruff, mypy --strict on the engine and dev tools, .conf spec and SPL checks"
	@echo "make bench    the correlation command against a splunklib floor"

venv: $(VENV)/.stamp $(VENV)/.paths
$(VENV)/.stamp: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The venv finds the engine (bin/) and the dev tools (the repository root) on its own, so
# `python -m devtools.<tool>` runs from anywhere in the clone.
$(VENV)/.paths: $(VENV)/.stamp
	$(PY) -c "import pathlib, sysconfig; root = pathlib.Path.cwd(); \
	pathlib.Path(sysconfig.get_paths()['purelib'], 'gcp_guardrail_dev.pth').write_text(f'{root}\\n{root / \"bin\"}\\n')"
	touch $@

vendor: bin/lib/.stamp
bin/lib/.stamp: requirements.txt devtools/vendor.py | venv
	$(PY) devtools/vendor.py

# splunk-appinspect needs libmagic; a bare Debian machine lacks it.
sysdeps: venv
	@$(PY) -c "import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library('magic') else 1)" \
	  || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmagic1)

package: vendor
	$(PY) devtools/package.py --dist dist

inspect: package sysdeps
	$(PY) -m devtools.appinspect $(PACKAGE) --report build/appinspect.json

lint: vendor
	$(VENV)/bin/ruff check bin devtools tests --exclude bin/lib
	$(VENV)/bin/mypy --strict bin/guardrail devtools
	$(PY) -m devtools.confcheck
	$(PY) -m devtools.splcheck

test: vendor sysdeps $(TEST_PREREQS)
	$(PY) -m pytest

ifeq ($(wildcard mk/demo.mk),)
.PHONY: demo
demo: inspect
	@echo "demo: the correlation command is not built yet; built and vetted $(PACKAGE) instead"
endif

clean:
	rm -rf dist build bin/lib .pytest_cache .mypy_cache .ruff_cache
