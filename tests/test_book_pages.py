"""The page registry (advsel.repro.book) is the one list of pages: the table of contents, the notebooks,
their parameters and the claims' pages all agree with it; opening a page checks, scopes and evaluates."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

from advsel.repro import BOOK_SEEDS, MNIST_SEEDS, SEEDS, book, claims, notebook, pages, verdicts

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"


def test_committed_toc_is_what_the_registry_writes() -> None:
    assert (REPO / "_toc.yml").read_text() == book.toc_yaml(), \
        "_toc.yml differs from the page registry: run `python scripts/notebooks.py toc`"
    toc = yaml.safe_load(book.toc_yaml())
    assert toc["root"] == book.ROOT
    assert [(p["caption"], [c["file"] for c in p["chapters"]]) for p in toc["parts"]] == \
        [(caption, [f"book/generated/{p.name}" for p in ps]) for caption, ps in book.parts().items()]


@pytest.mark.slow
def test_toc_command_writes_the_registry(tmp_path: Path) -> None:
    script = (REPO / "scripts" / "notebooks.py").read_text()
    copy = tmp_path / "scripts" / "notebooks.py"
    copy.parent.mkdir()
    copy.write_text(script)
    out = subprocess.run([sys.executable, str(copy), "toc"], capture_output=True, text=True, cwd=REPO,
                         env={"PYTHONPATH": str(REPO), "PATH": ""}, check=True)
    assert "14 pages in 5 parts" in out.stdout or f"{len(book.PAGES)} pages" in out.stdout
    assert (tmp_path / "_toc.yml").read_text() == book.toc_yaml()


def test_every_notebook_is_a_registered_page_and_back() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.py")) == sorted(book.PAGES)


def test_every_claim_names_a_registered_page() -> None:
    unknown = sorted({c.page for c in claims.CLAIMS} - set(book.PAGES))
    assert not unknown, f"claims name pages the registry lacks: {unknown}"


def test_registered_parameters_are_known_and_set_by_each_pages_cell() -> None:
    for name, page in book.PAGES.items():
        assert set(page.parameters) <= set(pages.PARAMETERS), name
        assert pages.PAGE_PARAMETERS[name] == page.parameters
        text = (NOTEBOOKS / f"{name}.py").read_text()
        assert tuple(_defaults(name)) == page.parameters, name
        # the usage tutorial only checks its parameters: it has no runs, no claims and no rerun box
        opening = 'pages.check_parameters("usage",' if name == "usage" else f'open_page("{name}",'
        assert opening in text and ("page.close()" in text) == (name != "usage"), name
        heads = [line for line in text.splitlines() if line.startswith("# %%") and "[markdown]" not in line]
        if name != "usage":  # the pages fold every code cell; the usage page is a tutorial and shows its code
            assert all("hide-input" in h for h in heads), name


def _defaults(name: str) -> dict[str, object]:
    """The values a page's cell tagged ``parameters`` assigns, in its order."""
    text = (NOTEBOOKS / f"{name}.py").read_text()
    cell = text.split('tags=["parameters"')[1].split("# %%")[0].split("\n", 1)[1]
    return {t.id: ast.literal_eval(node.value) for node in ast.parse(cell).body for t in node.targets}


def test_each_pages_default_seeds_are_the_books_seeds_of_their_dataset() -> None:
    """A page rerun with its defaults reads the committed runs: ``seeds`` are those of the page's dataset
    (MNIST: ``MNIST_SEEDS``, CIFAR-10: ``SEEDS``, as ``book_families`` computes them), ``cifar_seeds`` CIFAR-10's."""
    assert BOOK_SEEDS == {"cifar10": SEEDS, "mnist": MNIST_SEEDS}
    for name, page in book.PAGES.items():
        if "seeds" not in page.parameters:
            continue
        values = _defaults(name)
        dataset = values.get("dataset", "mnist")  # a page without the parameter scopes MNIST (Scope's default)
        assert tuple(values["seeds"]) == BOOK_SEEDS[dataset], name
        if "cifar_seeds" in values:
            assert tuple(values["cifar_seeds"]) == BOOK_SEEDS["cifar10"], name


def test_no_page_defines_a_function() -> None:
    for src in sorted(NOTEBOOKS.glob("*.py")):
        if src.stem == "usage":  # the tutorial writes its own dataset class, as a user would
            continue
        tree = ast.parse(src.read_text())
        defined = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert not defined, f"{src.name} defines {defined}: move them to advsel.repro"


# A verdict is computed (page.show_verdicts, the ledger); words that state one belong to no caption, and to
# no prose cell as a statement (a cell may name the vocabulary, e.g. "a peak needs both rows reproduced").
CAPTION_VERDICT = re.compile(r"reproduc|confirm|shows? that|verif|inconclusive|testable|collaps|demonstrat|"
                             r"\bproves?\b|validat|\bfails?\b|succeed|\bholds\b", re.IGNORECASE)
PROSE_VERDICT = re.compile(r"\b(is|are|was|were|be|been)\s+(not\s+)?[\"*_]?(reproduced|confirmed|verified|"
                           r"inconclusive|not\s+testable|testable)\b|\breproduces\b|\bconfirm(s|ed)?\b|\bshows?\s+that\b|\bverifies\b|"
                           r"\bcollapses\s+to\b|\bcannot\s+be\s+tested\b|"
                           r"\b(reproduced|not testable|inconclusive)\s*:", re.IGNORECASE)


