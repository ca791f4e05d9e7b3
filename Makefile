# beamr — every target installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint demo bench bench-cluster fixtures clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	touch $(STAMP)

install: $(STAMP)

## the whole suite (lint included), under asyncio and trio; the tests that start a
## Ray cluster (marked private_network) then run in a private network namespace with
## loopback only, so that nothing listens anywhere else; without one they skip
test: install lint
	$(BIN)/python -m pytest -m "not private_network"
	$(BIN)/python -m tests.private_network $(BIN)/python -m pytest -m private_network

lint: install
	$(BIN)/ruff check beamr workers tests examples benchmarks
	$(BIN)/mypy

## the main job: several instances, memory io, imports and calls
demo: install
	$(BIN)/python -m beamr.demo

bench: install
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks

## beamr.cluster on a two-node Ray cluster on this machine (private network namespace)
bench-cluster: install
	$(BIN)/python -m tests.private_network $(BIN)/python -m benchmarks.cluster

## rebuild wasm_fixtures/*.wasm (installs clang, lld, wasi-libc if missing)
fixtures: install
	bash wasm_fixtures/build.sh $(BIN)/python

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
