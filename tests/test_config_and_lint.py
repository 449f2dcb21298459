"""Quick-mode switch, and ruff over the whole repository."""

import subprocess
import sys
from pathlib import Path

import pytest

from augkit import config

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("ON", True),
                                             ("0", False), ("", False), ("no", False)])
def test_quick_flag(monkeypatch, value, expected):
    monkeypatch.setenv("AUGKIT_QUICK", value)
    assert config.env_quick() is expected
    assert config.preset(full=30, quick_value=1, quick=expected) == (1 if expected else 30)


@pytest.mark.parametrize("value", ["ture", "2", "quick", "y e s"])
def test_unrecognised_quick_word_is_an_error_not_off(monkeypatch, value):
    monkeypatch.setenv("AUGKIT_QUICK", value)
    with pytest.raises(ValueError, match="AUGKIT_QUICK.*not a true/false word"):
        config.env_quick()


def test_cli_reports_a_bad_quick_word_in_one_line(monkeypatch, capsys):
    from augkit import cli

    monkeypatch.setenv("AUGKIT_QUICK", "ture")
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "AUGKIT_QUICK='ture'" in err


def test_ruff_is_clean():
    res = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


def _module_name(path: Path) -> str:
    """``augkit/study/plan.py`` -> ``study.plan``; a package's ``__init__`` is the package."""
    parts = path.relative_to(ROOT / "augkit").with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _augkit_imports(path: Path, modules: set[str]) -> set[str]:
    """Every augkit module a file imports, at the top or inside a function (``from augkit
    import zoo`` is ``zoo``; ``from augkit.study import report`` is ``study.report``)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("augkit"):
            base = node.module.removeprefix("augkit").removeprefix(".")
            for alias in node.names:
                name = f"{base}.{alias.name}" if base else alias.name
                found.add(name if name in modules else base)
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("augkit.") for a in node.names
                      if a.name.startswith("augkit.")}
    return found - {""}


def import_graph() -> dict[str, set[str]]:
    """Which package modules each package module imports (subpackages module by module)."""
    paths = sorted((ROOT / "augkit").rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _augkit_imports(p, modules) for p in paths}
    return {k: {m for m in v if m in graph and m != k} for k, v in graph.items()}


def _reach(graph, start):
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_import_cycles_in_the_package():
    graph = import_graph()
    # A package's __init__ re-exports its modules: an edge from a module up to its own
    # package is how Python loads it, not a cycle of ours.
    graph = {k: {m for m in v if not k.startswith(m + ".")} for k, v in graph.items()}
    cycles = sorted(m for m in graph if m in _reach(graph, m))
    assert not cycles, f"modules on an import cycle: {cycles}"


def test_routine_log_lines_go_to_stdout_and_problems_to_stderr():
    """Jupyter paints stderr red: 'loading from ...' must not look like an error."""
    import os
    import subprocess
    import sys

    code = ("from augkit import config\nlog = config.get_logger('x')\n"
            "log.info('routine'); log.warning('a real problem')\n"
            "import os; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"})
    assert run.stdout.splitlines() == ["augkit.x: routine", "1"]
    assert run.stderr.strip() == "augkit.x: a real problem"


def test_every_notebook_links_the_glossary_and_it_defines_the_course_terms():
    import re

    import nbformat

    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    for path in sorted(notebooks.glob("0*.ipynb")):
        assert "(GLOSSARY.md)" in nbformat.read(path, as_version=4).cells[0].source, path.name
    text = (notebooks / "GLOSSARY.md").read_text(encoding="utf-8")
    defined = {m.lower() for m in re.findall(r"^\*\*(.+?)\*\*", text, flags=re.M)}
    for term in ("GAN", "discriminator", "logit", "JSD", "ELBO", "KL divergence", "reparameterization",
                 "mode collapse vs mode dropping", "posterior collapse", "active units",
                 "rate and distortion", "domain-FID", "label consistency", "CAS",
                 "precision and recall", "leakage", "projection discriminator",
                 "feature matching", "pseudo-labelling", "semi-supervised learning"):
        assert any(d.startswith(term.lower()) for d in defined), term


def test_measurement_loads_no_model_and_the_study_does_not_reach_into_the_cli():
    graph = import_graph()
    rooms = {"zoo", "gan", "vae", "ssgan", "ssvae", "train", "families", "classify"}
    assert not graph["metrics"] & rooms, graph["metrics"]
    study = {m for m in graph if m == "study" or m.startswith("study.")}
    reached = set().union(*(graph[m] for m in study))
    assert "cli" not in reached and "cli" not in set().union(*(_reach(graph, m) for m in study))


def test_kind_strings_are_compared_only_in_the_family_registry():
    """A model family is named in the registry, not in string comparisons spread over the
    package: no ``kind == "gan"`` / ``in ("gan", "vae")`` outside augkit/families.py."""
    import re

    pattern = re.compile(r"""(kind|\["kind"\]|strategy|what)\s*(==|!=|in)\s*\(?\s*["'](gan|vae|ssgan|ssvae|classifier)["']""")
    found = [f"{p.relative_to(ROOT)}:{i}" for p in sorted((ROOT / "augkit").rglob("*.py"))
             if p.name != "families.py"
             for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, found
