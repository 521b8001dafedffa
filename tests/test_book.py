"""The book as ``make test`` renders it.

``make test`` first runs nbval over the chapters and the executed book pages (``pytest --nbval-lax``): nbval
executes each notebook once, at the fast preset, compares the outputs of the cells marked
``# NBVAL_CHECK_OUTPUT`` with the committed ones, and (``conftest.py`` at the repository root) stores what it
executed in the book's execution cache. ``jupyter-book build`` then renders from that cache, and these tests,
pointed at the build through ``HCALTL_BOOK`` (the ``_build`` folder), check:

1. every page exists, with the launch buttons;
2. the book rendered nbval's execution (nothing ran twice);
3. every figure a chapter draws reached its page as an image (no ``<Figure size …>`` text in its place);
4. each chapter page renders in headless Chromium with every image loaded, no error output and typeset math.

``make book`` alone builds the same pages, executing what its cache lacks. Without a built book these tests
skip with a message, unless ``HCALTL_REQUIRE_BOOK=1`` (set by ``make test``), where a missing build is an error.
"""

from __future__ import annotations

import html
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PAGES = sorted((ROOT / "book").glob("*.ipynb"))  # the book pages that compute
BOOK = pathlib.Path(os.environ.get("HCALTL_BOOK", ROOT / "_build")).resolve()
HTML, CACHE = BOOK / "html", BOOK / ".jupyter_cache"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
#: a cell whose code draws: a new figure or axes, or a plotting helper of the package
DRAWS = re.compile(r"plt\.(subplots|figure)\(|plotting\.(plot_\w+|\w+_figure)\(")

PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.querySelectorAll(".cell_output img")];
  const b = document.body;
  b.setAttribute("data-probe-imgs", imgs.length);
  b.setAttribute("data-probe-imgs-ok", imgs.filter(i => i.complete && i.naturalWidth > 0).length);
  b.setAttribute("data-probe-errors", document.querySelectorAll(".cell_output .traceback, .cell_output .error").length);
  b.setAttribute("data-probe-stderr", document.querySelectorAll(".cell_output .stderr").length);
  b.setAttribute("data-probe-math", document.querySelectorAll("mjx-container").length);
});
</script>"""


@pytest.fixture(scope="module")
def built() -> pathlib.Path:
    """The HTML of the book as ``make book`` built it."""
    if not (HTML / "index.html").exists():
        message = f"no built book at {BOOK}: run `make book` first (make test does)"
        if os.environ.get("HCALTL_REQUIRE_BOOK") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return HTML


def _code_cells(nb_path: pathlib.Path) -> list[dict]:
    return [c for c in json.loads(nb_path.read_text())["cells"] if c["cell_type"] == "code"]


def _executed_cells(nb_path: pathlib.Path) -> list[dict]:
    """The code cells of a chapter as the book build executed them: its execution cache's record for this
    chapter's code, merged into the chapter (what the page renders)."""
    import nbformat
    from jupyter_cache import get_cache

    nb = nbformat.read(nb_path, as_version=4)
    try:
        _, merged = get_cache(CACHE).merge_match_into_notebook(nb)
    except KeyError:
        pytest.fail(f"the book build at {BOOK} holds no execution of the current {nb_path.name} (rebuild the book)")
    return [c for c in merged.cells if c.cell_type == "code"]


def _images(cell: dict) -> int:
    return sum(
        "image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {}) for o in cell.get("outputs", [])
    )


def test_chapters_are_committed_executed():
    for nb_path in CHAPTERS:
        code = [c for c in _code_cells(nb_path) if "".join(c["source"]).strip()]
        assert all(c.get("execution_count") for c in code), f"{nb_path.name} has unexecuted cells"
        errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{nb_path.name} stores error outputs"
        assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in code), (
            f"{nb_path.name}: no parameters cell"
        )


def test_book_pages_exist(built):
    api = [f"book/api/{p.stem}" for p in (ROOT / "book" / "api").glob("*.md")]
    assert api, "no API reference pages"
    for page in ("index", "book/intro", "book/notation", "book/choices", "book/references", "book/status", *api):
        assert (built / f"{page}.html").exists(), page
    for nb_path in CHAPTERS:
        html = (built / "notebooks" / f"{nb_path.stem}.html").read_text()
        assert "mybinder.org" in html and "colab.research.google.com" in html  # launch buttons


