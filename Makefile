# facegate: `make demo` runs the whole system offline; `make test` runs the test suite.
# Both create .venv from the requirements on first use and fetch the test photos.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PHOTOS := .cache/photos/.complete

STAGE ?= dev

.PHONY: demo test lint photos package layer deploy destroy clean

$(INSTALLED): requirements.txt requirements-local-engine.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

$(PHOTOS): sandbox/photos.py | $(INSTALLED)
	$(PY) -m sandbox.photos
	touch $@

photos: $(PHOTOS)

demo: $(INSTALLED) $(PHOTOS)
	$(PY) -m sandbox demo

test: $(INSTALLED) $(PHOTOS) lint
	$(PY) -m pytest -q

lint: $(INSTALLED)
	$(PY) -m ruff check .
	$(PY) -m mypy

package: $(INSTALLED)
	$(PY) -m infra.deploy package prod

layer: $(INSTALLED)
	$(PY) -m infra.deploy layer

deploy: $(INSTALLED)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m infra.deploy deploy $(STAGE)

destroy: $(INSTALLED)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m infra.deploy destroy $(STAGE)

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
