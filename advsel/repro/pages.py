"""What every page says about itself: its parameters, its summary box, its verdicts, where its numbers
come from, how to rerun it, titles and links.

- :func:`check_parameters` — a page's papermill parameters, checked at its top against
  :data:`PAGE_PARAMETERS` (a clear error naming the parameter and what is allowed).
- :func:`summary_box` — the MyST admonition a page opens with: the claims, our setting, the
  verdict of each sub-claim, collapsed runs, deviations from the paper.
- :func:`badge`, :func:`verdicts_markdown` — verdicts as a reader sees them.
- :func:`test_description` — how a verdict is decided, rendered from the constants of
  :mod:`advsel.repro.stats`.
- :func:`provenance`, :func:`numbers_from`, :func:`rerun_commands`, :func:`page_link`,
  :func:`page_title`.

Nothing here knows where the repository is: a page that needs its sibling pages'
sources (the claims ledger, for their titles) passes the folder it was run from.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import DATASETS, DEVICES, PROFILES
from ..runs import Result
from . import book, inference, paper, stats


# ---------------------------------------------------------------------------- parameters
class ParameterError(ValueError):
    """A page parameter has a value the page cannot use; the message names it and what is allowed."""


def _seed_list(v: Any) -> str | None:
    if isinstance(v, str):
        return (f"got the str {v!r}: papermill's -p passes text; pass a list with -y, e.g. "
                f"-y \"seeds: [0, 1]\"")
    if not isinstance(v, list | tuple):
        return f"got {type(v).__name__} {v!r}"
    if not v:
        return "got an empty list"
    bad = [x for x in v if isinstance(x, bool) or not isinstance(x, int)]
    if bad:
        return f"got {list(v)!r}, whose {bad[0]!r} is a {type(bad[0]).__name__}"
    if any(x < 0 for x in v):
        return f"got {list(v)!r}: seeds are non-negative"
    if len(set(v)) != len(v):
        return f"got {list(v)!r}: a seed appears twice"
    return None


def _choice(options: Sequence[str]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if not isinstance(v, str):
            return f"got {type(v).__name__} {v!r}"
        return None if v in options else f"got {v!r}"
    return check


def _folder(v: Any) -> str | None:
    return None if isinstance(v, str) and v else f"got {type(v).__name__} {v!r}"


@dataclass(frozen=True)
class Parameter:
    """A page parameter: its type and allowed values (for the error and the rerun box) and its check;
    ``dataset``: the one dataset whose runs it sets the seeds of (else None)."""

    name: str
    type: str
    allowed: str
    check: Callable[[Any], str | None]
    dataset: str | None = None

    @property
    def is_list(self) -> bool:
        return self.type.startswith("list")

    def papermill(self, value: Any) -> str:
        """The papermill option that sets this parameter to ``value`` (``-y`` for lists, ``-p`` else)."""
        if self.is_list:
            return f'-y "{self.name}: [{", ".join(str(int(x)) for x in value)}]"'
        return f"-p {self.name} {value}"


PARAMETERS: dict[str, Parameter] = {p.name: p for p in (
    Parameter("profile", "str", ", ".join(PROFILES) + " (smoke: tests only; cpu: this book; paper: the papers' "
              "scale)", _choice(PROFILES)),
    Parameter("dataset", "str", ", ".join(DATASETS), _choice(DATASETS)),
    Parameter("device", "str", ", ".join(DEVICES) + " (auto: cuda when available)", _choice(DEVICES)),
    Parameter("seeds", "list of int", "distinct non-negative ints, at least one", _seed_list),
    Parameter("cifar_seeds", "list of int", "distinct non-negative ints, at least one (CIFAR-10 runs)", _seed_list,
              "cifar10"),
    Parameter("notebooks", "str", "the folder of the pages' jupytext sources, from the working folder", _folder),
)}
PAGE_PARAMETERS: dict[str, tuple[str, ...]] = {name: p.parameters for name, p in book.PAGES.items()}
PAPER_DATASET = "cifar10"  # the rerun box's dataset when the page's run gives none (both papers' main one)


def check_parameters(page: str, **values: Any) -> dict[str, Any]:
    """Check a page's papermill parameters; returns them (seeds as lists of int).

    Raises :class:`ParameterError` naming the parameter, its type and allowed values when a
    value does not fit (e.g. ``seeds="[0]"`` from ``papermill -p seeds "[0]"``), or when the
    page is given a parameter it does not take or lacks one it needs.
    """
    if page not in PAGE_PARAMETERS:
        raise ParameterError(f"page {page!r} is unknown; the book's pages: {', '.join(PAGE_PARAMETERS)}")
    names = PAGE_PARAMETERS[page]
    unknown = [n for n in values if n not in names]
    missing = [n for n in names if n not in values]
    if unknown or missing:
        raise ParameterError(f"page {page!r} takes the parameters {', '.join(names)}"
                             + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                             + (f"; missing: {', '.join(missing)}" if missing else ""))
    out: dict[str, Any] = {}
    for n in names:
        p, v = PARAMETERS[n], values[n]
        reason = p.check(v)
        if reason is not None:
            raise ParameterError(f"parameter `{n}` of page {page!r} must be a {p.type} ({p.allowed}); {reason}")
        out[n] = [int(x) for x in v] if p.is_list else v
    return out


# ---------------------------------------------------------------------------- verdicts as a reader sees them
COLOURS = {"reproduced": "#1a7f37", "not reproduced": "#cf222e", "inconclusive": "#9a6700",
           "not testable at this scale": "#6e7781", "implementation check": "#0969da",
           "not run": "#8c959f"}


def badge(v: Any) -> str:
    """A verdict (:class:`~advsel.repro.claims.Verdict`) as a coloured HTML span with its label."""
    colour = COLOURS[v.verdict] if v.passed is not False else COLOURS["not reproduced"]
    style = (f"background:{colour};color:#fff;padding:0 0.45em;border-radius:0.3em;white-space:nowrap;"
             "font-size:0.9em")
    if v.smoke:
        style = f"border:1px dashed {colour};color:{colour};padding:0 0.45em;border-radius:0.3em;font-size:0.9em"
    return f'<span style="{style}">{html.escape(v.label)}</span>'


def verdicts_markdown(evaluated: Sequence[tuple[Any, Any]]) -> str:
    """The verdicts of a page's sub-claims, one Markdown paragraph each: claim, badge, the numbers."""
    return "\n\n".join(f"**{c.item}: {c.text}** {badge(v)} — {v.summary}." for c, v in evaluated)


