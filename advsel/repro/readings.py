"""Readings: the sentences a page generates from its numbers, beside the verdicts.

A verdict (:mod:`~advsel.repro.claims`) decides a claim; a reading says what the numbers
around it show (a run that collapsed, a baseline the similarity stands above, which
sampling numbers are faster, which method to use) without deciding anything, so pages do not
type their conclusions.  Every number comes from :mod:`~advsel.repro.stats` or from a table
of :mod:`~advsel.repro.tables`; the sentences are plain Markdown.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..runs import Result
from . import equal_cost, inference, speedup, stats, tables


# ---------------------------------------------------------------------------- one run
def run_state(r: Result) -> str:
    """Whether a run collapsed, sat on a plateau at chance (and in which epochs) or did not collapse, with its
    final clean and robust accuracy: ``seed 0 collapsed (final clean 10.0%, robust 10.0%)``."""
    at = stats.chance_epochs(r)
    word = ("collapsed" if stats.collapsed(r) else
            f"on a plateau at chance in epochs {', '.join(map(str, at))}" if len(at) >= stats.PLATEAU_EPOCHS
            else "did not collapse")
    return (f"seed {r['config']['seed']} {word} (final clean {100 * stats.final_value(r, 'clean_acc'):.1f}%, "
            f"robust {100 * stats.final_value(r, 'robust_acc'):.1f}%)")


def stall_sentence(runs: Mapping[str, Sequence[Result]]) -> str:
    """Which run families of the DS stall ablation stalled: per label, how many runs spent at least half their
    epochs with a training loss within 0.05 of ln C, and how many collapsed (:func:`~advsel.repro.stats.collapsed`)."""
    parts = []
    for label, rs in runs.items():
        stalled = sum(2 * sum(abs(e["train_loss"] - math.log(stats.num_classes(r))) < 0.05 for e in r["epochs"])
                      >= len(r["epochs"]) for r in rs)
        parts.append(f"{label}: {stalled} of {len(rs)} stalled, {len(stats.collapsed_seeds(rs))} collapsed")
    return "Runs that spent at least half their epochs at ln C: " + "; ".join(parts) + "."


def run_growth(r: Result, key: str) -> str:
    """A run's growth of the per-epoch record ``key`` from the first to the last third of its epochs
    (:func:`~advsel.repro.stats.thirds_growth`), collapsed runs marked: ``seed 1 (collapsed) -0.25``."""
    g = stats.thirds_growth([r], key)
    tag = " (collapsed)" if stats.collapsed(r) else ""
    return f"seed {r['config']['seed']}{tag} " + (f"{g[0]:+.4g}" if g else "no value in a third")


# ---------------------------------------------------------------------------- the ledger
def rows_per_paper(evaluated: Sequence[tuple[Any, Any]]) -> str:
    """How many of the evaluated claims come from each paper, ours named as such: ``27 from DS, 4 of our own``."""
    counts: dict[str, int] = {}
    for c, _ in evaluated:
        counts[c.paper] = counts.get(c.paper, 0) + 1
    return ", ".join(f"{n} {'of our own' if p == 'ours' else f'from {p}'}" for p, n in counts.items())


# ---------------------------------------------------------------------------- CAT Fig. 1
def similarity_baseline_sentence(base: pd.DataFrame, what: str) -> str:
    """The same-sample cosine against the same-class baseline (``base``:
    :func:`~advsel.repro.tables.similarity_baseline_frame`): both means, the paired interval of their difference
    over seeds, and whether the baseline itself passes the verdict's threshold."""
    same, other = tables.similarity_run_means(base)
    if not same:
        return f"{what}: no probe class had two samples, so there is no baseline."
    pairs = base["pairs"].mean()
    text = (f"{what}: the same sample's predictions have a mean cosine of {statistics.fmean(same):.4f}; two "
            f"different samples of the same class, at the same iteration, {statistics.fmean(other):.4f} "
            f"({pairs:.0f} pairs per measurement on average; means over epochs, then over {len(same)} run(s)). ")
    if len(same) >= 2:
        iv = inference.paired_interval(same, other)
        where = "above" if iv.lo > 0 else "below" if iv.hi < 0 else "not distinguishable from"
        text += (f"Same sample minus baseline: {iv.estimate:+.4f} [{iv.lo:+.4f}, {iv.hi:+.4f}] (paired t "
                 f"{iv.level:.0%} interval over seeds): the same-sample cosine is {where} the baseline. ")
    else:
        text += "One run: no interval for the difference. "
    if statistics.fmean(other) >= inference.SIMILAR_COSINE:
        text += ("The baseline itself is at or above the threshold "
                 f"{inference.SIMILAR_COSINE} that the verdict asks of "
                 "the same-sample cosine, so passing the threshold does not by itself show that a sample's "
                 "prediction is stable; only the margin over the baseline does.")
    else:
        text += (f"The baseline is below the threshold {inference.SIMILAR_COSINE} that the verdict asks of the "
                 "same-sample cosine.")
    return text


