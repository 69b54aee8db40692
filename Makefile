# Smore: `make run` serves the shop, `make test` runs the whole suite. Nothing else to set up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
PIP    := $(BIN)/python -m pip
SUDO   := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: run test install install-test install-bench migrate seed worker lint format chromium promtool cluster-tools cluster-test reindex clean bench-drop bench-auction bench-line messages catalogs font screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(PIP) install --quiet -c requirements.lock -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements.lock $(VENV)/.installed
	$(PIP) install --quiet -c requirements.lock -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml requirements.lock $(VENV)/.installed
	$(PIP) install --quiet -c requirements.lock -e '.[bench]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

install-bench: $(VENV)/.installed-bench

# The catalogs: `make messages` collects every marked string of app/, tasks/ and templates/ into
# app/locale/messages.pot and adds the new ones to the ko and en catalogs (translate them in
# app/locale/ko/LC_MESSAGES/messages.po); `make catalogs` compiles them (run and test do it).
LOCALES := app/locale
KEYWORDS := -k Msg -k N_ -k _ -k gettext -k ngettext:1,2 -k pgettext:1c,2

messages: install
	$(BIN)/pybabel extract -F babel.cfg $(KEYWORDS) --no-default-keywords --sort-output --add-location=file \
		--project=Smore --copyright-holder=Smore --omit-header --ignore-dirs=".* __pycache__ var node_modules" -o $(LOCALES)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) --no-fuzzy-matching --ignore-obsolete \
		--init-missing -l ko
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) --no-fuzzy-matching --ignore-obsolete \
		--init-missing -l en

catalogs: install
	$(BIN)/pybabel compile -d $(LOCALES) --statistics

migrate: install catalogs
	$(BIN)/alembic upgrade head

seed: migrate
	$(BIN)/python -m app.seed

# The search index is rebuilt from the database on every start (quick for a dev database, and a
# database restored or reseeded elsewhere is never out of step with it).
run: seed
	$(BIN)/python -m app.search.rebuild
	$(BIN)/uvicorn tasks.web:create_app --factory --no-proxy-headers --no-access-log --host 127.0.0.1 --port $(PORT) --timeout-graceful-shutdown 3

reindex: migrate
	$(BIN)/python -m app.search.rebuild

# Both stop within 10 s of SIGTERM (the flags bound what the code does not end by itself).
worker: install
	$(BIN)/dramatiq tasks.worker --processes 1 --threads 4 --worker-shutdown-timeout 5000

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads its own).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# Debian's prometheus package for `promtool check metrics` (a test checks the real /metrics with it).
promtool:
	@command -v promtool >/dev/null 2>&1 || { \
		echo "installing Debian's prometheus package for promtool"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq prometheus >/dev/null; }

# Debian's haproxy and pgbouncer for the cluster test (the balancer and the pool in front of PostgreSQL).
cluster-tools:
	@PATH="$$PATH:/usr/sbin"; command -v haproxy >/dev/null 2>&1 && command -v pgbouncer >/dev/null 2>&1 || { \
		echo "installing Debian's haproxy and pgbouncer for the cluster test"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq haproxy pgbouncer >/dev/null; }

# The web font "Smore Sans" (static/fonts/README.md): a subset of NanumGothic from Debian's fonts-nanum,
# regenerated from the package. The files are in the repository; run and test never need this.
FONT_PACKAGE := fonts-nanum=20200506-1
FONT_SRC     := var/font-src

font: install
	$(PIP) install --quiet -c requirements.lock fonttools brotli
	rm -rf $(FONT_SRC) && mkdir -p $(FONT_SRC)
	(cd $(FONT_SRC) && { apt-get download $(FONT_PACKAGE) 2>/dev/null || \
		{ $(SUDO) apt-get update -qq && apt-get download $(FONT_PACKAGE); }; } && dpkg-deb -x fonts-nanum_*.deb .)
	$(BIN)/python docs/make_font.py $(FONT_SRC)/usr/share/fonts/truetype/nanum $(FONT_SRC)/usr/share/doc/fonts-nanum/copyright
	rm -rf $(FONT_SRC)

# PNGs of the main pages (phone and desktop, Korean and English) into docs/screenshots/, from the demo
# data on a temporary database (tests/browser/screenshots.py). A minute or so; never part of test.
screenshots: install-test chromium catalogs
	$(BIN)/python -m tests.browser.screenshots $(SCREENSHOTS_ARGS)

# The suite in two parts: the many fast tests on TEST_WORKERS processes at once (pytest-xdist;
# each with a database and a Redis database of its own), then the slow and browser tests one at a
# time (they start servers and browsers and wait on real time: run side by side on two cores they
# would measure each other). Exit code 5 (no tests collected) counts as failure when neither part
# found a test: an empty suite proves nothing.
TEST_WORKERS ?= 2
test: install-test chromium promtool catalogs
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) -m "not slow and not browser and not cluster" $(PYTEST_ARGS); fast=$$?; \
	$(BIN)/pytest -q -p no:cacheprovider -m "(slow or browser) and not cluster" $(PYTEST_ARGS); slow=$$?; \
	if [ $$fast -eq 5 ] && [ $$slow -eq 5 ]; then echo "no tests were collected"; exit 5; fi; \
	for status in $$fast $$slow; do if [ $$status -ne 0 ] && [ $$status -ne 5 ]; then exit $$status; fi; done

# Several hosts on one machine (tests/cluster/): three web processes and two workers as the Procfile
# starts them, each with a folder of its own, behind HAProxy (round robin) and PgBouncer (transaction
# pooling), driven through the balancer only. Needs PostgreSQL and Redis on 127.0.0.1 (override with
# CLUSTER_POSTGRES_URL and CLUSTER_REDIS_URL); it drops and recreates the database smore_cluster and
# flushes Redis database 11. A few minutes; never part of `make test` (`.ci/run` runs it after).
cluster-test: install-test chromium cluster-tools catalogs
	$(BIN)/pytest -q -p no:cacheprovider -m cluster tests/cluster $(PYTEST_ARGS)

# The drop benchmark: needs PostgreSQL and Redis on 127.0.0.1 (override with BENCH_ARGS, e.g.
# "--postgres postgresql://user@host:5432 --redis redis://host:6379/9"); it drops and recreates the
# database smore_bench and flushes Redis database 9. Every shape: the closed loop, the burst (10,000
# presses over 1 s on 1,000 units), the sweep and the cost, the last two under uvicorn and Granian.
# About 10 minutes; never part of `make test`.
bench-drop: install-bench
	$(BIN)/python -m bench.drop --compare-servers --write docs/BENCHMARKS.md $(BENCH_ARGS)

# The auction benchmark: bids in a closed loop, a burst, a sweep and their cost; 10,000 SSE viewers
# at 4 bids/s (the open files limit raised to its hard limit). Same needs and overrides as
# bench-drop; it drops and recreates the database smore_bench_auction and flushes Redis database 8.
bench-auction: install-bench
	$(BIN)/python -m bench.auction --write docs/BENCHMARKS.md $(BENCH_ARGS)

bench-line: install-bench
	$(BIN)/python -m bench.line --write docs/BENCHMARKS.md $(BENCH_ARGS)

lint: install-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var/ .pytest_cache
