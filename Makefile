# The two commands: `make demo` and `make test`. Everything they need is installed from the
# pinned lock file into .venv; nothing is taken from the machine but Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format lock browser pdf schemathesis messages clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m odr.i18n compile
	touch $(STAMP)

demo: install
	$(BIN)/python -m odr.demo

test: install browser pdf schemathesis
	$(BIN)/python -m odr.i18n check
	$(BIN)/python -m odr.i18n compile
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	ODR_ENV=test $(BIN)/python -m pytest $(PYTEST_ARGS)

# Browser tests drive Debian's Chromium; Playwright's own browser download is not used.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium fonts-noto-cjk >/dev/null; }

# MoU reports: WeasyPrint lays text out with Pango (Debian's libraries; Korean needs a CJK font);
# the tests read the PDFs back with poppler's pdftotext and pdftoppm.
pdf:
	@{ command -v pdftoppm >/dev/null 2>&1 && ldconfig -p | grep -q libpangoft2-1.0 \
		&& fc-list 2>/dev/null | grep -q "Noto Sans CJK"; } || { \
		echo "Installing Pango and poppler for the PDF reports"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			libpango-1.0-0 libpangoft2-1.0-0 poppler-utils fonts-noto-cjk >/dev/null; }

# schemathesis checks the API against its schema (tests/api/test_schema_conformance.py). It has a
# virtualenv of its own: it pins a jsonschema-rs older than the node's.
SCHEMATHESIS_VENV := .venv-schemathesis
SCHEMATHESIS_STAMP := $(SCHEMATHESIS_VENV)/.installed

schemathesis: $(SCHEMATHESIS_STAMP)

$(SCHEMATHESIS_STAMP): tools/schemathesis.lock
	$(PYTHON) -m venv $(SCHEMATHESIS_VENV)
	$(SCHEMATHESIS_VENV)/bin/pip install --quiet --require-hashes --no-deps -r tools/schemathesis.lock
	touch $(SCHEMATHESIS_STAMP)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: install
	$(BIN)/python -m odr.i18n extract

# Re-pin after changing pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock
	uv pip compile tools/schemathesis.in --generate-hashes --python-version 3.11 -o tools/schemathesis.lock

clean:
	rm -rf var test-artifacts .schemathesis