def gain_rank_sentence(gains: pd.DataFrame) -> str:
    """How well a sample's eq. (3) gain keeps its rank between CAT's draws (``gains``:
    :func:`~advsel.repro.tables.gain_rank_frame`): the mean Spearman correlation per run, its spread over
    epochs, pairs and gaps, and the t interval of the per-run means."""
    ok = gains.dropna(subset=["spearman"])
    if ok.empty:
        return "No sample was drawn twice with a gain recorded at both draws: no rank correlation to report."
    per_run = ok.groupby("seed")["spearman"].mean()
    by_epoch = ok.groupby("epoch")["spearman"].mean()
    spread = f" (per-epoch means from {by_epoch.min():.3f} to {by_epoch.max():.3f})" if len(by_epoch) > 1 else ""
    text = (f"Over {len(per_run)} run(s), the Spearman correlation of a sample's eq. (3) gain at one draw with "
            f"its gain at the next averages {per_run.mean():.3f}{spread}, over {ok['pairs'].mean():.0f} pairs per "
            f"epoch on average, the two draws {ok['gap (iterations)'].mean():.1f} iterations apart on average (an "
            f"epoch has {ok['iterations per epoch'].mean():.0f}).")
    if len(per_run) >= 2:
        iv = inference.one_sample_interval(list(per_run))
        text += (f" {iv.level:.0%} t interval of the per-run means: [{iv.lo:.3f}, {iv.hi:.3f}]"
                 + ("; the ranks persist above chance (zero)." if iv.lo > 0 else
                    "; it does not exclude zero." if iv.hi >= 0 else "; below zero."))
    return text + (" A correlation near 1 means a stale weight ranks samples as a fresh one would; near 0, the "
                   "weighted draw is close to a random one.")


# ---------------------------------------------------------------------------- CAT Figs. 2-3
def sampling_setup_sentence(setup: pd.DataFrame, batch_size: int) -> str:
    """The sampling numbers, whether the learning rate is one linear rule in N over the runs, and the seeds of
    each run family (``setup``: :func:`~advsel.repro.tables.sampling_setup_table`; ``batch_size``: the
    profile's b')."""
    numbers = list(dict.fromkeys(setup.index.get_level_values("N")))
    ratios = setup["lr / N"].to_numpy()
    linear = bool(np.allclose(ratios, ratios[0], rtol=1e-9))
    lr_rule = (f"The learning rate is linear in N in every run: lr / N = {ratios[0]:.4g}, i.e. lr = "
               f"{ratios[0] * batch_size:g} x N / {batch_size} (the profile's b' = {batch_size})."
               if linear else "The learning rate is **not** one linear rule over these runs: lr / N = "
               + ", ".join(f"{v:.4g}" for v in ratios) + ".")
    by_seeds: dict[str, list[str]] = {}
    for (label, n), row in setup.iterrows():
        by_seeds.setdefault(row["seeds"], []).append(f"{label} N = {n}")
    seeds_text = "; ".join(f"seed{'s' if ',' in s else ''} {s}: {', '.join(v)}" for s, v in by_seeds.items())
    return (f"Sampling numbers: {', '.join(map(str, numbers))}. {lr_rule} Seeds per run family ({seeds_text}); "
            "`Scope.seeds_of` gives the sampling numbers other than the profile's b' the first seed only, for "
            "budget.")


