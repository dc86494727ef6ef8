# Quick start: `make run` (the main job) and `make test` (everything; what CI runs); `make first-run`
# (one run in seconds) and `make check` (under a minute: what to run while editing).  All set up
# .venv first when needed.
PYTHON_FOR_VENV ?= $(shell for p in python3.12 python3.13 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo $$p; break; fi; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run lint check test browser-deps tutorial compare validate params clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@if [ -z "$(PYTHON_FOR_VENV)" ]; then echo "error: Python 3.12 or newer is needed (Mesa 3.5); none found" >&2; exit 2; fi
	@test -x $(PY) || $(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# The main job: every countermeasure scenario, 30 replications each, the four countermeasures
# compared at equal cost (results/countermeasures/equal_cost/), and the report for papers
# (results/countermeasures/report/).  WORKERS=N sets the local processes (default: every CPU);
# re-running resumes an interrupted batch, and starts over when the code or the experiment changed.
run: setup
	$(PY) -m simulation batch scenarios/experiments/countermeasures.yaml --out results/countermeasures \
		--replace-stale $(if $(WORKERS),--workers $(WORKERS)) $(if $(RESTART),--restart)
	$(PY) -m simulation equal-cost scenarios/experiments/equal_cost.yaml --out results/countermeasures/equal_cost \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(RESTART),--restart)
	$(PY) -m simulation report results/countermeasures

# A first run in a few seconds: the baseline once (seed 1, five years), its headline figures
# printed and its timeseries written under results/runs/.
.PHONY: first-run
first-run: setup
	$(PY) -m simulation run scenarios/baseline.yaml --seed 1

# `make lint`: ruff (pyproject.toml [tool.ruff]: pyflakes, pycodestyle, lines of at most 120
# characters) and the import layering (pyproject.toml [tool.importlinter]); `make check` and
# `make test` run it first.
lint: setup
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/lint-imports --no-logo

# Feedback in about a minute on 2 CPUs, while editing: the import layering (and whatever else
# `lint` checks), then the tests that take under ~5 s each, spread over the CPUs (one module's tests
# on one worker, so that a module's shared batch runs once).  Left to `make test`: the tests marked
# slow (statistics over many seeds, whole studies) and e2e (the command line in a new process: exit
# codes, signals, the console script, Dask).
check: lint
	$(PY) -m pytest -q -m "not slow and not e2e" -n auto --dist loadscope

test: lint browser-deps
	$(PY) -m pytest -q

# What the browser test needs besides Python packages: Debian's chromium (the test drives
# /usr/bin/chromium) and npm (fetches the app's front-end, unless viz-assets already did).  As root with apt-get they are installed;
# otherwise one line says what to install.  `.ci/run` relies on this (it only calls `make test`).
CHROMIUM := /usr/bin/chromium
browser-deps:
	@missing() { [ -x $(CHROMIUM) ] || printf 'chromium '; \
		[ "$$(cat $(VIZ_ASSETS)/.packages 2>/dev/null)" = "$(VIZ_PACKAGES)" ] || command -v npm >/dev/null 2>&1 || printf 'npm '; }; \
	need=$$(missing); \
	if [ -n "$$need" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing $${need}for the browser test (apt-get)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; } || true; \
		need=$$(missing); \
	fi; \
	if [ -n "$$need" ]; then \
		echo "error: the browser test needs: $${need% }. Install with: sudo apt-get install $${need% } (Debian; the test drives $(CHROMIUM)), then run make test again" >&2; \
		exit 2; \
	fi

# The analyst's tutorial: docs/tutorial.ipynb is rendered from its source docs/tutorial.py (jupytext),
# without outputs (they are not committed); a cell's id is a hash of its source, so a diff shows only
# the cells that changed.  `make test` executes the notebook at small sizes (tests/test_tutorial.py).
tutorial: setup
	$(PY) -c 'import hashlib, jupytext; book = jupytext.read("docs/tutorial.py"); \
		[cell.update(id=hashlib.sha1(cell.source.encode()).hexdigest()[:12]) for cell in book.cells]; \
		jupytext.write(book, "docs/tutorial.ipynb")'

compare: setup
	$(PY) -m simulation compare

validate: setup
	$(PY) -m simulation validate scenarios/*.yaml

params: setup
	$(PY) -m simulation params

# Speed and scale (benchmarks/): 500 to 1,000,000 agents, the plain-Mesa reference, batch
# throughput; prints the report, writes benchmarks/results.json (a few minutes) and renders the
# README's benchmark figures from it.
.PHONY: bench
bench: setup
	$(PY) -m benchmarks
	$(PY) -m benchmarks.readme

# The README's benchmark figures, rendered from benchmarks/results.json (tests/test_readme_bench.py
# checks that they match).
.PHONY: readme-bench
readme-bench: setup
	$(PY) -m benchmarks.readme

# The browser app (app.py, with browser/), served on 127.0.0.1 only.  Offline: Solara's front-end comes from the
# npm registry at setup time into $(VIZ_ASSETS)/, laid out like the /_solara/cdn/ URLs the page
# requests (the packages and versions that solara 1.64 with ipywidgets 8 asks for), less source
# maps, unminified bundles and ipywidgets-7 builds.
PORT ?= 8765
VIZ_ASSETS := viz_assets
VIZ_PACKAGES := @widgetti/solara-vuetify-app@10.1.1 @widgetti/vue-grid-layout@2.3.13-alpha.2 requirejs@2.3.6 font-awesome@4.5.0

.PHONY: viz viz-assets

viz-assets:
	@if [ "$$(cat $(VIZ_ASSETS)/.packages 2>/dev/null)" != "$(VIZ_PACKAGES)" ]; then \
		command -v npm >/dev/null || { echo "error: npm is needed to fetch the browser app's front-end (apt-get install npm)" >&2; exit 2; }; \
		rm -rf $(VIZ_ASSETS) && mkdir -p $(VIZ_ASSETS) && cd $(VIZ_ASSETS) && \
		for pkg in $(VIZ_PACKAGES); do \
			mkdir -p "$$pkg" && tar -xzf "$$(npm pack --silent "$$pkg")" --strip-components=1 -C "$$pkg" || exit 2; \
		done && rm -f *.tgz && \
		find . \( -name '*.map' -o -name '*app7*' -o -name 'main7.css' -o -name 'solara-vuetify-app8.js' \) -delete && \
		echo "$(VIZ_PACKAGES)" > .packages && echo "viz assets: $$(du -sh . | cut -f1) in $(VIZ_ASSETS)/"; \
	fi

viz: setup viz-assets
	@echo "The browser app: http://127.0.0.1:$(PORT)  (Ctrl-C stops it)"
	SOLARA_TELEMETRY_MIXPANEL_ENABLE=False SOLARA_ASSETS_PROXY_CACHE_DIR=$(CURDIR)/$(VIZ_ASSETS) \
		$(VENV)/bin/solara run app.py --host 127.0.0.1 --port $(PORT) --production --no-open

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .import_linter_cache $(VIZ_ASSETS) build *.egg-info
