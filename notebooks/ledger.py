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
# Every claim of the two papers that this book tests, one row each: the paper (DS:
# Mendonça et al., "Adversarial training with informed data selection"; CAT: Fan et al.,
# "Case-aware adversarial training"), the figure or table that makes the claim, the claim
# in our words, the page that tests it, our verdict and the numbers behind it.
#
# Nothing in the table is typed by hand: it is generated from `claims.CLAIMS`, each
# claim's evaluator reading the same cached runs as its page (`claims.evaluate_claims`),
# so a page and the ledger can never disagree. The verdicts are one of:
#
# - **reproduced** — our runs show what the paper claims, by the criterion stated on the page;
# - **partly** — the effect has the claimed direction but not the claimed size or
#   certainty, or only part of a compound claim holds;
# - **not reproduced** — our runs do not show it;
# - **not testable at this scale** — the runs at this profile cannot measure it (e.g. one
#   epoch where two are needed).
#
# The runs are far smaller than the papers' (see each page's provenance line); a verdict
# says what holds at this scale, not that the paper is right or wrong at its own.

# %% tags=["parameters"]
profile = "cpu"
dataset = "mnist"
device = "auto"
seeds = [0, 1, 2]
notebooks = "notebooks"  # the pages' jupytext sources (their titles head the ledger's links), from the working folder

# %%
from IPython.display import HTML, Markdown, display

from advsel.repro import Family, Scope, claims, pages, tables

PAGE = "ledger"
scope = Scope(profile, dataset, device, seeds)
evaluated = claims.evaluate_claims(scope)

# %% [markdown]
# ## The claims

# %%
display(HTML(tables.html_table(tables.ledger_table(evaluated, title=pages.titles(notebooks)))))

# %% [markdown]
# ## Verdicts per kind

# %%
display(tables.verdict_counts(evaluated, claims.VERDICTS))
display(Markdown(pages.numbers_from(scope.results(Family.method("robust")))
                 + f"; CAT Table 2 from CIFAR-10 (seed {scope.seeds[0]}). Each page states its own runs."))

# %% [markdown]
# ## Rerun this page

# %%
display(Markdown(pages.rerun_commands(PAGE)))