@pytest.mark.parametrize("nb_path", [*CHAPTERS, *PAGES], ids=lambda p: p.stem)
def test_the_book_renders_what_nbval_executed(built, nb_path):
    """The execution cache's record of each notebook is nbval's (``conftest.py``): had the book build executed a
    notebook itself, its own record would stand there instead."""
    import nbformat
    from jupyter_cache import get_cache

    if os.environ.get("HCALTL_REQUIRE_BOOK") != "1":
        pytest.skip("a book built by `make book` alone executes its own notebooks")
    record = get_cache(CACHE).match_cache_notebook(nbformat.read(nb_path, as_version=4))
    assert record.data.get("executed_by") == "nbval", f"{nb_path.name} was executed by the book build, not nbval"


@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_a_chapter_draws_is_an_image_on_its_page(built, nb_path):
    cells = _executed_cells(nb_path)
    as_text = [
        i
        for i, c in enumerate(cells)
        for o in c.get("outputs", [])
        if "<Figure size" in "".join(o.get("data", {}).get("text/plain", "")) and not _images({"outputs": [o]})
    ]
    assert not as_text, (
        f"{nb_path.name}: code cells {as_text} show a figure as text, not as an image "
        "(a non-interactive MPLBACKEND in the kernel?)"
    )
    drawing = [i for i, c in enumerate(cells) if DRAWS.search("".join(c["source"]))]
    blank = [i for i in drawing if _images(cells[i]) == 0]
    assert not blank, f"{nb_path.name}: code cells {blank} draw a figure but have no image output"
    images = sum(_images(c) for c in cells)
    assert images >= len(drawing) > 0
    html = (built / "notebooks" / f"{nb_path.stem}.html").read_text()
    sources = re.findall(r'<img[^>]+src="([^"]+)"', html)
    on_page = [s for s in sources if "_images/" in s]
    assert len(on_page) >= images, f"{nb_path.name}: {images} figures executed, {len(on_page)} images on the page"
    missing = [s for s in on_page if not (built / "notebooks" / s).resolve().exists()]
    assert not missing, f"{nb_path.name}: image files missing from the build: {missing[:3]}"


@pytest.mark.parametrize("chapter", [3, 4, 5])
def test_each_paper_scale_table_sits_under_its_title(built, chapter):
    """The paper-scale section's table titles are displays, not prints: the book merges a cell's printed streams
    (``nb_merge_streams``), which would gather every title above the section's first table. The last title is the
    claims', so the table right under it lists the chapter's claims."""
    from hcaltl.experiments.paper_scale import CLAIMS

    page = next((built / "notebooks").glob(f"0{chapter}_*.html")).read_text()
    text = html.unescape(page).replace("\u2019", "'")
    title = text.index("the papers' claims at paper scale:")
    table = text[text.index("<table", title) : text.index("</table>", title)]
    missing = [c.text for c in CLAIMS if c.chapter == chapter and c.text not in table]
    assert not missing, f"chapter {chapter}: the table under the claims' title lacks {missing}"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make test installs it when run as root)")
@pytest.mark.parametrize("nb_path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_renders_in_chromium(built, nb_path):
    page = built / "notebooks" / f"{nb_path.stem}.html"
    probe = page.with_name(f"_probe_{page.name}")  # beside the page, so its relative links resolve
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    try:
        with tempfile.TemporaryDirectory() as profile:
            proc = subprocess.run(
                [
                    CHROMIUM,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    f"--user-data-dir={profile}",
                    "--virtual-time-budget=5000",
                    "--window-size=1280,900",
                    "--dump-dom",
                    probe.as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=180,
            )
    finally:
        probe.unlink()
    found = dict(re.findall(r'data-probe-([a-z-]+)="(\d+)"', proc.stdout))
    assert found, f"the page did not finish loading in Chromium:\n{proc.stderr[-2000:]}"
    expected = sum(_images(c) for c in _executed_cells(nb_path))
    assert int(found["imgs"]) >= expected > 0
    assert int(found["imgs-ok"]) == int(found["imgs"]), f"{found['imgs-ok']} of {found['imgs']} figures loaded"
    assert found["errors"] == "0" and found["stderr"] == "0", found
    assert int(found["math"]) > 0, "math was not typeset (offline MathJax missing?)"
