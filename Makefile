# pyevents: the two commands of the README are `make demo` and `make test`.
PYTHON ?= python3
PIP_INSTALL = $(PYTHON) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore

.PHONY: install install-test postgres demo test lint typecheck unit bench bundle clean

install:
	$(PIP_INSTALL) -e .

install-test:
	$(PIP_INSTALL) -e '.[test]'

# PostgreSQL, pg_partman, pgTAP and pg_prove from Debian packages when missing (root only).
postgres:
	scripts/pgcluster.sh install

# The main job: a demo on the embedded default (file backend), in a fresh directory.
demo: install
	@dir=$$(mktemp -d) && cd $$dir && echo "pyevents demo in $$dir" && pyevents demo

lint: install-test
	ruff check pyevents tests benchmarks
	ruff format --check pyevents tests benchmarks

typecheck: install-test
	mypy pyevents

# The tests start their own throwaway PostgreSQL cluster (scripts/pgcluster.sh).
unit: install-test postgres
	$(PYTHON) -m pytest -q

test: lint typecheck unit

bench: install-test postgres
	$(PYTHON) benchmarks/run.py --scale full --output BENCHMARKS.md

bundle: install
	pyevents db bundle > pyevents.sql

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
