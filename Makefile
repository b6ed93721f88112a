# The two commands of the README: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN     = $(VENV)/bin
# Every distribution of this repository, core first; the demo and the tests install all.
DISTS   = . plugins/orders plugins/approvals plugins/inventory plugins/crm plugins/logistics plugins/reporting plugins/purchasing examples/embargo
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: install demo test test-serial test-sqlite test-postgresql lint typecheck clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

$(VENV)/.installed: $(BIN)/python requirements-dev.txt setup.cfg $(wildcard plugins/*/pyproject.toml)
	$(BIN)/pip install --quiet $(foreach d,$(DISTS),-e $(d)) -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/erpkit demo

# SQLite always; PostgreSQL when a server answers at $(PG_URL) (CI insists on it:
# ERPKIT_REQUIRE_POSTGRESQL=1). The two runs go at the same time, one pytest process each:
# each has its own databases (files in its own temporary folder; erpkit_test_<pid>_*
# on the server), job queues and screenshot folder (test-artifacts/<backend>/), so they
# share nothing they write. Each run's output goes to test-artifacts/<backend>.log,
# printed whole when both are done; the exit code is the worse of the two.
# `make test-serial` runs them one after the other, output as it comes.
RUN_LOGS = test-artifacts
test: install
	@mkdir -p $(RUN_LOGS)
	@echo "SQLite and PostgreSQL runs in parallel; logs: $(RUN_LOGS)/sqlite.log, $(RUN_LOGS)/postgresql.log"
	@$(MAKE) --no-print-directory test-sqlite >$(RUN_LOGS)/sqlite.log 2>&1 & lite=$$!; \
	$(MAKE) --no-print-directory test-postgresql >$(RUN_LOGS)/postgresql.log 2>&1; pg=$$?; \
	wait $$lite; lite=$$?; \
	for run in sqlite postgresql; do \
		echo "======================== $$run ========================"; \
		cat $(RUN_LOGS)/$$run.log; \
	done; \
	echo "SQLite run: exit $$lite; PostgreSQL run: exit $$pg"; \
	[ $$lite -eq 0 ] && [ $$pg -eq 0 ]

test-serial: test-sqlite test-postgresql

test-sqlite: install
	ERPKIT_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgresql: install
	@if $(BIN)/python -c "import sqlalchemy as sa; sa.create_engine('$(PG_URL)').connect().close()" 2>/dev/null; then \
		ERPKIT_TEST_DB=postgresql ERPKIT_TEST_PG_URL=$(PG_URL) $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ -n "$$ERPKIT_REQUIRE_POSTGRESQL" ]; then \
		echo "PostgreSQL does not answer at $(PG_URL)"; exit 1; \
	else \
		echo "PostgreSQL does not answer at $(PG_URL): skipping the PostgreSQL run"; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

typecheck: install
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info plugins/*/*.egg-info erpkit.db* erpkit.jobs.db*

# The documentation site, into build/site/. Strict: a broken link or anchor, or a page
# missing from the navigation in mkdocs.yml, fails the build.
.PHONY: docs
docs: install
	$(BIN)/mkdocs build --strict
