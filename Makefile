# take5 — one command runs the stack, one command runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= 3  # 3 on 2 cores: a third of the time the tests wait on servers and subprocesses (pytest about 7 min, more with 2)

.PHONY: help venv web-deps stacapi-venv freeze-stacapi run cluster stop test test-unit test-stack test-accuracy test-cluster bench-campaign bench-api bench-web fuzz lint bench bench-overhead bench-l2a-versions l2a-validation system-deps freeze clean

help:
	@echo "make run    - install, then start the embedded stack (Airflow UI on :8080) with a simulated campaign"
	@echo "make cluster - the production topology: PostgreSQL, Redis, CeleryExecutor, TAKE5_WORKERS worker hosts (network namespaces; root)"
	@echo "make stop   - stop the stack started by make run or make cluster"
	@echo "make test   - install, then lint (ruff, import contracts) and run the whole test suite (but the stack tier)"
	@echo "make test-unit - the unit tier alone (no server, no subprocess; under a minute)"
	@echo "make test-stack - the stack tier: the embedded stack under 150 live sites (PostgreSQL, real Airflow; ~10 min)"
	@echo "make test-accuracy - the L2A accuracy tier: the hard scenarios and the site series against the targets (~5 min)"
	@echo "make test-cluster - the cluster tier: a site on 2 worker hosts, then killed worker, Redis, PostgreSQL and S3 faults (~9 min)"
	@echo "make fuzz   - fuzz the DELIVERY.OK and METADATA.DIM parsers (FUZZ_EXAMPLES inputs each, 100000 by default)"
	@echo "make lint   - ruff check and the import-linter contracts"
	@echo "make web-deps - install the website map's npm packages (Leaflet, world-atlas; package-lock.json)"
	@echo "make bench  - run the benchmarks and write BENCHMARKS.md"
	@echo "make bench-overhead - per-task overhead on the embedded stack (its own BENCHMARKS.md section)"
	@echo "make bench-campaign - a campaign on the cluster profile (its own BENCHMARKS.md section; hours)"
	@echo "make bench-l2a-versions - the full-scene L2A, code at L2A_BASE against the working copy (its own BENCHMARKS.md section)"
	@echo "make bench-api - STAC API search latency, 150 collections x 60 items x 3 levels (its own BENCHMARKS.md section)"
	@echo "make bench-web - page weight of the website's root page (150 sites) and a site page, in chromium (its own BENCHMARKS.md section)"
	@echo "make l2a-validation - run the hard L2A scenarios and write docs/l2a-validation.md"

# Byte-compiled on both cores by compileall (26 s), not one file after another by pip (70 of the install's 106 s):
# the venv must ship compiled, where PYTHONDONTWRITEBYTECODE would otherwise make every process compile its imports.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -r requirements.txt
	$(PY) -m compileall -q -j 0 $(VENV)/lib >/dev/null || echo "compileall: some modules did not compile (pip ignores these too)"
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# The website's map: Leaflet, topojson-client and world-atlas from the npm registry, as locked in
# package-lock.json (never committed; publication copies the files it needs into the distribution bucket).
WEB_VENDOR := plugins/take5_ops/distribution/website/vendor
WEB_STAMP := $(WEB_VENDOR)/node_modules/.installed
$(WEB_STAMP): $(WEB_VENDOR)/package.json $(WEB_VENDOR)/package-lock.json
	@command -v npm >/dev/null || $(MAKE) system-deps
	cd $(WEB_VENDOR) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# The STAC API server's own venv (stac-fastapi-pgstac, pypgstac; stac-asset's CLI for users and tests): pypgstac 0.10