def test_description() -> str:
    """How a verdict is decided, with the constants of :mod:`~advsel.repro.stats` (Markdown)."""
    s, i = stats, inference
    return (
        f"- **The test.** Two run families run with the same seeds share each seed's initialisation and data "
        f"order, so they are compared by the paired t interval ({i.LEVEL:.0%}) of the per-seed differences (n - 1 "
        "degrees of freedom, shown with each verdict); when a side lost a seed (a collapsed run, a level never "
        "reached), by Welch's t interval with Welch-Satterthwaite degrees of freedom. A quantity measured within "
        "each run (first against last epoch, or against a threshold) uses the one-sample t interval of the per-run "
        "values. Cost claims compare log sample passes (forward + 2 x backward, counted, not timed), so their "
        "interval is one for the ratio of geometric means; wall time is shown beside them and decides nothing. "
        "Robust accuracy is the lower of the PGD evaluation and AutoAttack's APGD-CE + APGD-T per run, and each "
        "verdict says whether AutoAttack was used.\n"
        "- **Multiplicity.** The rows of one figure or table are one family: Holm's step-down procedure over the "
        "rows of a figure that have an interval, at the one-sided 2.5 % level each interval side uses alone; a row "
        "Holm does not reject is *inconclusive*, and its verdict says so.\n"
        "- **reproduced**: the interval lies on the claimed side of zero; for a band claim, inside the band. "
        f"**not reproduced**: it lies wholly on the other side, or wholly outside the band. **inconclusive**: "
        "neither (or not after Holm); the verdict says how many seeds per side would decide it if the means and "
        "spreads stayed as observed. **not testable at this scale**: the runs cannot measure it (fewer than two "
        "seeds on a side; collapsed runs; levels too close to chance), with the reason. **not run**: the book does "
        "not run what the claim needs at this profile, with the reason. **implementation check**: our code agrees "
        "with one of the paper's equations, or a cost ratio the protocol fixes by construction equals what its "
        "accounting predicts; never counted as a reproduction.\n"
        f"- **Bands.** \"Close\", \"does not hurt\" and \"no gain\" mean within {100 * i.CLOSE_BAND:.0f} accuracy "
        f"points (`inference.CLOSE_BAND`): close = the interval inside ±{100 * i.CLOSE_BAND:.0f} points, does not "
        f"hurt = at or above -{100 * i.CLOSE_BAND:.0f}, no gain = at or below +{100 * i.CLOSE_BAND:.0f}. \"About as "
        f"much\" / \"about twice\" for costs mean within {i.COST_BAND:.0%} of the claimed ratio "
        "(`inference.COST_BAND`). "
        f"\"Highly similar\" predictions (CAT Fig. 1): mean cosine similarity at or above {i.SIMILAR_COSINE} "
        "(`inference.SIMILAR_COSINE`).\n"
        f"- **Collapsed runs.** A run collapsed when its last {s.COLLAPSE_LAST} epochs sit at chance: clean "
        f"accuracy at most 1/C plus the larger of {s.COLLAPSE_MARGIN:.2f} and two standard errors of a chance-level "
        f"accuracy on the run's test samples, with a training loss within {s.COLLAPSE_LOSS_TOL} of ln C "
        f"(C classes; ln 10 = 2.303). Collapsed runs are named on their page and in the ledger and left out of "
        "every comparison, of accuracy, cost or accuracy within a budget (a run that learned nothing is no "
        "result); with fewer than two runs left the claim is not testable at this scale. A run with at "
        f"least {s.PLATEAU_EPOCHS} epochs at chance elsewhere is reported as on a "
        "plateau.\n"
        f"- **Smoke runs.** At the `smoke` profile (one seed, one epoch, for the tests) every verdict reads "
        "\"smoke run, not a finding\".")