def sampling_shape_sentence(shape: pd.DataFrame, by_method: Mapping[str, Mapping[int, Sequence[Result]]]) -> str:
    """The sampling numbers of each method fastest first, whether CAT and PGD-AT order them alike (then the
    dependence on N is SGD's, not CAT's), and which numbers ran with one seed (``shape``:
    :func:`~advsel.repro.tables.sampling_shape_table`; ``by_method`` = {method: {N: runs}})."""
    numbers = list(shape.index)
    out, order = [], {}
    for label in by_method:
        col = shape[f"{label} time (s)"].dropna().sort_values()
        if col.empty:
            out.append(f"no sampling number of {label} had every run reach the level")
            continue
        order[label] = list(col.index)
        missing = sorted(set(numbers) - set(col.index))
        out.append(f"{label}: " + " < ".join(f"N = {n} ({v:.3g} s)" for n, v in col.items())
                   + (f", N = {', '.join(map(str, missing))} not reached by every run" if missing else ""))
    text = "Time to the robust level, fastest first: " + "; ".join(out) + "."
    if len(order) == 2 and all(len(v) == len(numbers) for v in order.values()):
        a, b = order["CAT"], order["PGD-AT"]
        if a == b:
            text += (" Both methods order the sampling numbers the same way: the direction of the dependence on N is "
                     "shared with plain PGD-AT (SGD's batch-size effect), not specific to CAT.")
        else:
            shared = ([f"both are fastest at N = {a[0]}"] if a[0] == b[0] else []) \
                + ([f"both are slowest at N = {a[-1]}"] if a[-1] == b[-1] else [])
            text += (" The two methods order the sampling numbers differently"
                     + (f"; {' and '.join(shared)}, which is then not specific to CAT" if shared else "") + ".")
    one = [n for n in numbers if any(len(fam[n]) < 2 for fam in by_method.values())]
    if one:
        text += (f" N = {', '.join(map(str, one))} ran with one seed: those times have no interval, so neither "
                 "ordering is established, and timing noise alone can swap close values.")
    return text


def untestable_note(evaluated: Sequence[tuple[Any, Any]], one_seed: Sequence[int]) -> str:
    """The claims not testable at this scale with their reasons, and the sampling numbers ``one_seed`` that ran
    with one seed; "" when every claim was testable."""
    untestable = [(c, v) for c, v in evaluated if v.verdict == "not testable at this scale"]
    if not untestable:
        return ""
    return ("Not testable at this scale: " + "; ".join(f"`{c.id}` ({v.headline})" for c, v in untestable)
            + (f". N = {', '.join(map(str, one_seed))} ran with one seed, which has no interval; the measured times "
               "are still shown above" if one_seed else "") + ".")


# ---------------------------------------------------------------------------- which selection saves time
def prescreen_pass_model(config: Mapping[str, Any]) -> str:
    """What a step costs by the pass model (a backward pass about two forward passes), per drawn sample: PGD-AT's
    3K + 3 and prescreen's 1 + 3 x share x K + 3 x trained share, from a prescreen run's ``config``."""
    k, share = config["steps"], config["attack_share"]
    trained = 1.0 if config["unattacked"] == "clean" else share
    model_new, model_at = 1 + 3 * share * k + 3 * trained, 3 * k + 3
    return (f"By the pass model (a backward pass costs about two forward passes), a PGD-AT step costs 3K + 3 = "
            f"{model_at} forward-pass equivalents per drawn sample with K = {k} training PGD steps, the attack "
            f"{100 * k / (k + 1):.0f} % of it. prescreen with attack share {share} and "
            f"`unattacked={config['unattacked']!r}` costs 1 (screening) + 3 x {share} x K (attack) + 3 x {trained} "
            f"(training) = {model_new:g}, {model_new / model_at:.2f} x PGD-AT's. Measured on our runs (means over "
            "seeds; `time` and `attack` include the screening pass for prescreen, DS's and DS-CAT's scoring pass is "
            "in their training phase):")


def budget_lead(runs: Mapping[str, Sequence[Result]], budget: float) -> str:
    """Which method has the highest robust accuracy within ``budget`` seconds of training (each run's
    evaluations within it, :func:`~advsel.repro.stats.at_budget`, collapsed runs left out) and whether its lead
    over the second is distinguishable from zero (Welch interval); "" with fewer than two methods."""
    within = {k: v for k, v in equal_cost.at_budget(runs, budget, "robust_acc").items() if v}
    mean = {k: statistics.fmean(v) for k, v in within.items()}
    ranked = sorted(mean, key=mean.get, reverse=True)  # type: ignore[arg-type]
    if len(ranked) < 2:
        return ""
    best, second = ranked[:2]
    lead = 100 * (mean[best] - mean[second])
    if min(len(within[best]), len(within[second])) < 2:
        sure, why = False, "a single run on a side, no interval"
    else:
        iv = inference.welch_interval(within[best], within[second])
        sure = iv.lo > 0
        why = f"95% interval [{100 * iv.lo:+.1f}, {100 * iv.hi:+.1f}] points"
    return (f"Within {budget:.1f} s of training (the time the fastest-finishing method needed), {best} has the "
            f"highest robust accuracy, {100 * mean[best]:.1f}%, {lead:.1f} points above {second} ({why}). "
            + ("That lead is distinguishable from zero" if sure else
               f"That lead is not distinguishable from zero at {len(within[best])} seeds")
            + "; wall time on a shared two-core machine is shown here, not advice: the advice rests on the "
              "ledger's decided rows (sample passes and final accuracy).")


