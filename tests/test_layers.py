"""The house layout: the library never imports the book's experiments wing, and nothing imports in a cycle."""

import ast
import graphlib
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "hcaltl"
#: the command line is where the two wings meet (``hcaltl sweep`` runs the book's transfer chapter)
ENTRY_POINTS = {"hcaltl.cli", "hcaltl.__main__"}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: pathlib.Path) -> set[str]:
    """Absolute names of the hcaltl modules that a file imports (relative imports resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == "hcaltl" or m.startswith("hcaltl.")}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    """Module → the hcaltl modules it imports."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {t for t in _imports(path) if t in files and t != name} for name, path in files.items()}


def test_the_library_never_imports_the_experiments_wing(graph):
    library = [n for n in graph if not n.startswith("hcaltl.experiments") and n not in ENTRY_POINTS]
    upward = [(a, b) for a in library for b in graph[a] if b.startswith("hcaltl.experiments")]
    assert not upward, f"library modules import the experiments wing: {upward}"
    assert "hcaltl.experiments.chapter" in graph and "hcaltl.models.graphstad" in graph


def test_no_import_cycles(graph):
    # a package's __init__ re-exports its own modules, and a module of a package imports its siblings through
    # the package: those edges (between a package and what it contains) are not cycles of the design
    g = {a: {b for b in deps if not (b.startswith(a + ".") or a.startswith(b + "."))} for a, deps in graph.items()}
    graphlib.TopologicalSorter(g).prepare()  # raises CycleError naming the cycle


def _library_modules() -> set[str]:
    """The library's top-level modules and packages (``hcaltl/X.py`` and ``hcaltl/X/``), the experiments aside."""
    names = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")}
    names |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists() and p.name != "experiments"}
    return names


def _readme_row(first_cell: str) -> str:
    readme = (PACKAGE.parent / "README.md").read_text()
    return next(line for line in readme.splitlines() if line.startswith(f"| {first_cell} |"))


def test_the_readme_layout_table_and_all_name_every_library_module():
    import hcaltl

    row = _readme_row("`hcaltl/`")
    missing = [m for m in sorted(_library_modules()) if f"`{m}`" not in row and f"`{m}/`" not in row]
    assert not missing, f"README's layout table leaves out {missing}"
    assert set(hcaltl.__all__) - {"__version__"} == _library_modules()


def test_the_readme_layout_table_and_the_wings_map_name_every_experiment_module():
    import hcaltl.experiments

    experiments = PACKAGE / "experiments"
    names = {p.stem for p in experiments.glob("*.py") if not p.stem.startswith("_")}
    names |= {p.name for p in experiments.iterdir() if (p / "__init__.py").exists()}
    row = _readme_row("`hcaltl/experiments/`")
    assert not [m for m in sorted(names) if f"`{m}`" not in row], row
    assert not [m for m in sorted(names) if f"hcaltl.experiments.{m}`" not in hcaltl.experiments.__doc__]


def test_the_package_states_ranges_not_exact_pins():
    """`pip install hcaltl` must keep a user's torch (Colab's, a cluster's): exact pins live in constraints.txt."""
    import tomllib

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    requirements = [
        *project["dependencies"],
        *(r for extra in project["optional-dependencies"].values() for r in extra),
    ]
    pinned = [r for r in requirements if "==" in r or "===" in r]
    assert not pinned, f"exact pins in pyproject.toml: {pinned}"
    assert any(r.startswith("torch>=") for r in project["dependencies"])
    constraints = (PACKAGE.parent / "constraints.txt").read_text().splitlines()
    assert "torch==2.13.0" in constraints
    for name in ("nbval", "seaborn", "ruff"):
        assert any(line.startswith(f"{name}==") for line in constraints), name