def _evaluated_runs_note(runs: Mapping[str, Sequence[Result]]) -> str:
    rep = stats.collapse_report(runs)
    if not rep:
        return ""
    col = [c for c in rep if c.collapsed]
    plat = [c for c in rep if not c.collapsed]
    parts = []
    if col:
        parts.append("collapsed (at chance over the last epochs, left out of every comparison): "
                     + _by_label(col))
    if plat:
        parts.append("on a plateau at chance for some epochs (kept): " + _by_label(plat))
    return "; ".join(parts)


def _by_label(cs: Sequence[stats.Collapse]) -> str:
    labels: dict[str, list[int]] = {}
    for c in cs:
        labels.setdefault(c.label, []).append(c.seed)
    return "; ".join(f"{k} seed{'s' if len(v) > 1 else ''} {', '.join(map(str, v))}" for k, v in labels.items())


def collapse_note(runs: Mapping[str, Sequence[Result]]) -> str:
    """A visible note naming the page's collapsed runs (label, seed), or "" when none (Markdown)."""
    text = _evaluated_runs_note(runs)
    return f"**Collapsed runs.** {text}." if text else ""


def convergence_note(runs: Mapping[str, Sequence[Result]]) -> str:
    """The convergence criterion (:func:`advsel.repro.stats.convergence_problems`) and the runs that fail it, each
    with its reason (Markdown)."""
    total = sum(len(rs) for rs in runs.values())
    rule = (f"**Convergence.** Criterion: the schedule completes, the training loss no longer falls by more than "
            f"{stats.FALLING} per epoch over the last {stats.LAST_EPOCHS} epochs (least-squares slope), and it has not"
            f" drifted back more than {stats.DRIFT} above its lowest epoch towards ln C")
    bad = [(label, r["config"]["seed"], stats.convergence_problems(r)) for label, rs in runs.items() for r in rs
           if not stats.converged(r)]
    if not bad:
        return f"{rule}; all {total} runs on this page meet it."
    shown = "; ".join(f"{label} seed {seed}: {', '.join(why)}" for label, seed, why in bad)
    return f"{rule}; {len(bad)} of {total} runs do not: {shown}."


def autoattack_runs(runs: Mapping[str, Sequence[Result]]) -> dict[str, list[Result]]:
    """The runs of each label that carry an AutoAttack evaluation (labels with none left out)."""
    aa = {k: [r for r in rs if stats.has_autoattack([r])] for k, rs in runs.items()}
    return {k: rs for k, rs in aa.items() if rs}


def autoattack_note(runs: Mapping[str, Sequence[Result]]) -> str:
    """Which AutoAttack evaluation the page's runs carry, and the check that each run's AutoAttack accuracy
    is at most its PGD accuracy (a gap above it in AutoAttack standard errors), as Markdown."""
    aa = autoattack_runs(runs)
    if not aa:
        return ("*No run on this page has an AutoAttack evaluation (the smoke profile has none; at the cpu "
                "profile only the first seed of the CIFAR-10 core runs gets one).*")
    pairs = [(k, r, stats.final_value(r, "robust_acc"), stats.final_value(r, "autoattack_acc"))
             for k, rs in aa.items() for r in rs]
    above = [(k, r, p, a) for k, r, p, a in pairs if a > p]
    text = ("AutoAttack: " + stats.evaluation_label(next(iter(aa.values())), "autoattack_acc") + ". AutoAttack is "
            "a stronger attack than PGD, so a run's AutoAttack accuracy should be at most its PGD accuracy: it is in "
            f"{len(pairs) - len(above)} of {len(pairs)} runs.")
    if above:
        text += (" Higher: " + "; ".join(f"{k} seed {r['config']['seed']} ({_aa_gap(r, p, a)})"
                                         for k, r, p, a in above)
                 + ". AutoAttack runs on a class-balanced part of the PGD evaluation's samples, so a gap of a "
                 "standard error or two can be sampling; a larger one would point to a weak PGD evaluation.")
    return text


