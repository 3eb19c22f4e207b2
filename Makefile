# Set-up and everyday commands. Everything installs into .venv from this
# project's own files (torch is pinned first: an unpinned torch pulls a CUDA build).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench bundle clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## main job: classify reviews with the bundled IMDB model (offline)
demo: install
	$(VENV)/bin/rnnlab predict "One of the best films I have seen in years: moving, funny and beautifully shot." \
		"A dull, predictable mess. I want those two hours back."

## the test suite (what CI runs)
test: install
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts

## the IMDB benchmark (needs ../shared/data; about 15 minutes on 2 cores)
bench: install
	$(PY) benchmarks/imdb_sentiment.py

## retrain the bundled model (see src/rnnlab/bundled/imdb-sentiment/MODEL_CARD.md)
bundle: install
	$(PY) scripts/build_bundled_model.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