def fastest_to_level(runs: Mapping[str, Sequence[Result]], target: float, reference: str, new: str) -> str:
    """Which method, all of whose runs reached ``target`` robust accuracy (the ``reference`` method's lowest
    final), got there in the least training time, against the reference's time, and ``new``'s ratio to it."""
    hits = {k: speedup.level_stats(rs, target, "robust_acc") for k, rs in runs.items()}
    full = {k: s.mean() for k, s in hits.items() if s.all_reached}
    if not full:
        return (f"No method had every run reach {reference}'s final robust accuracy (the lowest over its seeds, "
                f"{100 * target:.1f}%).")
    fastest = min(full, key=full.get)  # type: ignore[arg-type]
    ref = f", {full[fastest] / full[reference]:.2f} x {reference}'s {full[reference]:.1f} s" \
        if reference in full and fastest != reference else ""
    never = [k for k in runs if k not in full]
    text = (f"To reach {reference}'s final robust accuracy (the lowest over its seeds, {100 * target:.1f}%), "
            f"{fastest} was the fastest method all of whose runs got there ({full[fastest]:.1f} s{ref})"
            + (f"; not every run of {', '.join(never)} reached it" if never else "") + ".")
    if fastest != new and new in full and reference in full:
        text += f" {new} needed {full[new] / full[reference]:.2f} x {reference}'s time."
    return text


def advice(runs: Mapping[str, Sequence[Result]], budget: float, target: float, reference: str, new: str) -> str:
    """Which method to use at this scale: :func:`budget_lead` (at a fixed training time) and
    :func:`fastest_to_level` (to reach the reference's accuracy), in one paragraph."""
    return " ".join(t for t in (budget_lead(runs, budget), fastest_to_level(runs, target, reference, new)) if t)


# ---------------------------------------------------------------------------- DS Fig. 6
def driver_label(driver: str, rs: Sequence[Result]) -> str:
    """What an eq. (9) ``driver``'s accuracy is measured on, from its runs ``rs``: ``train accuracy on the scored
    2b' training samples`` or ``clean accuracy on a 500-sample validation split``."""
    where = "on the scored 2b' training samples" if driver == "train" else \
        f"on a {rs[0]['config']['validation_size']:,}-sample validation split"
    return f"{driver} accuracy {where}"


def drivers_note(by_driver: Mapping[str, Sequence[Result]], config: Mapping[str, Any]) -> str:
    """The summary box's note on DS eq. (9): its floor, which the paper lacks, the driver the ledger checks (that
    of ``config``) and the drivers the page adds with their records and seeds."""
    floor, checked = config["p_up_floor"], config["adaptive_accuracy"]
    return (f"P_up has a floor `p_up_floor` = {floor}, which eq. (9) lacks; lambda is `adaptive_accuracy`, which the "
            f"paper leaves open: the ledger's row checks the `{checked}` driver (record "
            f"`{stats.adaptive_driver(config)}`), and the page adds "
            + ", ".join(f"`{d}` (record `{stats.adaptive_driver(rs[0]['config'])}`, seed"
                        f"{'s' if len(rs) > 1 else ''} {', '.join(str(r['config']['seed']) for r in rs)})"
                        for d, rs in by_driver.items() if d != checked))