def _aa_gap(r: Result, pgd: float, aa: float) -> str:
    n = stats.evaluation(r, "autoattack_acc")["n"]
    se = (aa * (1 - aa) / n) ** 0.5
    return f"{100 * (aa - pgd):.1f} points, {(aa - pgd) / se:.1f} standard errors of AutoAttack's n = {n}" \
        if se > 0 else f"{100 * (aa - pgd):.1f} points"


def setting(runs: Mapping[str, Sequence[Result]]) -> str:
    """Our setting from the runs: dataset, model, epochs, b', training attack, seeds, evaluation (Markdown)."""
    by_dataset: dict[str, list[Result]] = {}
    for rs in runs.values():
        for r in rs:
            by_dataset.setdefault(r["config"]["dataset"], []).append(r)
    out = []
    for dataset, rs in by_dataset.items():
        r0 = rs[0]
        c = r0["config"]
        n = c.get("train_size") or r0.get("train_size")
        seeds = sorted({r["config"]["seed"] for r in rs})
        out.append(f"{dataset} ({n:,} training samples), model `{c['model']}`, {c['epochs']} epochs, "
                   f"b' = {c['batch_size']}, training PGD-{c['steps']} (eps {c['eps']:.4g}), profile "
                   f"`{c.get('profile')}`, seeds {seeds}; accuracies: " + stats.evaluation_label(rs, "robust_acc"))
    return " — ".join(out)


def deviations(paper_name: str, runs: Mapping[str, Sequence[Result]]) -> list[str]:
    """Where our runs' settings differ from the paper's (:data:`advsel.repro.paper.SETTINGS`)."""
    want = paper.SETTINGS[paper_name]
    cfgs = {r["config"]["dataset"]: r["config"] for rs in runs.values() for r in rs[:1]}
    out = []
    for key, value in want.items():
        ours = sorted({_show(c.get(key)) for c in cfgs.values()})
        ok = all((c.get(key) in value) if isinstance(value, tuple) else _same(c.get(key), value)
                 for c in cfgs.values())
        if not ok:
            shown = " or ".join(map(_show, value)) if isinstance(value, tuple) else _show(value)
            out.append(f"{key} {', '.join(ours)} (paper: {shown})")
    return out


def _same(a: Any, b: Any) -> bool:
    return abs(a - b) < 1e-9 if isinstance(a, float) and isinstance(b, float) else a == b


