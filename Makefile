# make demo  — run the demo site at http://127.0.0.1:8000/flows/ (SQLite, jobs in-process, timers by run_timers)
# make test  — the whole test suite, on SQLite and on PostgreSQL
# make bench — this project's benchmark and the peer's (../shared/bench/peer-viewflow2) in one run; ratios at the end
# make bench-quick — the same with small N (under two minutes)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint test-sqlite test-postgres test-django6 venv clean bench bench-quick bench-db

# The Django 6 row of the matrix: Python 3.12 (pyenv's, or any python3.12 on PATH).
PYTHON312 ?= $(shell for p in $$HOME/.pyenv/versions/3.12*/bin/python $$(command -v python3.12); do $$p -c '' 2>/dev/null && echo $$p && break; done)
VENV6 := .venv-django6
STAMP6 := $(VENV6)/.installed

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[celery,postgres,rest,test]"
	touch $(STAMP)

# The scheduler (run_timers) runs beside the server; Ctrl-C stops both (the trap stops it if the server ends first).
DEMO_PORT ?= 8000
demo: $(STAMP)
	cd demo && ../$(PY) manage.py migrate --noinput -v0
	cd demo && ../$(PY) manage.py demo_users
	cd demo && { ../$(PY) manage.py run_timers --interval 2 & timers=$$!; \
		trap 'kill -TERM $$timers 2>/dev/null; wait $$timers' EXIT INT TERM; \
		../$(PY) manage.py runserver 127.0.0.1:$(DEMO_PORT); }

# ruff's rules are in pyproject.toml; `ruff check --fix` repairs most of what it finds
lint: $(STAMP)
	$(VENV)/bin/ruff check .

# the first row prints which nodes and edges of the demo flows the suite went through (docs/testing.md)
FLOW_COVERAGE := --flow-coverage=helloworld,orders,leave --flow-coverage-fail-under=100

test: $(STAMP) lint
	scripts/ensure-services
	scripts/ensure-chromium
	$(PY) -m pytest -p no:cacheprovider $(FLOW_COVERAGE)
	VIEWFLOW_TEST_DB=postgres $(PY) -m pytest -p no:cacheprovider
	$(MAKE) test-django6

test-sqlite: $(STAMP)
	scripts/ensure-chromium
	$(PY) -m pytest

test-postgres: $(STAMP)
	scripts/ensure-services
	scripts/ensure-chromium
	VIEWFLOW_TEST_DB=postgres $(PY) -m pytest

# Django 6.x on Python 3.12, SQLite; the browser is exercised by the main rows.
test-django6:
	@if [ -z "$(PYTHON312)" ]; then echo "test-django6: no Python 3.12 here, row skipped"; else \
		$(MAKE) $(STAMP6) && $(VENV6)/bin/python -m pytest -p no:cacheprovider -q --ignore=tests/test_browser.py; fi

$(STAMP6): pyproject.toml
	test -x $(VENV6)/bin/python || $(PYTHON312) -m venv $(VENV6)
	$(VENV6)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV6)/bin/python -m pip install --quiet --disable-pip-version-check "Django>=6,<7" -e ".[celery,postgres,rest,test]"
	touch $(STAMP6)

clean:
	rm -rf $(VENV) $(VENV6) demo/db.sqlite3 test-output

# Benchmarks (not part of `make test`): see BENCHMARKS.md. PostgreSQL database `bench`, schemas
# viewflow_bench (ours) and peer_viewflow2 (the peer's); the peer's virtualenv is cached in PEER_VENV.
BENCH_DATABASE_URL ?= postgres://root@127.0.0.1:5432/bench
PEER_VENV ?= $(CURDIR)/.venv-peer

bench-db:
	scripts/ensure-services
	psql "$(dir $(BENCH_DATABASE_URL))postgres" -qAtc "select 1 from pg_database where datname='$(notdir $(BENCH_DATABASE_URL))'" | grep -q 1 \
		|| createdb -h 127.0.0.1 -U root $(notdir $(BENCH_DATABASE_URL))

bench: $(STAMP) bench-db
	DATABASE_URL=$(BENCH_DATABASE_URL) PEER_VENV=$(PEER_VENV) $(PY) -m bench.compare

bench-quick: $(STAMP) bench-db
	DATABASE_URL=$(BENCH_DATABASE_URL) PEER_VENV=$(PEER_VENV) $(PY) -m bench.compare --quick
