# Two commands do all set-up on a fresh machine (see README):
#   make book   — create .venv, install pinned dependencies, execute the chapters, build HTML into _build/html
#   make test   — same set-up and the same book build (each chapter executed once, at the fast preset), then the
#                 unit tests, checks of that build (every figure on its page, the chapters' checked outputs,
#                 a render in headless Chromium) and a small papermill run of every chapter's parameters
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# The tests run on one pytest-xdist worker per core, a test file per worker at a time (files share their fixtures).
PYTEST_WORKERS ?= 2
export PYTHONHASHSEED := 0
# MPLBACKEND is deliberately not set: the kernels that execute the chapters must keep Jupyter's inline backend,
# or figures reach the book as '<Figure size ...>' text instead of images.

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

# The tests read the book exactly as `make book` built it (HCALTL_BOOK); missing, it is an error, not a skip.
# The browser is installed while the book builds (apt waits on the network and the disk, the build on the CPU).
test: $(VENV)/.installed
	@$(MAKE) --no-print-directory chromium > .chromium.log 2>&1 & browser=$$!; \
	$(MAKE) --no-print-directory book; built=$$?; wait $$browser; cat .chromium.log; rm -f .chromium.log; \
	[ $$built -eq 0 ] || exit $$built; \
	HCALTL_BOOK=_build HCALTL_REQUIRE_BOOK=1 $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile tests $(PYTEST_ARGS)

benchmark: $(VENV)/.installed
	$(PY) benchmarks/bench_simulate.py
	$(PY) benchmarks/bench_graphstad.py
	$(PY) benchmarks/bench_online.py
	$(PY) benchmarks/bench_book.py

clean:
	rm -rf _build
