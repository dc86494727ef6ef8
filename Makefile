# Quick start: `make run` (the main job) and `make test`.  Both set up .venv first when needed.
PYTHON_FOR_VENV ?= $(shell for p in python3.12 python3.13 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo $$p; break; fi; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test test-all compare validate params clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@if [ -z "$(PYTHON_FOR_VENV)" ]; then echo "error: Python 3.12 or newer is needed (Mesa 3.5); none found" >&2; exit 2; fi
	@test -x $(PY) || $(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	@touch $(STAMP)

# The main job: every countermeasure scenario, 30 replications each, and the report for papers
# (results/countermeasures/report/).  WORKERS=N sets the local processes (default: every CPU);
# re-running resumes an interrupted batch; RESTART=1 discards results of older code or experiment.
run: setup
	$(PY) -m simulation batch scenarios/experiments/countermeasures.yaml --out results/countermeasures \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(RESTART),--restart)
	$(PY) -m simulation report results/countermeasures

test: setup
	$(PY) -m pytest -q

compare: setup
	$(PY) -m simulation compare

validate: setup
	$(PY) -m simulation validate scenarios/*.yaml

params: setup
	$(PY) -m simulation params

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
