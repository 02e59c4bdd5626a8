# The two quick-start commands are `make demo` and `make test`; everything else is their parts.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
SERVICES ?= kafka opensearch elasticsearch postgresql

.PHONY: install install-browser demo test test-unit test-integration services-up services-down lint bench

install:  ## the Python package with its dev tools (editable; compiles the rulebook engine, see rules/native.py)
	$(PIP) install -q -e '.[dev]'

install-browser:  ## Debian's chromium (JavaScript pages, case PDFs), Noto CJK fonts and poppler-utils (report PDF checks) (Playwright cannot download a browser here)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { (apt-get update -qq || sudo apt-get update -qq) && \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium || \
	     sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium); }
	@fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || \
	  { (apt-get update -qq || sudo apt-get update -qq) && \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk || \
	     sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk); }
	@command -v pdftotext >/dev/null 2>&1 || \
	  { (apt-get update -qq || sudo apt-get update -qq) && \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils || \
	     sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils); }

demo: install install-browser  ## install, then crawl the demo marketplace end to end
	$(PYTHON) -m app demo

services-up:  ## real Kafka (KRaft), OpenSearch and a minimal Elasticsearch on 127.0.0.1
	bash services/up.sh $(SERVICES)

services-down:
	bash services/down.sh

lint:
	ruff check .
	ruff format --check .

test-unit: install
	$(PYTHON) -m pytest -m "not integration" -q

test: install install-browser services-up  ## everything: lint, unit and integration tests on real servers
	ruff check .
	$(PYTHON) -m pytest -ra -q; rc=$$?; \
	  [ -n "$$SWEEP_KEEP_SERVICES" ] || bash services/down.sh; exit $$rc

bench: install install-browser services-up
	set -a; . ./.services/env; set +a; for b in benchmarks/bench_*.py; do $(PYTHON) $$b || exit 1; done
