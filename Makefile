# The two commands a newcomer needs: `make run` and `make test`. Everything else is a step of those.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
FLASK   := $(BIN)/flask --app wsgi
HOST    ?= 127.0.0.1
PORT    ?= 5000

# Links in messages, demo text and PDFs point where `make run` serves, unless
# PORTAL_PUBLIC_URL says otherwise (a wildcard bind address is reached as localhost).
PUBLIC_HOST := $(if $(filter 0.0.0.0 ::,$(HOST)),localhost,$(HOST))
run demo db-upgrade public-url: export PORTAL_PUBLIC_URL ?= http://$(PUBLIC_HOST):$(PORT)

.PHONY: run test setup setup-test i18n i18n-extract i18n-update db-upgrade demo lint fmt bench bench-pages bench-servicing clean public-url

run: setup db-upgrade demo
	@echo "Serving on http://$(HOST):$(PORT), links use $$PORTAL_PUBLIC_URL  (stop with Ctrl-C)"
	$(FLASK) run --host $(HOST) --port $(PORT)

test: setup-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# --- set-up -----------------------------------------------------------------
$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

.stamp-runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	@touch $@

.stamp-dev: requirements.txt requirements-dev.txt package.json | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	npm install --no-audit --no-fund --silent
	@touch $@

setup: .stamp-runtime i18n
	@scripts/system-packages runtime
	@mkdir -p instance
	@$(BIN)/python scripts/agreement-fonts

setup-test: setup .stamp-dev
	@scripts/system-packages test

i18n: .stamp-runtime
	@$(BIN)/pybabel compile -d translations 2>&1 | grep -v "^compiling" || true

i18n-extract: .stamp-runtime
	PYTHONPATH=. $(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o translations/messages.pot .

i18n-update: i18n-extract
	$(BIN)/pybabel -q update -N -i translations/messages.pot -d translations --width 100
	$(BIN)/python scripts/fill-source-catalog translations/en/LC_MESSAGES/messages.po

db-upgrade: setup
	$(FLASK) db upgrade

demo: db-upgrade
	$(FLASK) portal demo

public-url:
	@echo $$PORTAL_PUBLIC_URL

lint: setup-test
	$(BIN)/ruff check portal tests bench
	$(BIN)/ruff format --check portal tests bench
	$(BIN)/mypy portal

fmt: setup-test
	$(BIN)/ruff format portal tests bench

bench: setup-test
	$(BIN)/python bench/plans.py

# Page throughput beside a bare Flask route under gunicorn and wrk, on PostgreSQL
# (a fresh database of its own, PORTAL_BENCH_PG_DB, default portal_bench).
bench-pages: setup-test
	$(BIN)/python bench/pages.py $(BENCH_ARGS)

# One servicing day over 200,000 accounts and 50,000 plans on PostgreSQL (a database of
# its own, PORTAL_BENCH_PG_URL, default portal_bench_servicing).
bench-servicing: setup-test
	$(BIN)/python bench/servicing.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .stamp-* node_modules instance/portal.sqlite3