def _show(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def summary_box(evaluated: Sequence[tuple[Any, Any]], runs: Mapping[str, Sequence[Result]],
                paper_name: str | None, notes: Sequence[str] = ()) -> str:
    """The box a page opens with (a MyST admonition): each sub-claim with its verdict, our setting, the
    collapsed runs, the deviations from the paper (computed from the runs' configs) and ``notes``."""
    smoke = any(v.smoke for _, v in evaluated)
    lines = ["**Claims and verdicts.**", ""]
    lines += [f"- {c.item}: {c.text} {badge(v)} {html.escape(v.headline)}" for c, v in evaluated]
    if not evaluated:
        lines += ["- no claim of either paper: a comparison of our own (see the end of the page)"]
    lines += ["", f"**Our setting.** {setting(runs)}."]
    if c := collapse_note(runs):
        lines += ["", c]
    lines += ["", convergence_note(runs)]
    dev = [*(deviations(paper_name, runs) if paper_name else []), *notes]
    if dev:
        lines += ["", f"**Deviations from {paper_name or 'the papers'}.** " + "; ".join(dev) + "."]
    if smoke:
        lines += ["", "**Smoke run.** The `smoke` profile checks that the page runs; its verdicts are not findings."]
    kind = "warning" if smoke else "note"
    body = "\n".join(lines)
    return f"```{{admonition}} At a glance\n:class: {kind}\n\n{body}\n```"


# ---------------------------------------------------------------------------- provenance and rerun
def provenance(rs: Sequence[dict[str, Any]]) -> str:
    """Where numbers come from: profile, data source, hardware, commit, seeds (Markdown).  Runs computed at
    different commits name each commit with its seeds."""
    r0 = rs[0]
    seeds = sorted({r["config"]["seed"] for r in rs})
    hw = r0["hardware"]
    return (f"profile `{r0['config'].get('profile')}`, dataset `{r0['config']['dataset']}` "
            f"({r0['data_source']}), model `{r0['config']['model']}`, {r0['train_size']} training / "
            f"{r0['test_size']} test samples, seeds {seeds}; ran on {r0['device']} "
            f"({hw.get('cuda_device', hw.get('processor'))}, {hw.get('cpu_threads')} threads, torch {hw['torch']}), "
            f"advsel {r0['advsel_version']} at {_commits(rs)}")


def _commits(rs: Sequence[dict[str, Any]]) -> str:
    """``commit `abc` `` for runs of one commit, else ``commits `abc` (seeds 0, 1), `def` (seed 3)``."""
    by_commit: dict[str, set[int]] = {}
    for r in sorted(rs, key=lambda r: r["config"]["seed"]):
        commit = r.get("git_commit") or "unknown"
        short = commit[:10] + ("-dirty" if commit.endswith("-dirty") else "")  # built from uncommitted changes
        by_commit.setdefault(short, set()).add(r["config"]["seed"])
    if len(by_commit) == 1:
        return f"commit `{next(iter(by_commit))}`"
    return "commits " + ", ".join(f"`{c}` (seed{'s' if len(s) > 1 else ''} {', '.join(map(str, sorted(s)))})"
                                  for c, s in by_commit.items())


def numbers_from(rs: Sequence[dict[str, Any]], what: str = "") -> str:
    """The footer line under a page's verdicts: "Numbers from (what): " and :func:`provenance` (Markdown)."""
    return f"Numbers from{f' ({what})' if what else ''}: {provenance(rs)}"


def rerun_commands(page: str, values: Mapping[str, Any] | None = None) -> str:
    """The rerun box: every parameter of the page with its type, allowed values and the value this run
    used, and papermill commands that rerun the page at the cpu and the paper profile (Markdown), both on
    the dataset this run used (an MNIST page stays on MNIST at the paper's scale)."""
    names = PAGE_PARAMETERS[page]
    values = dict(values or {})
    rows = [f"| `{n}` | {PARAMETERS[n].type} | {PARAMETERS[n].allowed} | "
            f"{'`' + repr(values[n]) + '`' if n in values else '—'} |" for n in names]
    table = "| parameter | type | allowed | this run |\n|---|---|---|---|\n" + "\n".join(rows)

    def cmd(profile: str) -> str:
        opts = {"profile": profile}
        if "dataset" in names:
            opts["dataset"] = values.get("dataset", PAPER_DATASET)  # the page's own dataset at either profile
        if "device" in names:
            opts["device"] = "cuda" if profile == "paper" else "auto"
        for n in names:
            if PARAMETERS[n].is_list:
                opts[n] = values.get(n, [0, 1, 2] if n == "seeds" else [0])
        return " ".join(PARAMETERS[n].papermill(v) for n, v in opts.items())

    nb = f"notebooks/{page}.py"
    return (f"{table}\n\nText parameters take `-p NAME VALUE`, lists take YAML with `-y` (`-p seeds \"[0]\"` "
            "would pass the text `[0]`, which the page refuses). From the repository root:\n\n"
            f"```bash\nexport ADVSEL_DATA=/path/to/data   # MNIST/raw, cifar-10-batches-py/ (or --download once)\n"
            f"jupytext --to ipynb {nb} -o {page}.ipynb\n"
            f"papermill -k python3 {page}.ipynb {page}-cpu.ipynb {cmd('cpu')}\n"
            f"papermill -k python3 {page}.ipynb {page}-paper.ipynb {cmd('paper')}\n```")


def page_link(page: str) -> str:
    """Where a page lives in the built book, relative to another generated page.

    Links inside cell *outputs* are not rewritten by Sphinx (only links in Markdown
    cells are resolved from ``page.ipynb`` to ``page.html``), so they must name the built
    HTML file; all generated pages sit in the same folder, book/generated/.
    """
    return f"{page}.html"


def page_title(page: str, folder: str | os.PathLike[str]) -> str:
    """The first ``# `` heading of a page's jupytext source ``folder/page.py`` (the page name if none)."""
    src = Path(folder) / f"{page}.py"
    if src.is_file():
        for line in src.read_text().splitlines():
            if line.startswith("# # "):
                return line[4:].strip()
    return page


def titles(folder: str | os.PathLike[str]) -> Callable[[str], str]:
    """:func:`page_title` with the pages' sources in ``folder`` (e.g. ``notebooks`` from the repository root)."""
    return lambda page: page_title(page, folder)
