# Two commands do all set-up on a fresh machine (see README):
#   make book   — create .venv, install pinned dependencies, execute the chapters, build HTML into _build/html
#   make test   — same set-up; lint and format check (ruff); nbval executes every chapter and executed book page
#                 once at the fast preset (checking the outputs marked NBVAL_CHECK_OUTPUT) beside the unit tests,
#                 and stores what it executed in the book's execution cache; the book is then built from that
#                 cache (nothing runs twice) and checked (every figure on its page, a render in headless Chromium)
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# The tests run on one pytest-xdist worker per core, a test file per worker at a time (files share their fixtures).
PYTEST_WORKERS ?= 2
export PYTHONHASHSEED := 0
# MPLBACKEND is deliberately not set: the kernels that execute the chapters must keep Jupyter's inline backend,
# or figures reach the book as '<Figure size ...>' text instead of images.

.PHONY: book test lint outputs setup clean benchmark chromium

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

# Notebooks executed by nbval (the chapters and the book pages that compute); its options, once.
NOTEBOOKS := notebooks book/running_at_scale.ipynb book/status.ipynb
NBVAL := --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 1800

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# 1. ruff; 2. nbval over the notebooks beside the unit tests (pytest-xdist, a file per worker at a time), storing
# each executed notebook in _build/.jupyter_cache (conftest.py); 3. the book, rendered from that cache;
# 4. the checks of the rendered book. The browser is installed while 2 runs (apt waits on the network, tests on
# the CPU). Progress bars are switched off in the executed outputs (TQDM_DISABLE): a static page cannot move them.
test: $(VENV)/.installed lint
	@$(MAKE) --no-print-directory chromium > .chromium.log 2>&1 & browser=$$!; \
	TQDM_DISABLE=1 $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile $(NBVAL) $(NOTEBOOKS) tests \
	  --ignore=tests/test_book.py $(PYTEST_ARGS); tested=$$?; wait $$browser; cat .chromium.log; rm -f .chromium.log; \
	[ $$tested -eq 0 ] || exit $$tested
	$(VENV)/bin/jupyter-book build -W -n --keep-going .
	HCALTL_BOOK=_build HCALTL_REQUIRE_BOOK=1 $(VENV)/bin/pytest tests/test_book.py $(PYTEST_ARGS)

# The executed outputs of the last `make test` (or `make book`) written into the committed notebooks.
outputs: $(VENV)/.installed
	$(PY) tests/merge_executed.py

benchmark: $(VENV)/.installed
	$(PY) benchmarks/bench_simulate.py
	$(PY) benchmarks/bench_graphstad.py
	$(PY) benchmarks/bench_online.py
	$(PY) benchmarks/bench_book.py

clean:
	rm -rf _build
