# The two README commands: `make demo` and `make test`. Both set up everything they need.
PYTHON ?= python3
# The version is written once, in engine/__init__.py (pyproject reads it from there too).
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' engine/__init__.py)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(VERSION)
# `make demo` needs only the library and matplotlib: a small environment of its own, so that
# the first README command does not build the whole development environment (about 2 GB).
DEMO_VENV  := .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed-$(VERSION)
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get
# Where mypy finds engine/ and nn/ under their installed names (see [tool.mypy] in pyproject).
TYPING := $(VENV)/typing

.PHONY: demo test check lint docs bench dist notebooks system-deps venv clean

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/python demos/xor.py

test: venv system-deps
	$(PY) -m pytest

# The fast tier, in under a minute: every test not marked slow (tests/conftest.py marks them)
# or browser.
check: venv
	HYPOTHESIS_PROFILE=check $(PY) -m pytest -q -m "not slow and not browser"

lint: venv
	$(PY) -m ruff check .
	@mkdir -p $(TYPING)/chainrule
	@ln -sfn $(CURDIR)/engine $(TYPING)/chainrule/engine
	@ln -sfn $(CURDIR)/nn $(TYPING)/chainrule/nn
	$(PY) -m mypy
	$(VENV)/bin/pyright

bench: venv
	$(PY) benchmarks/run.py

# Re-run the course (demos/notebooks/*.ipynb) in a Jupyter kernel and save it with its outputs.
notebooks: venv system-deps
	$(PY) demos/notebooks/build.py

# The documentation site in site/ (MkDocs, from docs/ and mkdocs.yml): offline, and every warning
# (a broken link, a missing docstring reference) is an error.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir site

# The sdist and wheel in dist/, checked as PyPI will check them.
dist: venv
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .
	$(PY) -m twine check --strict dist/*

venv: $(STAMP)

# $(call new-venv,FOLDER): a virtualenv in FOLDER, installing python3-venv first if it is missing.
define new-venv
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "chainrule needs Python >= 3.10"'
	@$(PYTHON) -m venv $(1) 2>/dev/null || { \
		echo "python venv support is missing: installing python3-venv"; \
		$(APT) update -qq && $(APT) install -y -qq python3-venv && $(PYTHON) -m venv $(1); }
endef

$(STAMP): pyproject.toml .ci/constraints.txt .ci/constraints-docs.txt
	$(call new-venv,$(VENV))
	$(PY) -m pip install --quiet --disable-pip-version-check -c .ci/constraints.txt -c .ci/constraints-docs.txt -e '.[dev,docs,torch]'
	touch $(STAMP)

$(DEMO_STAMP): pyproject.toml .ci/constraints.txt
	$(call new-venv,$(DEMO_VENV))
	$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c .ci/constraints.txt -e '.[plot]'
	touch $(DEMO_STAMP)

# System programs: graphviz's `dot` (rendering) and Debian's Chromium (browser tests). They are
# installed as root, or through sudo when it needs no password; otherwise the tests that need
# them are skipped, and say why. CI (CI set) must have them: there, failing to install is an error.
system-deps:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; \
	elif [ -n "$$CI" ]; then \
		echo "CI needs the system packages$$missing, and cannot install them without root or sudo" >&2; \
		exit 1; \
	else \
		echo "not installing$$missing (needs root or sudo): the tests that need them will be skipped;"; \
		echo "install them with: sudo apt-get install$$missing fonts-dejavu-core"; \
		exit 0; \
	fi; \
	echo "installing system packages:$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get update -qq && $$sudo apt-get install -y -qq $$missing fonts-dejavu-core >/dev/null

clean:
	rm -rf $(VENV) $(DEMO_VENV) site out .pytest_cache .hypothesis build dist *.egg-info
