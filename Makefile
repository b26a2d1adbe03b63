# pyevents: the two commands of the README are `make demo` and `make test`.
# Everything runs in a project virtualenv built from uv.lock (scripts/devenv.sh), never the global
# interpreter. ENV=lowest / ENV=latest use the lowest allowed / newest releases instead of the lock.
ENV ?= locked
VENV := $(if $(filter locked,$(ENV)),.venv,.venv-$(ENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)
export VIRTUAL_ENV := $(abspath $(VENV))
CHECKED = pyevents tests benchmarks

.PHONY: env runtime postgres prometheus compose demo test test-lowest test-latest lint typecheck unit bench bench-smoke bench-compare bundle clean

env:
	scripts/devenv.sh $(ENV) $(VENV)

runtime:
	scripts/devenv.sh runtime $(VENV)

# PostgreSQL and its extensions and tools (pg_partman, pgTAP, pg_prove, pg_cron, pgAudit, pgBackRest) from Debian packages when missing (root only).
postgres:
	scripts/pgcluster.sh install

# Prometheus and promtool from Debian's package when missing (root only), for the monitoring tests.
prometheus:
	scripts/prometheus.sh install

# Docker Compose from Debian's package when missing (root only), to check docker/compose.yml.
compose:
	scripts/compose.sh install

# The main job: a demo on the embedded default (file backend), in a fresh directory.
demo: runtime
	@dir=$$(mktemp -d) && cd $$dir && echo "pyevents demo in $$dir" && pyevents demo

lint: env
	ruff check $(CHECKED)
	ruff format --check $(CHECKED)

typecheck: env
	mypy $(CHECKED)

# The tests start their own throwaway PostgreSQL cluster (scripts/pgcluster.sh).
unit: env postgres prometheus compose
	python -m pytest -q

test: lint typecheck unit

# Floors are behaviour: the tests run on the lowest allowed releases; lint and types stay on the locked tools.
test-lowest:
	$(MAKE) unit ENV=lowest

test-latest:
	$(MAKE) test ENV=latest

bench: env postgres
	python benchmarks/run.py --scale full --runs 3 --output BENCHMARKS.md

bench-smoke: env postgres
	python benchmarks/run.py --scale smoke

# Names every pyevents figure more than 10% worse than at commit BASE (make bench-compare BASE=54b1658).
bench-compare: env postgres
	@test -n "$(BASE)" || { echo "usage: make bench-compare BASE=<commit> [ROUNDS=3]" >&2; exit 2; }
	python benchmarks/compare.py $(BASE) --rounds $(or $(ROUNDS),3)

bundle: runtime
	pyevents db bundle > pyevents.sql

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis .venv .venv-lowest .venv-latest .tools