# needs cachetools<6.1, Airflow 8; stac-asset's aiobotocore another botocore than Airflow's.
STACAPI_VENV ?= .venv-stacapi
STACAPI_STAMP := $(STACAPI_VENV)/.installed
$(STACAPI_STAMP): requirements-stacapi.txt
	$(PYTHON) -m venv $(STACAPI_VENV)
	$(STACAPI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(STACAPI_VENV)/bin/python -m pip install --quiet --no-compile -r requirements-stacapi.txt
	$(STACAPI_VENV)/bin/python -m compileall -q -j 0 $(STACAPI_VENV)/lib >/dev/null || echo "compileall: some modules did not compile"
	touch $@

stacapi-venv: $(STACAPI_STAMP)


web-deps: $(WEB_STAMP)

venv: $(STAMP) $(WEB_STAMP)

# Debian tools used by the stack, the tests and benchmarks (PostgreSQL and PostGIS, Redis, GDAL, aria2c, the headless browser, npm,
# nftables: the cluster tier's S3 outage)
# (installed when missing; needs root or sudo).
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || missing="$$missing postgresql-15-postgis-3"; \
	command -v gdalwarp >/dev/null || missing="$$missing gdal-bin"; \
	command -v aria2c >/dev/null || missing="$$missing aria2"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v nft >/dev/null || missing="$$missing nftables"; \
	command -v chromium >/dev/null || missing="$$missing chromium chromium-driver"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi

run: venv stacapi-venv system-deps
	$(PY) scripts/stack.py run

# The production topology on this machine (docs/deployment.md); needs root for the network namespaces.
cluster: venv stacapi-venv system-deps
	$(PY) scripts/cluster.py

stop:
	@$(PY) scripts/stack.py stop

lint: venv
	$(VENV)/bin/ruff check plugins dags tests bench scripts
	PYTHONPATH=plugins $(VENV)/bin/lint-imports

# The stack tier (tests/stack) runs alone: it starts PostgreSQL and every Airflow component (make test-stack).
test: lint system-deps stacapi-venv
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --ignore=tests/stack --ignore=tests/cluster --ignore=tests/accuracy $(PYTEST_ARGS)

test-stack: venv system-deps stacapi-venv
	$(PY) -m pytest -s -v tests/stack $(PYTEST_ARGS)

# The L2A accuracy tier: every hard scenario and the site series, processed from scratch (CPU-bound, ~5 min).
test-accuracy: venv system-deps
	$(PY) -m pytest -n $(PYTEST_WORKERS) tests/accuracy $(PYTEST_ARGS)

test-cluster: venv system-deps stacapi-venv
	$(PY) -m pytest -s -v tests/cluster $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

FUZZ_EXAMPLES ?= 100000
fuzz: venv
	TAKE5_FUZZ=1 TAKE5_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/unit/test_fuzz_parsers.py \
	  -p no:cacheprovider --hypothesis-show-statistics $(PYTEST_ARGS)

bench: venv system-deps
	$(PY) bench/run.py --out BENCHMARKS.md

l2a-validation: venv system-deps
	$(PY) -m take5_ops.cli validate-l2a --out docs/l2a-validation.md --images docs/img

# Its own PostgreSQL and STAC API on free ports; generated Items (no processing); a load generator beside SQL.
bench-api: venv stacapi-venv system-deps
	$(PY) bench/bench_stac_api.py

bench-web: venv system-deps
	$(PY) bench/bench_web.py

# Starts its own embedded stack (private folder and ports), runs a few sites, reads the API and task logs.
bench-overhead: venv system-deps
	$(PY) bench/bench_task_overhead.py

# The full-scene L2A with the code at L2A_BASE and the working copy, same inputs, same run (issue 12: <= +10 %)
L2A_BASE ?= a35ca1d
bench-l2a-versions: venv system-deps
	$(PY) bench/bench_l2a_versions.py --base $(L2A_BASE)

# The cluster profile under a campaign: 150 sites, two weekly cycles of 300 px scenes, then one full-size week
# of 4 sites (hours on 2 shared cores; e.g. CAMPAIGN_ARGS="--sites 12 --full-size-sites 0" for a reduced run).
CAMPAIGN_ARGS ?= --sites 150 --weeks 2 --size 300 --full-size-sites 4
bench-campaign: venv system-deps
	$(PY) bench/bench_campaign.py --out BENCHMARKS.md $(CAMPAIGN_ARGS)

freeze: venv
	( echo "# Frozen from the verified environment (Python 3.11): apache-airflow 3.3.2 with providers amazon, smtp, standard, celery (celery 5.6.x: 5.7 breaks the provider); psycopg2-binary and asyncpg for the embedded stack's PostgreSQL, redis for the cluster's broker; argon2-cffi for the accounts server (accounts mode)."; \
	  echo "# Regenerate with: make freeze"; \
	  $(PY) -m pip freeze --exclude-editable | grep -v '^take5-ops' ) > requirements.txt

freeze-stacapi: stacapi-venv
	( sed -n '/^#/p' requirements-stacapi.txt; $(STACAPI_VENV)/bin/python -m pip freeze ) > requirements-stacapi.txt.new
	mv requirements-stacapi.txt.new requirements-stacapi.txt

clean:
	rm -rf $(VENV) var build *.egg-info $(WEB_VENDOR)/node_modules
