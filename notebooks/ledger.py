# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Claims ledger
#
# Every claim of the two papers that this book tests, one row per sub-claim: the paper (DS:
# Mendonça et al., "Adversarial training with informed data selection"; CAT: Fan et al.,
# "Case-aware adversarial training"), the figure or table that makes the claim, the claim
# in our words, the page that tests it, our verdict and the numbers behind it (the full
# sentence folds out under *details*). A figure that makes two statements has two rows;
# no verdict combines others. Rows whose paper is *ours* are not the papers' claims but
# our own, about what this book adds: prescreen (on the page "Which selection saves
# time?") and DS after a warm-up at P_up = 1 (on the DS Figs. 4-5 page); they are tested
# the same way and counted apart.
#
# Nothing in the table is typed by hand: it is generated from `claims.CLAIMS`, each
# claim's evaluator reading the same cached runs as its page (`claims.evaluate_claims`) and
# every number coming from `advsel.repro.stats`, so a page and the ledger can never
# disagree. The runs are far smaller than the papers' (see each page's summary box); a
# verdict says what holds at this scale, not that the paper is right or wrong at its own.
#
# The same rows as data, with the deciding numbers in columns of their own (estimate, interval,
# degrees of freedom, runs per side), are in {download}`results/ledger.csv </results/ledger.csv>`,
# and the final accuracies of every run family in
# {download}`results/final_numbers.csv </results/final_numbers.csv>` (CSV, UTF-8), written from
# the committed runs by `python scripts/export_results.py`.

# %% tags=["parameters", "hide-input"]
profile = "cpu"
dataset = "mnist"
device = "auto"
seeds = [0, 1, 2, 3]  # the seeds of `dataset` (MNIST: CAT's Table 1 and Fig. 1)
cifar_seeds = [0, 1, 2]  # CIFAR-10's (DS's claims and CAT's Table 2)
notebooks = "notebooks"  # the pages' jupytext sources (their titles head the ledger's links), from the working folder

# %% tags=["hide-input"]
from IPython.display import HTML

from advsel.repro import Family, book_families, claims, inference, pages, readings, tables, verdicts
from advsel.repro.notebook import open_page, show

page = open_page("ledger", profile=profile, dataset=dataset, device=device, seeds=seeds, cifar_seeds=cifar_seeds,
                 notebooks=notebooks)
scope, params = page.scope, page.params
scope_of = {ds: page.scope_for(ds) for ds in ("cifar10", "mnist")}
seeds_of = {ds: s.seeds for ds, s in scope_of.items()}
evaluated = claims.evaluate_claims(scope, seeds_for=seeds_of)  # every claim of the book
if page.smoke:
    show("```{warning}\nThis ledger was built at the `smoke` profile: every verdict is a smoke run, "
         "not a finding.\n```")


fixed = sorted({c.dataset for c in claims.CLAIMS if c.dataset})
show(
    f"**In short.** {len(evaluated)} rows ({readings.rows_per_paper(evaluated)}). Each row compares two run families (or one "
    f"against a bound) over seeds with a paired t (Welch when a side lost a seed; one-sample t against a bound) "
    f"{inference.LEVEL:.0%} interval; it is *reproduced* when the interval lies on the claimed side and Holm's "
    "procedure over the rows of its figure agrees, *not reproduced* when it lies wholly on the other (Holm "
    "likewise), *inconclusive* otherwise. Costs are decided on counted sample passes, never on wall time. "
    f"\"Close\", \"does not hurt\" and \"no gain\" mean within {100 * inference.CLOSE_BAND:.0f} accuracy "
    f"points; cost ratios \"about\" a value mean within {inference.COST_BAND:.0%} of it. DS's claims and ours run on "
    "CIFAR-10 (DS's data set) and CAT's tables on the data set of each table, whatever this page's `dataset`; "
    f"the claims that fix no data set (CAT Figs. 1-2) use `dataset` = `{scope.dataset}`. "
    "Seeds: " + ", ".join(f"{ds} {list(s)}" for ds, s in seeds_of.items()) + ". The full rules follow.")

# %% [markdown]
# ## How a verdict is decided

# %% tags=["hide-input"]
show(pages.test_description())

# %% [markdown]
# ## The claims

# %% tags=["hide-input"]
show(HTML(tables.html_table(tables.ledger_table(evaluated, title=pages.titles(params["notebooks"]),
                                                gpu=page.gpu_column(evaluated)))))

# %% [markdown]
# ## Verdicts per kind
#
# Rows per verdict and per paper ("ours": our own claims, not the papers'). An
# implementation check is listed apart: it tests our code against an equation, not a finding of the paper.

# %% tags=["hide-input"]
show(tables.verdict_counts(evaluated, verdicts.VERDICTS))
show("Numbers from: " + "; ".join(
    f"{ds}: {pages.provenance(scope_of[ds].results(Family.timed('robust')))}"
for ds in ("cifar10", "mnist")) + ". Each page states its own runs.")

# %% [markdown]
# ## Collapsed runs
#
# Runs of the book's families that sat at chance: *collapsed* runs (the last epochs at
# chance) are left out of every comparison and verdict; runs on a *plateau* (epochs at
# chance earlier in training) are kept and only reported.

# %% tags=["hide-input"]
families = {f"{s.dataset} {f.name}": scope.replace(dataset=s.dataset, seeds=s.seeds).results(f)
            for s, f in book_families(profile, seeds_of["cifar10"], seeds_of["mnist"])}
collapse = tables.collapse_table(families)
show(collapse if len(collapse) else "No run of the book's families sat at chance.")

# %% [markdown]
# ## Rerun this page

# %% tags=["hide-input"]
page.close()