def verdict_words(text: str) -> list[str]:
    """The words of ``text`` (a page's source) that state a verdict: in figure captions and in prose cells."""
    found = []
    for cell in jupytext.reads(text, fmt="py:percent").cells:
        caption = cell.metadata.get("mystnb", {}).get("figure", {}).get("caption", "")
        found += [f"caption: ...{caption[max(0, m.start() - 30):m.end() + 30]}..."
                  for m in CAPTION_VERDICT.finditer(caption)]
        if cell.cell_type == "markdown":
            found += [f"prose: ...{cell.source[max(0, m.start() - 30):m.end() + 30]}..."
                      for m in PROSE_VERDICT.finditer(cell.source)]
    return found


def test_no_caption_or_prose_states_a_verdict() -> None:
    """Captions describe what is plotted and prose what is run; the verdicts are the pages' computed output."""
    found = {src.stem: hits for src in sorted(NOTEBOOKS.glob("*.py")) if (hits := verdict_words(src.read_text()))}
    assert not found, f"verdict words in captions or prose (say what is plotted, or print it from a cell): {found}"


def test_verdict_words_are_found() -> None:
    """The scan fails on the texts it is there to catch."""
    caption = ('# %% tags=["hide-input"] mystnb={"figure": {"caption": "DS Fig. 3 reproduced: clean accuracy", '
               '"name": "x"}}\nplot()\n')
    prose = ("# %% [markdown]\n# At this scale DS collapses to a constant predictor, so the rows cannot be\n"
             "# tested; the figure shows that CAT is faster, and both rows are \"not testable at this scale\".\n")
    assert len(verdict_words(caption)) == 1 and len(verdict_words(prose)) == 4
    fine = "# %% [markdown]\n# A peak needs both rows reproduced; a collapsed run is left out.\n"
    assert verdict_words(fine) == []


def test_usage_page_lists_the_registrys_methods() -> None:
    """The usage page's typed list of methods is the registry's (``python -m advsel methods``)."""
    from advsel.methods import METHODS

    text = " ".join(line.lstrip("# ") for line in (NOTEBOOKS / "usage.py").read_text().splitlines())
    listed = text.split("`python -m advsel methods` lists them:", 1)[1].split(")", 1)[0]
    assert tuple(re.findall(r"`([a-z-]+)`", listed)) == METHODS


def test_open_page_checks_scopes_and_evaluates(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []

    def evaluate(scope, page=None, seeds_for=None):
        seen.append((scope, page, seeds_for))
        return []

    monkeypatch.setattr(claims, "evaluate_claims", evaluate)
    page = notebook.open_page("ds_fig7_selected_counts", profile="smoke", dataset="mnist", device="cpu", seeds=(1,))
    assert page.params == {"profile": "smoke", "dataset": "mnist", "device": "cpu", "seeds": [1]}
    assert (page.scope.profile, page.scope.dataset, page.scope.device, page.scope.seeds) == ("smoke", "mnist", "cpu",
                                                                                             (1,))
    assert page.smoke and page.lead("Result") == f"**Result ({verdicts.SMOKE}).** "
    assert seen[-1] == (page.scope, "ds_fig7_selected_counts", None)
    cat = notebook.open_page("cat_tables_time_to_accuracy", profile="cpu", device="auto", seeds=[0, 1],
                             cifar_seeds=[2])
    assert cat.scope.dataset == "mnist" and cat.scopes["cifar10"].seeds == (2,) and not cat.smoke
    assert seen[-1][2] == {"mnist": (0, 1), "cifar10": (2,)}
    assert cat.scope_for("cifar10").seeds == (2,) and cat.scope_for("mnist") == cat.scope
    assert page.scope_for("cifar10") == page.scope.replace(dataset="cifar10", seeds=BOOK_SEEDS["cifar10"]), \
        "another dataset's runs: the book's seeds of that dataset, not the page's"
    assert cat.lead("Result") == "**Result.** "
    with pytest.raises(pages.ParameterError, match="`seeds`"):
        notebook.open_page("ds_fig7_selected_counts", profile="cpu", dataset="mnist", device="auto", seeds="[0]")
    with pytest.raises(pages.ParameterError, match="page 'nope' is unknown"):
        notebook.open_page("nope")


def test_page_shows_summary_verdicts_and_rerun_box_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = []
    monkeypatch.setattr(notebook, "display", lambda x: shown.append(getattr(x, "data", x)))
    verdict = verdicts.Verdict("reproduced", "the numbers", headline="+1 [0.5, 2]")
    claim = claims.claims_for("ds_fig7_selected_counts")[0]
    page = notebook.OpenPage("ds_fig7_selected_counts", {"profile": "cpu", "dataset": "mnist", "device": "auto",
                                                         "seeds": [0]}, None, {}, [(claim, verdict)])
    page.show_verdicts()
    page.close()
    assert shown == [pages.verdicts_markdown([(claim, verdict)]),
                     pages.rerun_commands("ds_fig7_selected_counts", page.params)]
    empty = notebook.OpenPage("which_selection", {}, None, {}, [])
    empty.show_verdicts()
    assert shown[-1] == "*No claim is registered for this page yet.*"
    notebook.show("text", 3)
    assert shown[-2:] == ["text", 3]
