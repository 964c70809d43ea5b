# The two README commands: `make demo` and `make test`. Both set up everything they need.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-0.1.0
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get

.PHONY: demo test lint bench dist notebooks system-deps venv clean

demo: venv
	$(PY) demos/xor.py

test: venv system-deps
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check .

bench: venv
	$(PY) benchmarks/run.py

# Re-run the course (demos/notebooks/*.ipynb) in a Jupyter kernel and save it with its outputs.
notebooks: venv system-deps
	$(PY) demos/notebooks/build.py

# The sdist and wheel in dist/, checked as PyPI will check them.
dist: venv
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .
	$(PY) -m twine check --strict dist/*

venv: $(STAMP)

$(STAMP): pyproject.toml .ci/constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "chainrule needs Python >= 3.10"'
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
		echo "python venv support is missing: installing python3-venv"; \
		$(APT) update -qq && $(APT) install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install --quiet --disable-pip-version-check -c .ci/constraints.txt -e '.[dev,torch]'
	touch $(STAMP)

# System programs: graphviz's `dot` (rendering) and Debian's Chromium (browser tests).
system-deps:
	@missing=""; \
	command -v dot >/dev/null 2>&1 || missing="$$missing graphviz"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		$(APT) update -qq && $(APT) install -y -qq $$missing fonts-dejavu-core >/dev/null; \
	fi

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis build dist *.egg-info