def driver_match(cost: pd.DataFrame, paper_ratio: float, implied_p_up: float, one_seed: Sequence[str]) -> str:
    """Which eq. (9) driver matches DS Table I (``paper_ratio``, its eq. (9) time over P_up = 1's) in total time
    and in sample passes per step, whether its time departs from its passes by more than the cost band, which
    drivers lie within the band, their mean P_up against the ``implied_p_up`` of Table I, and the drivers with
    ``one_seed`` (``cost``: :func:`~advsel.repro.tables.driver_cost_table`)."""
    closest = min(cost.index, key=lambda d: abs(cost.loc[d, "time ratio"] - paper_ratio))
    closest_step = min(cost.index, key=lambda d: abs(cost.loc[d, "F + 2B per step ratio"] - paper_ratio))
    text = (f"The eq. (9) driver that matches DS Table I, i.e. whose total training time relative to DS P_up = 1 is "
            f"closest to the paper's {paper_ratio:.3f}, is **`{closest}`** ({cost.loc[closest, 'time ratio']:.3f}; "
            + ", ".join(f"`{d}` {cost.loc[d, 'time ratio']:.3f}" for d in cost.index if d != closest) + "). ")
    passes = ", ".join(f"`{d}` {cost.loc[d, 'F + 2B per step ratio']:.3f}" for d in cost.index)
    text += ("In sample passes F + 2B per step (exact, free of timing noise and of the number of steps) "
             + ("the same driver is closest" if closest_step == closest else f"`{closest_step}` is closest")
             + f" ({passes}). ")
    off = cost.loc[closest, "time per step ratio"] / cost.loc[closest, "F + 2B per step ratio"]
    if abs(off - 1) > inference.COST_BAND:
        text += (f"`{closest}`'s training time per step is {cost.loc[closest, 'time per step ratio']:.3f} of DS "
                 f"P_up = 1's while its sample passes per step are {cost.loc[closest, 'F + 2B per step ratio']:.3f}: "
                 "its wall time departs from its passes by more than the cost band "
                 f"({inference.COST_BAND:.0%}), so its "
                 "time match reflects timing noise on the shared machine (or a cost the pass count misses) rather "
                 "than its P_up schedule. ")
    band = inference.COST_BAND
    inside = [d for d in cost.index if abs(cost.loc[d, "F + 2B per step ratio"] / paper_ratio - 1) <= band]
    text += ("Within the cost band of the paper's ratio in passes per step: "
             + (", ".join(f"`{d}`" for d in inside) if inside else "no driver") + ". "
             + f"Table I implies a mean P_up of about {implied_p_up:.2f} (see above); ours: "
             + ", ".join(f"`{d}` {cost.loc[d, 'mean P_up']:.2f}" for d in cost.index) + ".")
    if one_seed:
        text += (f" The {', '.join(f'`{d}`' for d in one_seed)} driver{'s have' if len(one_seed) > 1 else ' has'} "
                 "one seed: no interval, a reading rather than a verdict.")
    return text


# ---------------------------------------------------------------------------- CAT Tables 1-2
def schedule(title: str, runs: Mapping[str, Sequence[Result]]) -> str:
    """Seeds, epochs and evaluations per epoch of one dataset's runs ``runs`` = {method: runs}, from their
    results (the first method's first run gives the schedule), headed by ``title``."""
    r0 = next(iter(runs.values()))[0]
    per_epoch = len(r0["evals"]) / len(r0["epochs"])
    steps = r0["epochs"][0]["steps"]
    seeds = sorted({r["config"]["seed"] for rs in runs.values() for r in rs})
    times = "once" if per_epoch == 1 else "twice" if per_epoch == 2 else f"{per_epoch:g} times"
    return (f"{title}: {', '.join(runs)} with {len(seeds)} seed{'s' if len(seeds) != 1 else ''} "
            f"{seeds}, {r0['config']['epochs']} epoch{'s' if r0['config']['epochs'] != 1 else ''} of {steps} "
            f"iterations, evaluated {times} per epoch (every {steps / per_epoch:g} iterations)")


def autoattack_seeds(runs: Mapping[str, Sequence[Result]]) -> str:
    """Which seeds' runs carry an AutoAttack evaluation, and which: ``AutoAttack, for the runs that have one
    (seed 0): ...`` (``runs``: only runs that have one, :func:`~advsel.repro.pages.autoattack_runs`)."""
    seeds = sorted({r["config"]["seed"] for rs in runs.values() for r in rs})
    return (f"AutoAttack, for the runs that have one (seed{'s' if len(seeds) != 1 else ''} "
            f"{', '.join(map(str, seeds))}): {stats.evaluation_label(next(iter(runs.values())), 'autoattack_acc')}.")
