# make demo  — run the demo site at http://127.0.0.1:8000/flows/ (SQLite, jobs in-process)
# make test  — the whole test suite, on SQLite and on PostgreSQL
# make bench — this project's benchmark and the peer's (../shared/bench/peer-viewflow2) in one run; ratios at the end
# make bench-quick — the same with small N (under two minutes)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-sqlite test-postgres venv clean bench bench-quick bench-db

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[celery,postgres,test]"
	touch $(STAMP)

demo: $(STAMP)
	cd demo && ../$(PY) manage.py migrate --noinput -v0
	cd demo && ../$(PY) manage.py demo_users
	cd demo && ../$(PY) manage.py runserver 127.0.0.1:8000

test: $(STAMP)
	scripts/ensure-services
	scripts/ensure-chromium
	$(PY) -m pytest -p no:cacheprovider
	VIEWFLOW_TEST_DB=postgres $(PY) -m pytest -p no:cacheprovider

test-sqlite: $(STAMP)
	scripts/ensure-chromium
	$(PY) -m pytest

test-postgres: $(STAMP)
	scripts/ensure-services
	scripts/ensure-chromium
	VIEWFLOW_TEST_DB=postgres $(PY) -m pytest

clean:
	rm -rf $(VENV) demo/db.sqlite3 test-output

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
