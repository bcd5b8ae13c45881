# The two commands of the README: `make demo` and `make test`. Both make .venv themselves.
# `make demo PORT=5100`: the demo on another port (its portals take the five ports after it).
PYTHON ?= python3
# Not ?=: a PORT in the environment (set for some other server) is not the demo's.
PORT = 5000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install bench bench-versus bench-bruteforce lint clean up

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/idp demo --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (rules chosen in pyproject.toml), mypy (strict on the modules listed there), import-linter (the layers).
lint: $(STAMP)
	$(BIN)/ruff check idp clients tests bench docs migrations deploy setup.py
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/run.py

# The production shape in containers (compose.yaml): needs a Docker engine with compose.
up:
	$(PYTHON) deploy/make_secrets.py deploy/secrets
	docker compose up --build --detach
	@echo "idp: https://localhost:8443/.well-known/openid-configuration  mail: http://localhost:8025"

bench-versus: $(STAMP)
	$(BIN)/python bench/versus.py

# Brute force against `idp serve` with its real limits: wipes BENCH_POSTGRES_URL and flushes BENCH_REDIS_URL.
bench-bruteforce: $(STAMP)
	$(BIN)/python bench/bruteforce.py

clean:
	rm -rf $(VENV) instance .pytest_cache
