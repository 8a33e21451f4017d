# make demo  — run the demo site at http://127.0.0.1:8000/flows/ (SQLite, jobs in-process)
# make test  — the whole test suite, on SQLite and on PostgreSQL
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-sqlite test-postgres venv clean

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
