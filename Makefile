# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv if it is missing and installs the three distributions (editable) with test extras.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck docs unit bench reliability browser clean

$(STAMP): pyproject.toml plugins/aftersales-woocommerce/pyproject.toml plugins/aftersales-shopify/pyproject.toml examples/plugins/aftersales-sms-example/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]' -e plugins/aftersales-woocommerce -e plugins/aftersales-shopify -e examples/plugins/aftersales-sms-example
	touch $(STAMP)

# Debian's Chromium for the browser tests (root on these machines; skipped quietly where apt is absent).
browser:
	@command -v chromium >/dev/null 2>&1 || ( command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1) \
	  || echo "chromium could not be installed: browser tests will skip" )

demo: $(STAMP)
	$(BIN)/aftersales demo

lint: $(STAMP)
	$(BIN)/ruff check src tests plugins benchmarks examples
	$(BIN)/ruff format --check src plugins/aftersales-woocommerce/src plugins/aftersales-shopify/src

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/python docs/gen_reference.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

unit: $(STAMP)
	$(BIN)/pytest -q -x tests/unit

test: $(STAMP) browser lint typecheck docs
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

reliability: $(STAMP)
	AFTERSALES_RELIABILITY_SCALE=full $(BIN)/pytest -q -m reliability tests/reliability

clean:
	rm -rf $(VENV) site .mypy_cache .ruff_cache .pytest_cache
