# The two commands of the README are `make run` and `make test`; everything else is a helper.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
QUICK  ?=

.PHONY: install install-test install-dev run test lint bench fuzz soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.stamp-install: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.stamp-test: pyproject.toml tests/oidc_provider/package-lock.json $(VENV)/.stamp-install
	$(BIN)/pip install -q -e '.[test]'
	# The OpenID provider the sign-in tests run (node-oidc-provider), from the npm registry.
	if command -v npm >/dev/null; then npm ci --prefix tests/oidc_provider --no-audit --no-fund -s; fi
	touch $@

$(VENV)/.stamp-dev: pyproject.toml $(VENV)/.stamp-install
	$(BIN)/pip install -q -e '.[dev,test]'
	touch $@

install: $(VENV)/.stamp-install

install-test: $(VENV)/.stamp-test

install-dev: $(VENV)/.stamp-dev

run: install
	./scripts/dev-run

test: install-test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install-test
	$(BIN)/python -m bench $(if $(QUICK),--quick,)

# The parsers attackers reach (scopes, names, digests, manifests) under hypothesis for a while;
# `make test` runs a few seconds of the same targets.
FUZZ_SECONDS ?= 300
fuzz: install-test
	$(BIN)/python -m tests.fuzz --seconds $(FUZZ_SECONDS)

# Ten minutes of mixed load on both services: prints the error count and both RSS figures.
SOAK_MINUTES ?= 10
soak: install-test
	$(BIN)/python -m bench.soak --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
