# Two commands do all set-up on a fresh machine (see README):
#   make book   — create .venv, install pinned dependencies, execute the chapters, build HTML into _build/html
#   make test   — same set-up, then unit tests, notebook checks (nbval), a small papermill run of every
#                 chapter, and a render check of the built book in headless Chromium
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg

.PHONY: book test setup clean benchmark chromium

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt -e . -c constraints.txt
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (hcaltl)" >/dev/null
	touch $@

setup: $(VENV)/.installed

book: $(VENV)/.installed
	$(VENV)/bin/jupyter-book build -W -n --keep-going .
	@echo "Book written to _build/html/index.html"

# Headless Chromium checks the rendered pages; installed here (Debian package) when missing and root.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "WARNING: chromium not installed and not root: the page-render test will be skipped"; fi; }

test: $(VENV)/.installed chromium
	$(VENV)/bin/pytest tests notebooks --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  --nbval-cell-timeout=1200 $(PYTEST_ARGS)

benchmark: $(VENV)/.installed
	$(PY) benchmarks/bench_simulate.py
	$(PY) benchmarks/bench_graphstad.py

clean:
	rm -rf _build
